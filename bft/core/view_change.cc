// View change (PBFT section 4.4) and its liveness rules (section 4.5.2).
//
// A replica that suspects the primary moves to view v+1: it stops taking part in view v, persists
// the new view and sends a signed VIEW-CHANGE with its stable checkpoint proof and, for each seq
// above it, its prepared certificate of the highest view. The primary of v+1 collects 2f+1 valid
// ones and sends NEW-VIEW: for each seq in (min-s, max-s] the certificate of the highest view (same
// digest and timestamp) or a null batch. Backups recompute the proposals from the view-changes in
// the NEW-VIEW, so a faulty new primary can neither drop a request that may have committed nor
// invent one. Whatever committed in an earlier view was prepared by f+1 correct replicas, one of
// which is in any 2f+1 set of view-changes, so it is re-proposed at the same seq.
//
// Liveness: the view-change timer starts once 2f+1 view-changes for the view are in, and doubles
// each time a view change fails (capped), returning to its base once a view makes progress; a
// replica joins a view change once f+1 replicas (one of them correct) want a higher view.
//
// Bounds: one VIEW-CHANGE per replica is kept (its highest view), verified once, and a peer gets
// at most kViewChangeBurst of them verified at once, one more per retransmission interval.
#include <algorithm>

#include "bft/core/replica_impl.h"

