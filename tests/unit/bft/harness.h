// A small in-test cluster for the replication core's protocol tests: n Replica objects, a trivial
// replicated application, fake signatures, and direct FIFO message delivery with hooks to drop,
// hold or rewrite messages. Deliberately separate from bft/sim (the seeded simulator): these
// tests script exact scenarios, tied to sections of the PBFT paper.
//
// Time is explicit: the cluster has one clock (now_us) plus a per-replica skew; nothing moves
// unless a test advances it. Delivery is FIFO over one global queue, so a scenario is an exact
// sequence of events and every run is the same.
//
// Thread-safety: none; one test thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bft/core/driver.h"
#include "bft/core/replica.h"

namespace bastion::bft::test {

// ---- fake signatures -------------------------------------------------------------------------

// signature = BLAKE2b(domain, signer, message) in the first 32 bytes. Anyone can forge it, but the
// replicas under test only sign through their own Signer, which is what the protocol relies on;
// Byzantine behaviour in tests is scripted with sign_as().
Signature fake_sign(ReplicaId signer, SignDomain domain, ByteView message);

class FakeSigner final : public Signer {
 public:
  explicit FakeSigner(ReplicaId id) : id_(id) {}
  Signature sign(SignDomain domain, ByteView message) override {
    return fake_sign(id_, domain, message);
  }

 private:
  ReplicaId id_;
};

class FakeVerifier final : public Verifier {
 public:
  explicit FakeVerifier(std::uint32_t n) : n_(n) {}
  bool verify(ReplicaId signer, SignDomain domain, ByteView message,
              const Signature& signature) override {
    ++calls;
    return signer < n_ && fake_sign(signer, domain, message) == signature;
  }
  std::uint64_t calls = 0;

 private:
  std::uint32_t n_;
};

// ---- test application ------------------------------------------------------------------------

// A key-value map with text commands:
//   "put K V"      -> "ok"
//   "get K"        -> the value or "none" (also read-only)
//   "wait K T"     -> waits until K exists ("found V") or T microseconds of agreed time pass
//                     ("timeout"): a pending request with a deadline
//   "del K"        -> "ok"
// Every executed request is appended to `history` (not part of the state) so tests can check
// at-most-once execution.
class KvApp final : public StateMachine {
 public:
  std::vector<Completion> begin_batch(TimeUs now_us) override;
  ExecuteResult execute(const Request& request) override;
  std::optional<Bytes> execute_read_only(const Request& request) override;
  std::optional<TimeUs> next_deadline_us() const override;
  void session_evicted(const ClientKey& client) override;
  Bytes snapshot() const override;
  Digest digest() const override;
  bool restore(ByteView snapshot) override;

  struct Waiter {
    ClientKey client;
    std::uint64_t number = 0;
    std::string key;
    TimeUs deadline_us = 0;
  };
  std::map<std::string, std::string> kv;
  std::vector<Waiter> waiters;
  TimeUs now_us = 0;
  std::uint64_t batches = 0;
  std::vector<std::pair<ClientKey, std::uint64_t>> history;  // executed (client, number)
  std::vector<ClientKey> evicted;
};

Bytes to_bytes(const std::string& s);
std::string to_string(const Bytes& b);

// ---- the cluster -----------------------------------------------------------------------------

struct Reply {
  ReplicaId from = 0;
  ClientKey client;
  ReplyMsg msg;
};

struct Envelope {
  ReplicaId from = 0;
  ReplicaId to = 0;
  SharedBytes bytes;
  MsgType type() const { return static_cast<MsgType>((*bytes)[1]); }
};

class Cluster {
 public:
  explicit Cluster(std::uint32_t f = 1, std::function<void(Config&)> tune = nullptr);
  explicit Cluster(std::function<void(Config&)> tune) : Cluster(1, std::move(tune)) {}
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  std::uint32_t n() const { return config_.n; }
  const Config& config(ReplicaId i) const { return configs_[i]; }
  Replica& replica(ReplicaId i) { return *replicas_[i]; }
  KvApp& app(ReplicaId i) { return *apps_[i]; }
  bool up(ReplicaId i) const { return replicas_[i] != nullptr; }
  TimeUs now() const { return now_us_; }
  TimeUs clock(ReplicaId i) const { return now_us_ + skew_us[i]; }

