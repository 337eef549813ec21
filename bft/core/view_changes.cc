#include "bft/core/view_changes.h"

#include <algorithm>
#include <functional>
#include <set>

#include "bft/core/checkpoint_votes.h"
#include "codec/codec.h"

namespace bastion::bft {

const ViewChangeMsg* ViewChanges::of(ReplicaId replica) const {
  auto it = stored_.find(replica);
  return it == stored_.end() ? nullptr : &it->second.message;
}

bool ViewChanges::known(const ViewChangeMsg& vc) const {
  auto it = stored_.find(vc.replica);
  return it != stored_.end() && it->second.message.new_view == vc.new_view &&
         it->second.digest == codec::digest_of(vc);
}

void ViewChanges::store(ViewChangeMsg vc) {
  const ReplicaId replica = vc.replica;
  const Digest digest = codec::digest_of(vc);
  stored_[replica] = Stored{std::move(vc), digest};
}

std::size_t ViewChanges::at_least(ViewNum view) const {
  return static_cast<std::size_t>(
      std::count_if(stored_.begin(), stored_.end(),
                    [view](const auto& s) { return s.second.message.new_view >= view; }));
}

std::optional<ViewNum> ViewChanges::view_to_join(ViewNum view, ReplicaId self,
                                                 std::uint32_t f) const {
  std::vector<ViewNum> higher;
  for (const auto& [replica, s] : stored_) {
    if (replica != self && s.message.new_view > view) higher.push_back(s.message.new_view);
  }
  if (higher.size() < std::size_t{f} + 1) return std::nullopt;
  std::sort(higher.begin(), higher.end(), std::greater<>());
  return higher[f];
}

std::optional<std::vector<ViewChangeMsg>> ViewChanges::quorum_for(ViewNum view, ReplicaId self,
                                                                  std::size_t quorum) const {
  const ViewChangeMsg* own = of(self);
  if (own == nullptr || own->new_view != view) return std::nullopt;
  std::vector<ViewChangeMsg> vcs{*own};
  for (const auto& [replica, s] : stored_) {
    if (vcs.size() == quorum) break;
    if (replica != self && s.message.new_view == view) vcs.push_back(s.message);
  }
  if (vcs.size() < quorum) return std::nullopt;
  return vcs;
}

void ViewChanges::discard_below(ViewNum view) {
  std::erase_if(stored_, [view](const auto& s) { return s.second.message.new_view < view; });
}

NewViewProposals new_view_proposals(ViewNum view, const std::vector<ViewChangeMsg>& vcs) {
  NewViewProposals p;
  const ViewChangeMsg* top = nullptr;  // the first one with the highest stable checkpoint
  for (const ViewChangeMsg& vc : vcs) {
    if (top == nullptr || vc.stable.seq > top->stable.seq) top = &vc;
  }
  if (top != nullptr) {
    p.min_s = top->stable.seq;
    p.stable = top->stable;
  }
  std::map<SeqNum, const PreparedCert*> best;
  for (const ViewChangeMsg& vc : vcs) {
    for (const PreparedCert& c : vc.prepared) {
      if (c.header.seq <= p.min_s) continue;
      const PreparedCert*& b = best[c.header.seq];
      if (b == nullptr || c.header.view > b->header.view) b = &c;
    }
  }
  const SeqNum max_s = best.empty() ? p.min_s : best.rbegin()->first;
  for (SeqNum seq = p.min_s + 1; seq <= max_s; ++seq) {
    BatchHeader h;
    h.view = view;
    h.seq = seq;
    auto it = best.find(seq);
    if (it != best.end()) {
      h.timestamp_us = it->second->header.timestamp_us;
      h.batch_digest = it->second->header.batch_digest;
      h.null_batch = it->second->header.null_batch;
    } else {
      h.null_batch = true;
    }
    p.headers.push_back(h);
  }
  return p;
}

bool prepared_cert_well_formed(const PreparedCert& cert, ViewNum below_view, SeqNum stable_seq,
                               const Config& config) {
  const BatchHeader& h = cert.header;
  if (h.view >= below_view || h.seq <= stable_seq || h.seq - stable_seq > config.log_window) {
    return false;
  }
  if (h.null_batch && (h.batch_digest != Digest{} || h.timestamp_us != 0)) return false;
  if (cert.prepares.size() < config.prepares_needed() || cert.prepares.size() >= config.n)
    return false;
  const ReplicaId primary = config.primary_of(h.view);
  std::set<ReplicaId> signers;
  for (const PrepareMsg& p : cert.prepares) {
    if (p.view != h.view || p.seq != h.seq || p.batch_digest != h.batch_digest ||
        p.timestamp_us != h.timestamp_us || p.replica >= config.n || p.replica == primary ||
        !signers.insert(p.replica).second) {
      return false;
    }
  }
  return true;
}

bool view_change_well_formed(const ViewChangeMsg& vc, const Config& config) {
  if (vc.replica >= config.n || vc.new_view == 0) return false;
  if (vc.prepared.size() > config.log_window) return false;
  if (!checkpoint_proof_well_formed(vc.stable, config)) return false;
  SeqNum previous = vc.stable.seq;
  for (const PreparedCert& c : vc.prepared) {
    if (c.header.seq <= previous) return false;  // strictly increasing, above the checkpoint
    previous = c.header.seq;
    if (!prepared_cert_well_formed(c, vc.new_view, vc.stable.seq, config)) return false;
  }
  return true;
}

bool new_view_well_formed(const NewViewMsg& nv, const Config& config) {
  if (nv.view == 0 || nv.replica != config.primary_of(nv.view) ||
      nv.view_changes.size() < config.quorum() || nv.view_changes.size() > config.n ||
      nv.proposal_signatures.size() != nv.proposals.size()) {
    return false;
  }
  std::set<ReplicaId> senders;
  for (const ViewChangeMsg& vc : nv.view_changes) {
    if (vc.new_view != nv.view || vc.replica >= config.n || !senders.insert(vc.replica).second) {
      return false;
    }
  }
  return true;
}

}  // namespace bastion::bft
