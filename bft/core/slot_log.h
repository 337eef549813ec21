// The log of slots (PBFT section 4.2): per seq inside the log window, the pre-prepare accepted in
// the current view, the prepares and commits of that view, and what survives view changes (the
// prepared certificate of the highest view, the committed header, COMMITTED claims and the known
// batch bodies); beside them the requests of the batches accepted in this view (a request is
// assigned one seq per view) and the seqs whose pre-prepare is held.
//
// Stores, clears and discards only; the protocol decisions are the replica's (normal_case.cc,
// view_change.cc, catch_up.cc). Invariants (check()): slots only for seqs inside the window above
// the stable checkpoint; a slot's current-view state belongs to the current view and its seq.
// Bounds: the window of slots, at most n prepares, commits and claims per slot (one per replica),
// a few bodies per slot (Slot::store_body).
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "bft/core/messages.h"
#include "bft/core/request_pool.h"

namespace bastion::bft {

// A batch's requests with the digests computed once.
struct Batch {
  std::vector<Request> requests;
  std::vector<Digest> request_digests;
  Digest digest{};
  std::uint64_t bytes = 0;  // batch_request_bytes() summed
};
using BatchPtr = std::shared_ptr<const Batch>;

BatchPtr make_batch(std::vector<Request> requests);
// Bytes a request counts for against batch_max_bytes (same rule at primary and backups).
std::uint64_t batch_request_bytes(const Request& r);

// A pre-prepare from the current primary that passed the stateless checks but waits for the
// previous seq's timestamp or for its requests to become authentic to this replica.
struct HeldPrePrepare {
  BatchHeader header;
  Signature signature{};
  BatchPtr body;
  bool paced = false;  // waited for agreed time's pace (counted once)
};

struct Slot {
  // ---- current view only ----
  std::optional<BatchHeader> header;  // accepted pre-prepare (or NEW-VIEW proposal)
  Signature header_signature{};
  std::optional<HeldPrePrepare> held;
  std::map<ReplicaId, PrepareMsg> prepares;  // first per replica, any digest
  // Prepares whose signature was checked (bit r: replica r's); the others are checked only when
  // they are needed to complete a prepared certificate (own prepares count as checked).
  std::uint64_t prepares_verified = 0;
  std::map<ReplicaId, CommitMsg> commits;  // first per replica, any digest
  bool prepared = false;
  TimeUs voted_us = 0;     // when this replica last sent a vote for the slot (0: restored)
  TimeUs accepted_us = 0;  // when this replica accepted the pre-prepare (0: not in this view)
  // ---- across views ----
  std::optional<PreparedCert> cert;         // prepared certificate of the highest view
  std::optional<BatchHeader> committed;     // the header this seq committed with
  std::map<ReplicaId, BatchHeader> claims;  // COMMITTED claims, latest per replica
  std::vector<BatchPtr> bodies;             // known bodies (bounded, see store_body)
  std::optional<Digest> persisted_body;     // digest of a body already in a persisted record

  // The accepted header, the prepared certificate or the committed header names digest `d`.
  bool references(const Digest& d) const;
  // The known body with digest `d`; null if none.
  BatchPtr find_body(const Digest& d) const;
  // Adds a body. At most three digests are referenced (accepted header, prepared certificate,
  // committed header): beyond four bodies, one nobody references is forgotten.
  void store_body(BatchPtr body);
  // The committed header, else the accepted one; null if neither.
  const BatchHeader* known_header() const;
  // Forgets the current view's state (a new view begins).
  void clear_view();
};

class SlotLog {
 public:
  using Slots = std::map<SeqNum, Slot>;

  // The slot of `seq`, created empty if there is none (the caller checks the window).
  Slot& at(SeqNum seq) { return slots_[seq]; }
  Slot* find(SeqNum seq);
  const Slot* find(SeqNum seq) const;
  // Slots in seq order.
  Slots::iterator begin() { return slots_.begin(); }
  Slots::iterator end() { return slots_.end(); }
  Slots::const_iterator begin() const { return slots_.begin(); }
  Slots::const_iterator end() const { return slots_.end(); }
  Slots::iterator upper_bound(SeqNum seq) { return slots_.upper_bound(seq); }
  Slots::const_iterator upper_bound(SeqNum seq) const { return slots_.upper_bound(seq); }
  std::size_t size() const { return slots_.size(); }

  // The highest seq above `executed` this replica holds a prepared certificate for; `executed`
  // if none.
  SeqNum highest_prepared_above(SeqNum executed) const;
  // Some seq above `executed` committed (it waits for the ones before it).
  bool committed_above(SeqNum executed) const;

  // ---- requests of the batches accepted in this view ----
  void assign(SeqNum seq, const Batch& batch);
  bool assigned(const RequestId& id) const { return assigned_.contains(id); }
  // Assigned in this view to a seq other than `seq`.
  bool assigned_elsewhere(const RequestId& id, SeqNum seq) const;
  void unassign(const RequestId& id) { assigned_.erase(id); }
  std::size_t assigned_count() const { return assigned_.size(); }

  // ---- held pre-prepares ----
  // Holds `held` in its seq's slot, in place of any held before.
  void hold(HeldPrePrepare held);
  // Calls `keep(seq, slot)` for each seq with a held pre-prepare, in seq order; where it returns
  // false the pre-prepare is released. `keep` may create slots but not discard any.
  template <typename F>
  void review_held(F keep);

  // A new view: every slot's current-view state, the assignments and the held pre-prepares go.
  void clear_view();
  // A stable checkpoint at `stable`: the slots at and below it go with their assignments.
  void discard_through(SeqNum stable);
  // Checks the invariants above (BASTION_CHECK).
  void check(SeqNum stable, std::uint64_t window, ViewNum view) const;

 private:
  Slots slots_;
  std::map<RequestId, SeqNum> assigned_;
  std::set<SeqNum> held_;
};

template <typename F>
void SlotLog::review_held(F keep) {
  for (auto it = held_.begin(); it != held_.end();) {
    Slot* s = find(*it);
    if (s == nullptr || !s->held || !keep(*it, *s)) {
      if (s != nullptr) s->held.reset();
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace bastion::bft