  // Client side: sends a request to `targets` (default: every replica).
  void send_request(const std::string& principal, std::uint64_t session, std::uint64_t number,
                    const std::string& payload, bool read_only = false,
                    std::optional<std::vector<ReplicaId>> targets = std::nullopt);
  // Raw bytes to one replica as if from `from` (a Byzantine peer or garbage).
  void inject(ReplicaId from, ReplicaId to, const Bytes& bytes);
  void inject_client(const std::string& principal, ReplicaId to, const Bytes& bytes);

  // Delivers queued messages (and what they cause) until the queue is empty or `max` were
  // delivered. Returns the number delivered.
  std::size_t deliver(std::size_t max = 1'000'000);
  // Advances time by `dt_us` in steps of at most `step_us`, ticking every replica whose
  // next_tick_us() is due and delivering in between.
  void advance(TimeUs dt_us, TimeUs step_us = 10'000);
  // Advances until `pred` holds or `limit_us` passed; returns pred().
  bool run_until(const std::function<bool()>& pred, TimeUs limit_us = 30'000'000,
                 TimeUs step_us = 10'000);

  // A crash keeps every record written (the driver synced them all in time), or with
  // lose_unsynced only those up to the last output that demanded a sync (Output::sync).
  void crash(ReplicaId i, bool lose_unsynced = false);
  // The disk of replica i syncs (reports on_durable()) on the spot, or with stalled set not
  // until unstall_disk(i), which reports every record written so far.
  void stall_disk(ReplicaId i) { disk_stalled_[i] = true; }
  void unstall_disk(ReplicaId i);
  // Checkpoint captures (Output::capture) are answered on the spot, or with hold_captures(i) left
  // to the test: capture_asked(i) is the last request seen, collect(i) carries out what the
  // replica produced after the test answered it itself.
  void hold_captures(ReplicaId i) { captures_held_[i] = true; }
  std::optional<CaptureRequest> capture_asked(ReplicaId i) const { return capture_asked_[i]; }
  void collect(ReplicaId i);
  void restart(ReplicaId i);

  // Replies seen by the client (principal, session, number), in arrival order.
  std::vector<Reply> replies_for(const std::string& principal, std::uint64_t session,
                                 std::uint64_t number) const;
  // The result f+1 replicas sent in matching ordered replies (status and result; kPending
  // replies are provisional and not counted).
  std::optional<std::string> accepted(const std::string& principal, std::uint64_t session,
                                      std::uint64_t number) const;
  // True when f+1 replicas answered kPending (ordered, waiting in the application).
  bool pending(const std::string& principal, std::uint64_t session, std::uint64_t number) const;
  std::uint64_t counter(ReplicaId i, const std::string& name) const;
  // Signature checks by all replicas so far.
  std::uint64_t verify_calls() const { return verifier_.calls; }

  // Hooks. A filter returning false drops the message; a rewrite may replace the bytes of a
  // message a given replica sends (Byzantine behaviour), returning nullopt to keep them.
  std::function<bool(const Envelope&)> filter;
  std::function<std::optional<std::vector<Envelope>>(const Envelope&)> rewrite;

  std::vector<TimeUs> skew_us;
  std::vector<std::vector<Executed>> executed;   // per replica
  std::vector<std::vector<PersistRecord>> disk;  // per replica, as written
  std::vector<std::size_t> synced;               // per replica: records known durable
  std::vector<Reply> replies;
  std::deque<Envelope> queue;
  std::vector<std::size_t> messages_sent;  // per replica

 private:
  void route(const Envelope& e);
  void start_driver(ReplicaId i);

  Config config_;
  std::vector<Config> configs_;
  FakeVerifier verifier_;
  std::vector<std::unique_ptr<FakeSigner>> signers_;
  std::vector<std::unique_ptr<KvApp>> apps_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  // Per replica: the core's Driver (of its current start) over an environment of this cluster.
  class Env;
  std::vector<std::unique_ptr<Env>> envs_;
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::vector<bool> disk_stalled_;
  std::vector<bool> captures_held_;
  std::vector<std::optional<CaptureRequest>> capture_asked_;
  TimeUs now_us_ = 1'000'000;
};

// Helpers to build messages as a Byzantine replica would.
Signature sign_as(ReplicaId signer, SignDomain domain, const Bytes& message);
Bytes client_request_bytes(std::uint64_t session, std::uint64_t number, const std::string& payload,
                           bool read_only = false);

}  // namespace bastion::bft::test
