// The client side of the protocol as a deterministic state machine, and reply voting.
//
// ClientCore sends each request to all replicas, retransmits with back-off, and accepts a result
// once enough replicas sent matching replies: f+1 for ordered requests, 2f+1 for read-only ones
// (executed without ordering); a read-only request that cannot gather 2f+1 matching replies (the
// replicas disagree, refuse it as not read-only, or do not answer within read_only_wait_us) is
// retried as an ordered request with the same number. Replies vote on (status, result): a core
// error (stale, too large, evicted) is accepted like a result when enough replicas agree on it,
// except kNotReadOnly, which is never accepted (it only moves the request to the ordered path),
// and kPending (a blocking request that waits in the application), which is not a vote for the
// result: once f+1 distinct replicas answered kPending to an ordered request, ClientCore emits one
// provisional ClientCompletion with status kPending (the request is ordered and legitimately
// waits) and keeps the request in flight (retransmitting with back-off) until its final result,
// which completes it normally (a second completion with the same number).
//
// Request numbers: replicas hold ordered requests only within client_window above the highest
// number they executed for the session, and a request completed on the read-only path is never
// executed in their client table. So the number of a request that completed read-only (never sent
// ordered, never held by a replica) is given to the next ordered submit() instead of a fresh one:
// the numbers replicas see ordered stay dense, and any number of reads between two writes cannot
// push a write out of the window. For the same reason a read-only request that is retried ordered
// takes the smallest such number if it is below its own (its own is freed when it completes:
// until then it stays its handle, the number submit() returned and completions report). So
// with at most client_window requests in flight, every ordered number is within the window of
// an up-to-date replica. Only ordered requests reuse numbers: late or duplicated read-only
// replies to the earlier request carry read_only = true, which an ordered request never counts,
// whereas a read-only request reusing the number could accept them as its own result.
// Replies are hostile input: malformed ones, ones whose replica field differs from the channel's
// replica, and ones for other sessions or unknown numbers are dropped and counted in counters().
// The real client library (client/) and the simulator drive it with the same events.
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
  // Replica `replica` answered but will not contribute a result (e.g. it refused a read-only
  // execution); replaces its earlier reply. A later add() from it replaces this again.
  void exclude(ReplicaId replica);
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
  std::set<ReplicaId> excluded_;
  bool accepted_ = false;
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
  std::uint64_t number = 0;  // as submit() returned it
  // kOk: `result` is the application's (its common part); otherwise the core's error that f+1
  // (2f+1 read-only) replicas agreed on, and `result` is empty.
  ReplyStatus status = ReplyStatus::kOk;
  Bytes result;
  std::vector<std::pair<ReplicaId, Bytes>> replies;  // the matching replicas' full results
  ViewNum view = 0;        // the view reported by the accepted replies (for status)
  bool read_only = false;  // accepted on the read-only path (2f+1 unordered replies)
};

struct ClientOutput {
  std::vector<ClientSend> sends;
  std::vector<ClientCompletion> completions;
};

class ClientCore {
 public:
  explicit ClientCore(ClientConfig config, ReplyVoter::Split split = nullptr,
                      ReplyVoter::Verify verify = nullptr);

  // Starts a request; returns its number: a fresh one (consecutive from 1 within the session),
  // or, for an ordered request, the smallest number freed by a request that completed on the
  // read-only path. The request keeps it as its handle even if a retry renumbers it (above).
  std::uint64_t submit(Bytes payload, bool read_only, TimeUs now_us);
  // Forgets a request (the caller gave up, e.g. its own timeout); late replies are ignored.
  void abandon(std::uint64_t number);

  void on_reply(ReplicaId from, ByteView bytes, TimeUs now_us);
  void on_tick(TimeUs now_us);
  ClientOutput take_output();
  std::optional<TimeUs> next_tick_us() const;

  std::size_t in_flight() const;
  // Ordered requests abandoned above the highest ordered number that completed: numbers the
  // replicas may never have seen. Replicas hold a session's requests only within client_window
  // above the highest they executed, so once this approaches the window the session's later
  // requests may never be ordered: the caller should start a new session (a new ClientCore).
  std::size_t stranded() const { return stranded_.size(); }
  const std::map<std::string, std::uint64_t>& counters() const { return counters_; }

 private:
  // One request in flight. `read_only` is true while it is still on the read-only path.
  struct Pending {
    Bytes payload;
    std::uint64_t wire = 0;  // the number sent (the handle unless renumbered)
    bool read_only = false;
    SharedBytes bytes;  // the request as currently (re)sent
    ReplyVoter voter;
    std::map<ReplicaId, ViewNum> views;  // view reported by each replica's current reply
    TimeUs next_send_us = 0;
    TimeUs interval_us = 0;
    TimeUs read_only_deadline_us = 0;
    std::set<ReplicaId> pending_replicas;  // sent kPending (ordered path)
    bool provisional_sent = false;         // the kPending completion was emitted
  };

  void send(Pending& p, TimeUs now_us);
  void switch_to_ordered(std::uint64_t handle, Pending& p, TimeUs now_us);
  void complete(std::uint64_t handle, Pending& p, ReplyVoter::Accepted accepted);
  // Frees what a request that ends (completed or abandoned) leaves: numbers never sent ordered.
  void release_numbers(std::uint64_t handle, const Pending& p);
  ViewNum agreed_view(const Pending& p, const ReplyVoter::Accepted& accepted) const;
  void count(const char* name) { ++counters_[name]; }

  ClientConfig config_;
  ReplyVoter::Split split_;
  ReplyVoter::Verify verify_;
  std::uint64_t next_number_ = 1;
  std::set<std::uint64_t> reusable_numbers_;           // ended requests' numbers never sent ordered
  std::map<std::uint64_t, Pending> pending_;           // by handle
  std::map<std::uint64_t, std::uint64_t> renumbered_;  // wire number -> handle, where they differ
  std::uint64_t highest_ordered_done_ = 0;             // wire number of a completed ordered request
  std::set<std::uint64_t> stranded_;                   // see stranded()
  ClientOutput out_;
  std::map<std::string, std::uint64_t> counters_;
};

}  // namespace bastion::bft
