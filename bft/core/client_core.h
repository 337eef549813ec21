// The client side of the protocol as a deterministic state machine, and reply voting.
//
// ClientCore sends each request to all replicas, retransmits with back-off, and accepts a result
// once enough replicas sent matching replies: f+1 for ordered requests, 2f+1 for read-only ones
// (executed without ordering); a read-only request that cannot gather 2f+1 matching replies is
// retried as an ordered request with the same number. The real client library (client/) and the
// simulator drive it with the same events.
//
// Thread-safety: none; one thread owns a ClientCore.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "bft/core/messages.h"

namespace bastion::bft {

// Collects replies to one request from distinct replicas and decides when a result is accepted.
//
// Some results legitimately differ per replica in a known part (e.g. a secret share each replica
// opens for the client). `split` extracts the part that must match; replies are grouped by it.
// `verify` (optional) checks a reply's replica-specific part; a reply that fails it is ignored.
class ReplyVoter {
 public:
  using Split = std::function<Bytes(const Bytes& result)>;
  using Verify = std::function<bool(ReplicaId replica, const Bytes& result)>;

  ReplyVoter(std::uint32_t n, std::uint32_t needed, Split split = nullptr, Verify verify = nullptr);

  struct Accepted {
    Bytes common;                                      // the matching part
    std::vector<std::pair<ReplicaId, Bytes>> replies;  // the full matching replies
  };

  // Adds a reply; a replica's later reply replaces its earlier one. Returns the accepted result
  // the first time `needed` replicas agree.
  std::optional<Accepted> add(ReplicaId replica, const Bytes& result);
  // True when no group can reach `needed` any more with the replicas that have not answered.
  bool impossible() const;
  void reset();

 private:
  std::uint32_t n_;
  std::uint32_t needed_;
  Split split_;
  Verify verify_;
  std::map<ReplicaId, Bytes> common_by_replica_;
  std::map<ReplicaId, Bytes> full_by_replica_;
};

struct ClientConfig {
  std::uint32_t n = 4;
  std::uint32_t f = 1;
  std::uint64_t session = 0;
  TimeUs retransmit_us = 200'000;  // first retransmission; doubles, capped below
  TimeUs retransmit_max_us = 2'000'000;
  TimeUs read_only_wait_us = 100'000;  // then a read-only request is retried ordered
};

struct ClientSend {
  std::optional<ReplicaId> to;  // nullopt: every replica
  SharedBytes bytes;            // an encoded ClientRequestMsg
};

struct ClientCompletion {
  std::uint64_t number = 0;
  Bytes result;  // the accepted common part
  std::vector<std::pair<ReplicaId, Bytes>> replies;
  ViewNum view = 0;  // the view reported by the accepted replies (for status)
};

struct ClientOutput {
  std::vector<ClientSend> sends;
  std::vector<ClientCompletion> completions;
};

class ClientCore {
 public:
  explicit ClientCore(ClientConfig config, ReplyVoter::Split split = nullptr,
                      ReplyVoter::Verify verify = nullptr);

  // Starts a request; returns its number (consecutive from 1 within the session).
  std::uint64_t submit(Bytes payload, bool read_only, TimeUs now_us);
  // Forgets a request (the caller gave up, e.g. its own timeout); late replies are ignored.
  void abandon(std::uint64_t number);

  void on_reply(ReplicaId from, ByteView bytes, TimeUs now_us);
  void on_tick(TimeUs now_us);
  ClientOutput take_output();
  std::optional<TimeUs> next_tick_us() const;

  std::size_t in_flight() const;
  const std::map<std::string, std::uint64_t>& counters() const { return counters_; }

 private:
  struct Pending;
  ClientConfig config_;
  ReplyVoter::Split split_;
  ReplyVoter::Verify verify_;
  std::uint64_t next_number_ = 1;
  std::map<std::uint64_t, Pending*> pending_;  // implementation may change representation
  ClientOutput out_;
  std::map<std::string, std::uint64_t> counters_;
};

}  // namespace bastion::bft