namespace bastion::bft {

void Replica::Impl::enter_view(ViewNum new_view, bool changing) {
  if (changing) {
    view_.begin_change(new_view, now_us_);
  } else {
    view_.enter(new_view, now_us_);
  }
  log_.clear_view();
  ready_.clear();
  for (auto& [id, e] : pool_.entries()) e.queued = false;
  batch_wait_until_us_.reset();
  view_changes_.discard_below(new_view);
}

void Replica::Impl::start_view_change(ViewNum new_view) {
  if (new_view <= view_.number()) return;
  count(Ctr::kViewChanges);
  enter_view(new_view, true);
  persist(ViewRecord{view_.number(), true});
  ViewChangeMsg vc = build_view_change();
  broadcast(vc);
  view_changes_.store(std::move(vc));
  maybe_start_view_change_timer();
  try_send_new_view();
}

ViewChangeMsg Replica::Impl::build_view_change() {
  ViewChangeMsg vc;
  vc.new_view = view_.number();
  vc.stable = checkpoints_.stable_proof();
  vc.replica = config_.self;
  for (const auto& [seq, s] : log_) {
    if (s.cert && in_window(seq)) vc.prepared.push_back(*s.cert);
  }
  vc.signature = signer_.sign(SignDomain::kViewChange, view_change_signed_bytes(vc));
  return vc;
}

bool Replica::Impl::verify_view_change(const ViewChangeMsg& m) {
  if (!view_change_well_formed(m, config_)) return false;
  if (!verify(m.replica, SignDomain::kViewChange, view_change_signed_bytes(m), m.signature)) {
    return false;
  }
  if (!verify_checkpoint_proof(m.stable)) return false;
  for (const PreparedCert& c : m.prepared) {
    const BatchHeader& h = c.header;
    if (!verify_remembered(config_.primary_of(h.view), SignDomain::kPrePrepare,
                           pre_prepare_signed_bytes(h), c.primary_signature)) {
      return false;
    }
    for (const PrepareMsg& p : c.prepares) {
      if (!verify_remembered(p.replica, SignDomain::kPrepare, prepare_signed_bytes(p),
                             p.signature)) {
        return false;
      }
    }
  }
  return true;
}

void Replica::Impl::on_view_change(ReplicaId from, const ViewChangeMsg& m) {
  if (m.replica != from) {
    count(Ctr::kDropBadSender);
    return;
  }
  if (m.new_view < view_.number() || (m.new_view == view_.number() && !view_.changing())) {
    count(Ctr::kDropOldView);
    // The sender missed the NEW-VIEW of the view this replica is in.
    if (m.new_view == view_.number() && view_.new_view_bytes() &&
        spend_serve_budget(from, view_.new_view_bytes()->size())) {
      send_bytes(from, view_.new_view_bytes());
    }
    return;
  }
  const ViewChangeMsg* known = view_changes_.of(from);
  if (known != nullptr && known->new_view >= m.new_view) {
    count(Ctr::kDropDuplicate);
    return;
  }
  // A correct replica sends one VIEW-CHANGE per view it moves to, and it moves on timeouts
  // several retransmission intervals long: a peer sending more is faulty, and each costs
  // signature checks. One dropped here from a correct peer comes back with its retransmission.
  if (!view_change_budget_[from].take(now_us_, 1)) {
    count(Ctr::kViewChangesThrottled);
    return;
  }
  if (!verify_view_change(m)) {
    count(Ctr::kDropInvalid);
    return;
  }
  view_changes_.store(m);
  if (m.new_view > view_.number()) maybe_join_higher_view();
  maybe_start_view_change_timer();
  try_send_new_view();
}

void Replica::Impl::maybe_join_higher_view() {
  // The smallest view among the f+1 highest: at least one correct replica wants it or more.
  const std::optional<ViewNum> join =
      view_changes_.view_to_join(view_.number(), config_.self, config_.f);
  if (!join) return;
  count(Ctr::kViewJoins);
  start_view_change(*join);
}

void Replica::Impl::maybe_start_view_change_timer() {
  if (!view_.changing() || view_.deadline_us()) return;
  // 2f+1 replicas (this one included) want this view or a higher one: the view change could
  // complete, so its failing to is the new primary's fault. Counting higher views too matters
  // when some replicas moved on while others wait for a NEW-VIEW that will never come (its
  // primary restarted and lost it): without them nobody's timer would ever run.
  if (view_changes_.at_least(view_.number()) >= config_.quorum()) view_.start_timer(now_us_);
}

void Replica::Impl::check_view_timers() {
  if (view_.changing()) {
    if (view_.timer_expired(now_us_)) {
      count(Ctr::kViewChangeTimeouts);
      start_view_change(view_.number() + 1);
    }
    return;
  }
  // A deadline of the application passed long ago in local time but agreed time did not reach
  // it: the primary is not proposing the empty batch that would move time. Like an unordered
  // request, with the clock skew allowed on top (the primary's clock may be behind ours).
  if (is_primary()) return;
  const std::optional<TimeUs> deadline = app_.next_deadline_us();
  if (!deadline || *deadline <= agreed_time_us_) return;
  if (now_us_ - std::max(*deadline, view_.entered_us()) <
      config_.request_timeout_us + config_.clock_skew_max_us) {
    return;
  }
  if (lagging()) return;
  count(Ctr::kDeadlineTimeouts);
  start_view_change(view_.number() + 1);
}

// ---- NEW-VIEW ------------------------------------------------------------------------------

void Replica::Impl::try_send_new_view() {
  if (!view_.changing() || !is_primary()) return;
  std::optional<std::vector<ViewChangeMsg>> vcs =
      view_changes_.quorum_for(view_.number(), config_.self, config_.quorum());
  if (!vcs) return;
  NewViewProposals p = new_view_proposals(view_.number(), *vcs);
  NewViewMsg nv;
  nv.view = view_.number();
  nv.view_changes = std::move(*vcs);
  nv.proposals = p.headers;
  for (const BatchHeader& h : nv.proposals) {
    nv.proposal_signatures.push_back(
        signer_.sign(SignDomain::kPrePrepare, pre_prepare_signed_bytes(h)));
  }
  nv.replica = config_.self;
  nv.signature = signer_.sign(SignDomain::kNewView, new_view_signed_bytes(nv));
  auto bytes = std::make_shared<const Bytes>(encode_message(nv));
  send_bytes(std::nullopt, bytes);
  install_new_view(nv, p, std::move(bytes));
}

void Replica::Impl::on_new_view(ReplicaId /*from*/, const NewViewMsg& m) {
  // A NEW-VIEW is self-certifying, so any replica may relay it (catch-up of a lagging replica).
  if (m.view < view_.number() || (m.view == view_.number() && !view_.changing())) {
    count(Ctr::kDropOldView);
    return;
  }
  if (!new_view_well_formed(m, config_)) {
    count(Ctr::kDropInvalid);
    return;
  }
  if (!verify(m.replica, SignDomain::kNewView, new_view_signed_bytes(m), m.signature)) return;
  for (const ViewChangeMsg& vc : m.view_changes) {
    // View-changes this replica verified already need not be verified again.
    if (!view_changes_.known(vc) && !verify_view_change(vc)) {
      count(Ctr::kDropInvalid);
      return;
    }
  }
  NewViewProposals p = new_view_proposals(m.view, m.view_changes);
  if (p.headers != m.proposals) {
    count(Ctr::kDropInvalid);
    return;
  }
  for (std::size_t i = 0; i < m.proposals.size(); ++i) {
    if (!verify(m.replica, SignDomain::kPrePrepare, pre_prepare_signed_bytes(m.proposals[i]),
                m.proposal_signatures[i])) {
      return;
    }
  }
  if (m.view > view_.number()) enter_view(m.view, false);
  install_new_view(m, p, nullptr);
}

void Replica::Impl::install_new_view(const NewViewMsg& nv, const NewViewProposals& p,
                                     SharedBytes encoded) {
  view_.install(
      encoded != nullptr ? std::move(encoded) : std::make_shared<const Bytes>(encode_message(nv)),
      now_us_);
  count(Ctr::kNewViews);
  persist(ViewRecord{view_.number(), false});
  view_changes_.discard_below(view_.number() + 1);

  // The new view starts from the highest stable checkpoint among the view-changes (proven).
  // At once: the new view's proposals start above it (seqs up to it are not proposed again).
  if (p.stable.seq > stable_seq()) adopt_stable(p.stable, false);

  for (std::size_t i = 0; i < nv.proposals.size(); ++i) {
    const BatchHeader& h = nv.proposals[i];
    if (!in_window(h.seq)) continue;
    Slot& s = log_.at(h.seq);
    s.header = h;
    s.header_signature = nv.proposal_signatures[i];
    BatchPtr body = h.null_batch ? nullptr : s.find_body(h.batch_digest);
    PrePrepareMsg record{h, s.header_signature, {}};
    if (body != nullptr) {
      log_.assign(h.seq, *body);
      record.batch = body->requests;
      s.persisted_body = h.batch_digest;
    }
    // Re-proposals need no timestamp or authenticity checks: f+1 correct replicas prepared them
    // in an earlier view. A missing body is fetched when the seq commits.
    persist(PrePreparedRecord{std::move(record)});
    if (!is_primary()) send_prepare(h.seq, s);
    check_prepared(h.seq, s);
  }
  const SeqNum max_s = nv.proposals.empty() ? p.min_s : nv.proposals.back().seq;
  if (is_primary()) next_seq_ = std::max(max_s, stable_seq()) + 1;
  monitor_.view_installed(std::max(max_s, stable_seq()), now_us_);
  pace_wait_until_us_.reset();  // the old view's held pre-prepares are gone
  pool_.restart_timers(now_us_);
  rebuild_ready_queue();
  held_dirty_ = true;
  replay_early_votes();
}

}  // namespace bastion::bft
