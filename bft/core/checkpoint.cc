// Checkpoints and garbage collection (PBFT section 4.3).
//
// Every checkpoint_interval seqs a replica snapshots its state (core part + application), persists
// it and sends a signed CHECKPOINT. 2f+1 matching ones from distinct replicas prove the checkpoint
// stable: the log at and below it, older checkpoints and their votes are discarded, so memory is
// bounded by the log window whatever the length of the run. Votes are kept only for seqs inside
// the window, one per replica.
#include <algorithm>
#include <set>

#include "bft/core/replica_impl.h"

namespace bastion::bft {

void Replica::Impl::take_checkpoint(SeqNum seq) {
  Bytes state = encode_state();
  const Digest digest = codec::blake2b(state);
  auto shared = std::make_shared<const Bytes>(std::move(state));
  own_checkpoints_[seq] = OwnCheckpoint{digest, shared};
  persist(CheckpointRecord{seq, digest, *shared});
  count(Ctr::kCheckpointsTaken);
  if (seq <= stable_seq_) return;  // re-executed after a repair; already stable
  CheckpointMsg c;
  c.seq = seq;
  c.state_digest = digest;
  c.replica = config_.self;
  c.signature = signer_.sign(SignDomain::kCheckpoint, checkpoint_signed_bytes(c));
  checkpoint_votes_[seq][config_.self] = c;
  broadcast(c);
  try_stabilize(seq);
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
  if (m.seq <= stable_seq_) {
    count(Ctr::kDropDuplicate);
    return;
  }
  if (!in_window(m.seq)) {
    // Far ahead: this replica is behind; STATUS brings it a checkpoint proof.
    count(Ctr::kDropOutOfWindow);
    return;
  }
  auto& votes = checkpoint_votes_[m.seq];
  if (votes.contains(from)) {
    count(Ctr::kDropDuplicate);
    return;
  }
  if (!verify(from, SignDomain::kCheckpoint, checkpoint_signed_bytes(m), m.signature)) {
    if (votes.empty()) checkpoint_votes_.erase(m.seq);
    return;
  }
  votes.emplace(from, m);
  try_stabilize(m.seq);
}

void Replica::Impl::try_stabilize(SeqNum seq) {
  auto it = checkpoint_votes_.find(seq);
  if (it == checkpoint_votes_.end()) return;
  std::map<Digest, std::vector<const CheckpointMsg*>> by_digest;
  for (const auto& [r, c] : it->second) by_digest[c.state_digest].push_back(&c);
  for (const auto& [digest, votes] : by_digest) {
    if (votes.size() < config_.quorum()) continue;
    CheckpointProofMsg proof;
    proof.seq = seq;
    proof.state_digest = digest;
    for (std::size_t i = 0; i < config_.quorum(); ++i) proof.checkpoints.push_back(*votes[i]);
    adopt_stable(proof);
    return;
  }
}

bool Replica::Impl::verify_checkpoint_proof(const CheckpointProofMsg& p) {
  if (p.seq == 0) return p.checkpoints.empty();  // the initial state needs no proof
  if (p.seq % config_.checkpoint_interval != 0) return false;
  if (p.checkpoints.size() < config_.quorum() || p.checkpoints.size() > config_.n) return false;
  std::set<ReplicaId> signers;
  for (const CheckpointMsg& c : p.checkpoints) {
    if (c.seq != p.seq || c.state_digest != p.state_digest || c.replica >= config_.n ||
        !signers.insert(c.replica).second) {
      return false;
    }
    if (!verify(c.replica, SignDomain::kCheckpoint, checkpoint_signed_bytes(c), c.signature)) {
      return false;
    }
  }
  return true;
}

void Replica::Impl::adopt_stable(const CheckpointProofMsg& proof) {
  if (proof.seq <= stable_seq_) return;
  if (last_executed_ < proof.seq && !state_fetch_) {
    try_execute();  // the log may hold everything up to it; reaching it stabilizes it
    if (proof.seq <= stable_seq_) return;
  }
  if (last_executed_ < proof.seq) {
    begin_state_transfer(proof);
    return;
  }
  auto own = own_checkpoints_.find(proof.seq);
  if (own == own_checkpoints_.end() || own->second.digest != proof.state_digest) {
    // 2f+1 replicas (f+1 correct) proved a state this replica did not compute: its execution
    // diverged (an application bug, or corruption). Repair by installing the proven state.
    count(Ctr::kCheckpointsDivergent);
    begin_state_transfer(proof);
    return;
  }
  stable_seq_ = proof.seq;
  stable_proof_ = proof;
  persist(StableRecord{proof});
  out_.stable_checkpoint = stable_seq_;
  count(Ctr::kCheckpointsStable);
  garbage_collect();
}

void Replica::Impl::garbage_collect() {
  log_.erase(log_.begin(), log_.upper_bound(stable_seq_));
  checkpoint_votes_.erase(checkpoint_votes_.begin(), checkpoint_votes_.upper_bound(stable_seq_));
  // Keep the stable checkpoint's state (it serves state transfer) and newer own ones.
  own_checkpoints_.erase(own_checkpoints_.begin(), own_checkpoints_.lower_bound(stable_seq_));
  held_seqs_.erase(held_seqs_.begin(), held_seqs_.upper_bound(stable_seq_));
  batch_fetches_.erase(batch_fetches_.begin(), batch_fetches_.upper_bound(stable_seq_));
  std::erase_if(assigned_, [this](const auto& a) { return a.second <= stable_seq_; });
  if (next_seq_ <= stable_seq_) next_seq_ = stable_seq_ + 1;
}

}  // namespace bastion::bft
