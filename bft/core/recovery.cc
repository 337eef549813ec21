// Starting a replica: a fresh one, or one restarted from its persisted records.
//
// A restart restores the stable checkpoint's state (verified against the proven digest),
// re-executes the committed batches above it (reported with Executed::replayed, no replies: the
// clients retransmit and get the cached results), restores the votes it had sent in its view (so
// it never sends a different one) and resumes its view, or its view change. A stable state that
// does not verify is not trusted: the replica starts from the initial state and fetches the
// proven one by state transfer.
#include <algorithm>

#include "bft/core/replica_impl.h"
#include "codec/codec.h"

namespace bastion::bft {

void Replica::Impl::start(TimeUs now_us, const PersistedState* recovered) {
  now_us_ = now_us;
  started_ = true;
  view_.restore(0, false, now_us);
  next_retransmit_us_ = now_us;  // announce ourselves (STATUS) at the first tick
  // Agreed time starts out paced by this replica's own clock: a faulty first primary (or the
  // first after this replica restarts) cannot jump by the whole skew.
  time_pace_.note(now_us, now_us);
  if (recovered == nullptr) {
    init_fresh_state();
    // Durable before anything is sent: a later restart always finds records, so it knows it
    // may have voted (see persist.h).
    persist(ViewRecord{0, false});
  } else {
    recover(*recovered);
  }
  after_event();
}

void Replica::Impl::init_fresh_state() {
  last_executed_ = 0;
  agreed_time_us_ = 0;
  table_ = ClientTable(config_);
  // seq 0, no signatures: the initial state
  checkpoints_.reset(CheckpointProofMsg{}, CapturedState::of(encode_state()));
}

void Replica::Impl::recover(const PersistedState& rec) {
  init_fresh_state();
  view_.restore(rec.view.view, rec.view.view_changing, now_us_);
  // Votes of the view it was in may have left before their records were durable: none in it any
  // more but those recorded (see persist.h). While changing view it has sent nothing in the new
  // one yet; after a clean stop everything it sent is recorded.
  if (!view_.changing() && !rec.clean_stop) abstain_view_ = view_.number();

  std::optional<CheckpointProofMsg> unverified_stable;
  if (rec.stable) {
    const CheckpointProofMsg& proof = rec.stable->proof;
    std::optional<CapturedState> stored;
    if (rec.stable_state && rec.stable_state->seq == proof.seq &&
        rec.stable_state->state_digest == proof.state_digest) {
      stored = CapturedState::of(rec.stable_state->state);
    }
    if (stored && stored->digest == proof.state_digest &&
        install_state(*stored->state.whole(), proof.seq)) {
      checkpoints_.reset(proof, std::move(*stored));
    } else {
      count(Ctr::kRecoveryBadState);
      unverified_stable = proof;
    }
  }
  const bool in_view = !view_.changing();

  for (const PrePreparedRecord& r : rec.pre_prepared) {
    const BatchHeader& h = r.pre_prepare.header;
    if (!in_window(h.seq)) continue;
    Slot& s = log_.at(h.seq);
    BatchPtr body;
    if (!h.null_batch) {
      body = make_batch(r.pre_prepare.batch);
      if (body->digest == h.batch_digest) {
        s.store_body(body);
        s.persisted_body = h.batch_digest;
      } else {
        body = nullptr;  // a re-proposal accepted without its body
      }
    }
    if (!in_view || h.view != view_.number()) continue;
    s.header = h;
    s.header_signature = r.pre_prepare.signature;
    if (body != nullptr) log_.assign(h.seq, *body);
    if (is_primary()) {
      next_seq_ = std::max(next_seq_, h.seq + 1);
    } else {
      // The same vote as before the crash (signatures are deterministic or equally valid).
      PrepareMsg p{view_.number(), h.seq, h.batch_digest, config_.self, {}, h.timestamp_us};
      p.signature = signer_.sign(SignDomain::kPrepare, prepare_signed_bytes(p));
      s.prepares[config_.self] = p;
      s.prepares_verified |= std::uint64_t{1} << config_.self;
    }
  }
  for (const PreparedRecord& r : rec.prepared) {
    const BatchHeader& h = r.cert.header;
    if (!in_window(h.seq)) continue;
    Slot& s = log_.at(h.seq);
    if (!s.cert || s.cert->header.view <= h.view) s.cert = r.cert;
    if (in_view && h.view == view_.number() && s.header && *s.header == h) {
      s.prepared = true;
      for (const PrepareMsg& p : r.cert.prepares) {
        s.prepares.emplace(p.replica, p);
        s.prepares_verified |= std::uint64_t{1} << p.replica;  // checked before it was recorded
      }
      s.commits[config_.self] =
          CommitMsg{view_.number(), h.seq, h.batch_digest, config_.self, h.timestamp_us};
    }
  }
  for (const CommittedRecord& r : rec.committed) {
    const BatchHeader& h = r.header;
    if (!in_window(h.seq)) continue;
    Slot& s = log_.at(h.seq);
    s.committed = h;
    if (r.batch && !h.null_batch && s.find_body(h.batch_digest) == nullptr) {
      BatchPtr body = make_batch(*r.batch);
      if (body->digest == h.batch_digest) {
        s.store_body(std::move(body));
        s.persisted_body = h.batch_digest;
      }
    }
  }

  // Re-execute what committed above the stable checkpoint, while contiguous.
  while (true) {
    const SeqNum next = last_executed_ + 1;
    Slot* s = log_.find(next);
    if (s == nullptr || !s->committed) break;
    if (!s->committed->null_batch && s->find_body(s->committed->batch_digest) == nullptr) break;
    execute_slot(next, *s, true);
  }
  if (unverified_stable) adopt_stable(*unverified_stable);

  if (is_primary() && in_view) next_seq_ = std::max(next_seq_, last_executed_ + 1);
  if (view_.changing()) {
    ViewChangeMsg vc = build_view_change();
    broadcast(vc);
    view_changes_.store(std::move(vc));
  }
}

}  // namespace bastion::bft
