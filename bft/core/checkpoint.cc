// Checkpoints and garbage collection (PBFT section 4.3).
//
// Every checkpoint_interval seqs a replica snapshots its state (core part + application), persists
// it and sends a signed CHECKPOINT. 2f+1 matching ones from distinct replicas prove the checkpoint
// stable: the log at and below it, older checkpoints and their votes are discarded, so memory is
// bounded by the log window whatever the length of the run. Votes are kept only for seqs inside
// the window, one per replica.
#include <algorithm>

#include "bft/core/replica_impl.h"

namespace bastion::bft {

void Replica::Impl::take_checkpoint(SeqNum seq, bool replay) {
  count(Ctr::kCheckpointsTaken);
  const std::uint64_t id = checkpoints_.begin_capture(seq);  // execution waits for the driver
  if (!replay) return;
  StateBytes state = encode_state();
  checkpoints_.end_capture(id);
  finish_checkpoint(seq, CapturedState::of(std::move(state), checkpoints_.latest_own()));
}

StateBytes Replica::Impl::checkpoint_state() const {
  BASTION_CHECK(checkpoints_.awaiting_image().has_value());  // the state of a checkpoint
  return encode_state();
}

void Replica::Impl::on_checkpoint_capture_started(std::uint64_t id, TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  checkpoints_.image_taken(id);
  after_event();  // execution resumes
}

void Replica::Impl::on_checkpoint_captured(std::uint64_t id, const CapturedState& captured,
                                           TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  const std::optional<SeqNum> seq = checkpoints_.end_capture(id);
  if (!seq) return;  // a state since replaced or garbage-collected
  finish_checkpoint(*seq, captured);
  after_event();
}

void Replica::Impl::on_checkpoint_capture_failed(std::uint64_t id, TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  const std::optional<SeqNum> seq = checkpoints_.end_capture(id);
  if (!seq) return;
  count(Ctr::kCheckpointCaptureFailed);
  if (last_executed_ == *seq) {
    // Nothing executed since: the state is still that of `seq`, capture it again. (At the edge
    // of the log window nothing executes until a checkpoint is stable, so without this a few
    // failed captures could stop the cluster.)
    take_checkpoint(*seq, false);
  } else {
    // Its state for `seq` is gone: a proof waiting for it fetches the proven bytes instead.
    adopt_proof_awaiting(*seq);
  }
  after_event();
}

void Replica::Impl::finish_checkpoint(SeqNum seq, const CapturedState& captured) {
  if (seq < stable_seq()) return;  // captured late: a newer checkpoint is stable already
  checkpoints_.keep_own(seq, captured);
  persist(CheckpointRecord{seq, captured.digest, captured.page_list, captured.state});
  if (seq <= stable_seq()) return;  // re-executed after a repair; already stable
  CheckpointMsg c;
  c.seq = seq;
  c.state_digest = captured.digest;
  c.replica = config_.self;
  c.signature = signer_.sign(SignDomain::kCheckpoint, checkpoint_signed_bytes(c));
  checkpoint_votes_.replace(c);
  broadcast(c);
  adopt_proof_awaiting(seq);
  try_stabilize(seq);
}

void Replica::Impl::adopt_proof_awaiting(SeqNum seq) {
  if (std::optional<CheckpointProofMsg> proof = checkpoints_.take_proof_awaiting(seq)) {
    adopt_stable(*proof);
  }
}

void Replica::Impl::on_checkpoint(ReplicaId from, const CheckpointMsg& m) {
  if (m.replica != from) {
    count(Ctr::kDropBadSender);
    return;
  }
  if (m.seq == 0 || m.seq % config_.checkpoint_interval != 0) {
    count(Ctr::kDropInvalid);
    return;
  }
  if (m.seq <= stable_seq()) {
    count(Ctr::kDropDuplicate);
    return;
  }
  if (!in_window(m.seq)) {
    // Far ahead: this replica is behind; STATUS brings it a checkpoint proof.
    count(Ctr::kDropOutOfWindow);
    return;
  }
  if (checkpoint_votes_.has(m.seq, from)) {
    count(Ctr::kDropDuplicate);
    return;
  }
  if (!verify(from, SignDomain::kCheckpoint, checkpoint_signed_bytes(m), m.signature)) return;
  checkpoint_votes_.add(m);
  try_stabilize(m.seq);
}

void Replica::Impl::try_stabilize(SeqNum seq) {
  if (auto proof = checkpoint_votes_.proof(seq, config_.quorum())) adopt_stable(*proof);
}

bool Replica::Impl::verify_checkpoint_proof(const CheckpointProofMsg& p) {
  if (!checkpoint_proof_well_formed(p, config_)) return false;
  for (const CheckpointMsg& c : p.checkpoints) {
    if (!verify_remembered(c.replica, SignDomain::kCheckpoint, checkpoint_signed_bytes(c),
                           c.signature)) {
      return false;
    }
  }
  return true;
}

void Replica::Impl::adopt_stable(const CheckpointProofMsg& proof, bool wait_for_log) {
  if (proof.seq <= stable_seq()) return;
  if (last_executed_ < proof.seq && !state_fetch_) {
    try_execute();  // the log may hold everything up to it; reaching it stabilizes it
    if (proof.seq <= stable_seq()) return;
  }
  if (last_executed_ < proof.seq) {
    // Within one interval of the proven seq, the batches up to it are on the way (its own log)
    // or kept by the peers (their archive): executing them costs less than the whole state.
    if (wait_for_log && !state_fetch_ &&
        (log_reaches(proof.seq) || last_executed_ + config_.checkpoint_interval >= proof.seq)) {
      await_log(proof);
      return;
    }
    proof_wait_.cancel();
    begin_state_transfer(proof, FetchPurpose::kCatchUp);
    return;
  }
  const OwnCheckpoint* own = checkpoints_.own(proof.seq);
  if (own == nullptr && checkpoints_.capture_pending(proof.seq)) {
    // Its own state for that seq is still being encoded: compare when it is.
    checkpoints_.await_capture(proof);
    return;
  }
  if (own == nullptr) {
    // It executed past `seq` but its capture of that state failed: fetch the proven bytes to
    // keep as its stable state, without installing them.
    begin_state_transfer(proof, FetchPurpose::kKeep);
    return;
  }
  if (own->digest != proof.state_digest) {
    // 2f+1 replicas (f+1 correct) proved a state this replica did not compute: its execution
    // diverged (an application bug, or corruption). Repair by installing the proven state.
    count(Ctr::kCheckpointsDivergent);
    begin_state_transfer(proof, FetchPurpose::kRepair);
    return;
  }
  if (state_fetch_ && state_fetch_->proof().seq < proof.seq) state_fetch_.reset();  // superseded
  BASTION_CHECK(proof.seq > stable_seq());  // a stable checkpoint never moves back
  checkpoints_.advance(proof);
  persist(StableRecord{proof});
  out_.stable_checkpoint = stable_seq();
  count(Ctr::kCheckpointsStable);
  garbage_collect();
}

void Replica::Impl::await_log(const CheckpointProofMsg& proof) {
  proof_wait_.wait(proof, last_executed_, now_us_);
  ask_for_more_ = true;  // a STATUS now brings the peers' batches
}

bool Replica::Impl::log_reaches(SeqNum seq) const {
  if (view_.changing() || !in_window(seq)) return false;
  for (SeqNum s = last_executed_ + 1; s <= seq; ++s) {
    const Slot* slot = log_.find(s);
    if (slot == nullptr || !slot->header || slot->header->view != view_.number()) return false;
  }
  return true;
}

void Replica::Impl::check_proof_awaiting_log() {
  std::optional<CheckpointProofMsg> proof =
      proof_wait_.check(stable_seq(), last_executed_, now_us_, view_.changing());
  if (proof) adopt_stable(*proof, false);  // reached: compare with its own state; not: fetch it
}

void Replica::Impl::garbage_collect() {
  const SeqNum floor = checkpoints_.retain_floor();
  for (auto it = log_.begin(); it != log_.end() && it->first <= stable_seq(); ++it) {
    const Slot& s = it->second;
    if (it->first <= floor || !s.committed) continue;
    BatchPtr body = s.committed->null_batch ? nullptr : s.find_body(s.committed->batch_digest);
    if (!s.committed->null_batch && body == nullptr) continue;  // cannot serve it
    checkpoints_.archive(it->first, ArchivedBatch{*s.committed, std::move(body)});
  }
  checkpoints_.discard();
  log_.discard_through(stable_seq());
  checkpoint_votes_.discard_through(stable_seq());
  batch_fetches_.discard_through(stable_seq());
  if (next_seq_ <= stable_seq()) next_seq_ = stable_seq() + 1;
}

}  // namespace bastion::bft
