// The request pool: requests known to a replica but not executed yet, with the vouches other
// replicas sent for them (docs/protocol.md, "Requests and their dissemination").
//
// This is local, unreplicated state. It only stores and counts; the protocol decisions (when to
// vouch, fetch, propose, start a timer) are the replica's (dissemination.cc).
//
// Bounds, whatever peers and clients send:
//   - one entry per RequestId; an entry created by a vouch is charged to the vouching replica
//     (at most pending_requests_per_replica_max each) and to the request's principal (at most
//     sessions_per_principal_max * client_window each, what an honest principal can have in
//     flight), one created by a client to nobody (the client's window and its byte quota bound
//     it);
//   - an entry created by a vouch that this replica never got from the client, never vouched
//     for itself and that never gathered the 2f+1 vouches that start its timer, is forgotten
//     pool_entry_ttl_us after its creation (expire()): such a request is never ordered, and if
//     its client is still there it retransmits. A client that talks to one replica only, or a
//     faulty replica vouching for invented requests, holds its quotas for that long at most;
//   - per entry, at most one vouch per replica (its first), so at most n digests are tracked;
//     request bytes are held only for digests the replica received from the client or that
//     reached f+1 vouches, and are charged to the principal (pending_bytes_per_principal_max).
//
// An entry leaves when its request executes, falls out of its client's window, or (above) ages
// out; never because its client's session was evicted: peers may still count the vouches this
// replica sent for it (docs/protocol.md, "Client table").
//
// Thread-safety: none; owned by the replica's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/types.h"

namespace bastion::bft {

struct RequestId {
  ClientKey client;
  std::uint64_t number = 0;
  friend bool operator==(const RequestId&, const RequestId&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const RequestId&, const RequestId&) = default;
};

using RequestPtr = std::shared_ptr<const Request>;

struct PoolEntry {
  // This replica's own vouch: at most one digest per request number, its first.
  bool own_vouched = false;
  Digest own_digest{};
  // The own digest came from the client's channel (so it is authentic to this replica).
  bool from_client = false;
  TimeUs last_vouch_us = 0;
  // Other replicas' vouches, one per replica (its first).
  std::vector<std::pair<ReplicaId, Digest>> vouches;
  // Request bytes held, by digest.
  std::vector<std::pair<Digest, RequestPtr>> bodies;
  // Request timer: started when 2f+1 replicas vouched for one digest.
  std::optional<TimeUs> timer_start_us;
  // In the primary's ready queue.
  bool queued = false;
  // Accounting. Entries created by a vouch are charged to their voucher and their principal, and
  // age from created_us.
  TimeUs created_us = 0;
  std::optional<ReplicaId> charged_replica;
  std::uint64_t charged_bytes = 0;
};

// The primary's queue of requests ready to propose, served round-robin by principal (Aardvark's
// fair batching): a principal flooding the primary gets one slot in each turn, like every other
// principal with requests waiting, rather than the whole batch. Within a principal, FIFO.
//
// A principal whose next request does not fit in what is left of a batch's bytes is set aside
// for that batch (defer_front()), so that the other principals' small requests still fill it,
// and goes first in the next one (end_batch()): a principal sending large requests cannot cut
// every batch short after one request of each of the others.
class ReadyQueue {
 public:
  void push_back(const RequestId& id);
  // No principal with a turn in the current batch (deferred ones are not counted).
  bool empty() const { return turns_.empty(); }
  std::size_t size() const { return size_; }
  // The next request to propose; empty() must be false.
  const RequestId& front() const { return by_principal_.at(turns_.front()).front(); }
  // Removes front() and moves its principal to the end of the turn order.
  void pop_front();
  // Takes front()'s principal out of the turns of the current batch, its requests kept.
  void defer_front();
  // The deferred principals take the first turns again, in the order they were deferred.
  void end_batch();
  void clear();

 private:
  std::map<std::string, std::deque<RequestId>> by_principal_;
  std::deque<std::string> turns_;      // principals with requests queued, in turn order
  std::vector<std::string> deferred_;  // set aside for the current batch
  std::size_t size_ = 0;
};

class RequestPool {
 public:
  explicit RequestPool(const Config& config);

  PoolEntry* find(const RequestId& id);
  const PoolEntry* find(const RequestId& id) const;
  // Creates the entry if needed: for a client's request (never refused), or for a vouch (refused
  // with nullptr when the voucher's quota is exhausted).
  PoolEntry& find_or_create_for_client(const RequestId& id);
  PoolEntry* find_or_create_for_vouch(const RequestId& id, ReplicaId voucher, TimeUs now_us);
  // Forgets the entries created by a vouch before `created_before` that nothing here needs
  // (see the bounds above); returns how many.
  std::size_t expire(TimeUs created_before);

  // Records a replica's vouch; false if it already vouched for this request.
  static bool add_vouch(PoolEntry& e, ReplicaId voucher, const Digest& d);
  // Vouches for `d` by other replicas, and those plus this replica's own.
  static std::uint32_t others_for(const PoolEntry& e, const Digest& d);
  static std::uint32_t support_for(const PoolEntry& e, const Digest& d);
  // The digest with the most support (ties: lowest digest), with its support.
  static std::pair<Digest, std::uint32_t> best_supported(const PoolEntry& e);

  static RequestPtr body(const PoolEntry& e, const Digest& d);
  // Stores request bytes; false if the principal's byte quota would be exceeded.
  bool store_body(const RequestId& id, PoolEntry& e, const Digest& d, RequestPtr request);
  RequestPtr find_by_digest(const Digest& d) const;

  // Times the entry if it is not yet; stop_timer() takes it out, the entry kept.
  void start_timer(const RequestId& id, PoolEntry& e, TimeUs now_us);
  void stop_timer(const RequestId& id, PoolEntry& e);
  // Restarts every running timer at now_us (new view).
  void restart_timers(TimeUs now_us);
  std::optional<std::pair<TimeUs, RequestId>> earliest_timer() const;

  void erase(const RequestId& id);
  // Erases the client's entries with number <= `number`.
  void erase_through(const ClientKey& client, std::uint64_t number);

  std::map<RequestId, PoolEntry>& entries() { return entries_; }
  const std::map<RequestId, PoolEntry>& entries() const { return entries_; }

  std::uint64_t vouch_count() const;
  std::uint64_t body_count() const { return by_digest_.size(); }
  std::uint64_t held_bytes() const;
  std::size_t timer_count() const { return timers_.size(); }

 private:
  void release(const RequestId& id, PoolEntry& e);

  std::uint32_t n_;
  std::uint32_t per_replica_max_;
  std::uint64_t per_principal_entries_max_;
  std::uint64_t per_principal_bytes_max_;
  std::map<RequestId, PoolEntry> entries_;
  std::map<Digest, RequestId> by_digest_;
  std::vector<std::uint32_t> charged_per_replica_;
  std::map<std::string, std::uint64_t> bytes_per_principal_;
  std::map<std::string, std::uint64_t> vouched_entries_per_principal_;
  std::set<std::pair<TimeUs, RequestId>> by_age_;  // entries created by a vouch
  std::set<std::pair<TimeUs, RequestId>> timers_;
};

}  // namespace bastion::bft
