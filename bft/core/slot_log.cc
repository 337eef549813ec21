#include "bft/core/slot_log.h"

#include <algorithm>
#include <utility>

#include "codec/check.h"

namespace bastion::bft {

std::uint64_t batch_request_bytes(const Request& r) {
  // Payload, principal and the fixed-size fields with their framing.
  constexpr std::uint64_t kOverheadBytes = 32;
  return r.payload.size() + r.client.principal.size() + kOverheadBytes;
}

BatchPtr make_batch(std::vector<Request> requests) {
  auto b = std::make_shared<Batch>();
  b->requests = std::move(requests);
  b->request_digests.reserve(b->requests.size());
  for (const Request& r : b->requests) {
    b->request_digests.push_back(request_digest(r));
    b->bytes += batch_request_bytes(r);
  }
  b->digest = batch_digest_of(b->request_digests);
  return b;
}

// ---- Slot --------------------------------------------------------------------------------------

bool Slot::references(const Digest& d) const {
  return (header && header->batch_digest == d) || (cert && cert->header.batch_digest == d) ||
         (committed && committed->batch_digest == d);
}

BatchPtr Slot::find_body(const Digest& d) const {
  for (const BatchPtr& b : bodies) {
    if (b->digest == d) return b;
  }
  return nullptr;
}

void Slot::store_body(BatchPtr body) {
  if (find_body(body->digest) != nullptr) return;
  bodies.push_back(std::move(body));
  constexpr std::size_t kBodiesMax = 4;
  if (bodies.size() <= kBodiesMax) return;
  auto victim = std::find_if(bodies.begin(), bodies.end(),
                             [this](const BatchPtr& b) { return !references(b->digest); });
  if (victim != bodies.end()) bodies.erase(victim);
}

const BatchHeader* Slot::known_header() const {
  if (committed) return &*committed;
  if (header) return &*header;
  return nullptr;
}

void Slot::clear_view() {
  header.reset();
  held.reset();
  prepares.clear();
  prepares_verified = 0;
  voted_us = 0;
  accepted_us = 0;
  commits.clear();
  prepared = false;
}

// ---- SlotLog -----------------------------------------------------------------------------------

Slot* SlotLog::find(SeqNum seq) {
  auto it = slots_.find(seq);
  return it == slots_.end() ? nullptr : &it->second;
}

const Slot* SlotLog::find(SeqNum seq) const {
  auto it = slots_.find(seq);
  return it == slots_.end() ? nullptr : &it->second;
}

SeqNum SlotLog::highest_prepared_above(SeqNum executed) const {
  for (auto it = slots_.rbegin(); it != slots_.rend() && it->first > executed; ++it) {
    if (it->second.cert) return it->first;
  }
  return executed;
}

bool SlotLog::committed_above(SeqNum executed) const {
  for (auto it = slots_.upper_bound(executed); it != slots_.end(); ++it) {
    if (it->second.committed) return true;
  }
  return false;
}

void SlotLog::assign(SeqNum seq, const Batch& batch) {
  for (const Request& r : batch.requests) assigned_[RequestId{r.client, r.number}] = seq;
}

bool SlotLog::assigned_elsewhere(const RequestId& id, SeqNum seq) const {
  auto it = assigned_.find(id);
  return it != assigned_.end() && it->second != seq;
}

void SlotLog::hold(HeldPrePrepare held) {
  const SeqNum seq = held.header.seq;
  at(seq).held = std::move(held);
  held_.insert(seq);
}

void SlotLog::clear_view() {
  for (auto& [seq, s] : slots_) s.clear_view();
  held_.clear();
  assigned_.clear();
}

void SlotLog::discard_through(SeqNum stable) {
  slots_.erase(slots_.begin(), slots_.upper_bound(stable));
  held_.erase(held_.begin(), held_.upper_bound(stable));
  std::erase_if(assigned_, [stable](const auto& a) { return a.second <= stable; });
}

void SlotLog::check(SeqNum stable, std::uint64_t window, ViewNum view) const {
  for (const auto& [seq, s] : slots_) {
    // The log window.
    BASTION_CHECK(seq > stable && seq - stable <= window);
    // Current-view state belongs to the current view; what survives view changes to its seq.
    BASTION_CHECK(!s.header || (s.header->view == view && s.header->seq == seq));
    BASTION_CHECK(!s.held || (s.held->header.view == view && s.held->header.seq == seq));
    for (const auto& [r, p] : s.prepares) BASTION_CHECK(p.view == view && p.seq == seq);
    for (const auto& [r, c] : s.commits) BASTION_CHECK(c.view == view && c.seq == seq);
    BASTION_CHECK(!s.cert || s.cert->header.seq == seq);
    BASTION_CHECK(!s.committed || s.committed->seq == seq);
  }
  for (SeqNum seq : held_) BASTION_CHECK(seq > stable);
}

}  // namespace bastion::bft
