// The client table: the replicated part of at-most-once execution.
//
// Per ClientKey (principal, session): the highest executed request number, the numbers executed
// within client_window below it with their cached results (or "waiting" while the application
// holds the request), and the batch seq of the session's last execution (for eviction).
//
// Invariants (checked again when a table is decoded from a checkpoint, which is hostile input):
//   - every kept number is in (highest - client_window, highest];
//   - a session's cached result bytes <= reply_cache_bytes_max (oldest results evicted first);
//   - a principal has at most sessions_per_principal_max sessions;
//   - all mutation happens while executing ordered batches, so correct replicas hold equal tables
//     and equal encodings (maps ordered by key, no hash containers).
//
// Thread-safety: none; owned by the replica's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "bft/core/config.h"
#include "bft/core/types.h"
#include "codec/archive.h"
#include "codec/result.h"

namespace bastion::bft {

class ClientTable {
 public:
  struct Entry {
    bool waiting = false;  // executed, result not produced yet (a blocking operation)
    bool cached = false;   // `result` holds the result
    Bytes result;
  };

  enum class Verdict {
    kNew,       // not executed: may execute
    kExecuted,  // executed already (see entry())
    kStale,     // at or below highest - client_window: answered with ReplyStatus::kStale
  };

  explicit ClientTable(const Config& config);

  Verdict classify(const ClientKey& client, std::uint64_t number) const;
  // The entry of an executed number still inside the window; nullptr otherwise (also when the
  // number was executed so long ago that it fell out of the window).
  const Entry* entry(const ClientKey& client, std::uint64_t number) const;
  std::uint64_t highest(const ClientKey& client) const;
  // Whether the session is in the table (admitted and not evicted since).
  bool has_session(const ClientKey& client) const { return sessions_.contains(client); }
  // Numbers above highest + client_window are not held before ordering.
  bool within_window(const ClientKey& client, std::uint64_t number) const;

  // Execution. admit() makes sure the session exists, marks it active at `seq`, and returns the
  // session it evicted to make room (its principal had too many), if any.
  std::optional<ClientKey> admit(const ClientKey& client, SeqNum seq);
  // Records the execution of an admitted request: its result, or nullopt if it waits.
  void record(const ClientKey& client, std::uint64_t number, std::optional<Bytes> result);
  // A waiting request completed: caches its result if the entry is still held.
  void complete(const ClientKey& client, std::uint64_t number, const Bytes& result);

  // Canonical encoding (part of checkpoint state) and validating decode.
  void save(codec::OutputArchive& ar) const;
  static Result<ClientTable, std::string> load(codec::BoundedInputArchive& ar,
                                               const Config& config);

  std::size_t sessions() const { return sessions_.size(); }
  std::uint64_t entries() const;
  std::uint64_t cached_bytes() const;

  friend bool operator==(const ClientTable& a, const ClientTable& b) {
    return a.sessions_ == b.sessions_;
  }

 private:
  // Executed numbers in increasing order. Numbers arrive almost in order, so a sorted deque
  // (append at the back, prune at the front, binary search) beats a tree on every operation.
  using Executed = std::deque<std::pair<std::uint64_t, Entry>>;
  struct Session {
    std::uint64_t highest = 0;
    SeqNum last_active = 0;
    std::uint64_t cached_bytes = 0;
    Executed executed;
    Entry* find(std::uint64_t number);
    const Entry* find(std::uint64_t number) const;
    friend bool operator==(const Session& a, const Session& b) {
      return a.highest == b.highest && a.last_active == b.last_active && a.executed == b.executed;
    }
  };
  friend bool operator==(const Entry& a, const Entry& b) {
    return a.waiting == b.waiting && a.cached == b.cached && a.result == b.result;
  }

  bool stale(const Session& s, std::uint64_t number) const;
  void prune(Session& s);
  void evict_results(Session& s);

  std::uint32_t window_;
  std::uint32_t sessions_per_principal_max_;
  std::uint64_t reply_cache_bytes_max_;
  std::uint32_t principal_bytes_max_;
  std::map<ClientKey, Session> sessions_;
};

}  // namespace bastion::bft
