#include "bft/core/checkpoint_votes.h"

#include <set>

namespace bastion::bft {

bool CheckpointVotes::has(SeqNum seq, ReplicaId replica) const {
  auto it = votes_.find(seq);
  return it != votes_.end() && it->second.contains(replica);
}

void CheckpointVotes::add(const CheckpointMsg& vote) {
  votes_[vote.seq].emplace(vote.replica, vote);
}

void CheckpointVotes::replace(const CheckpointMsg& vote) { votes_[vote.seq][vote.replica] = vote; }

std::optional<CheckpointProofMsg> CheckpointVotes::proof(SeqNum seq, std::size_t quorum) const {
  auto it = votes_.find(seq);
  if (it == votes_.end()) return std::nullopt;
  std::map<Digest, std::vector<const CheckpointMsg*>> by_digest;
  for (const auto& [replica, vote] : it->second) by_digest[vote.state_digest].push_back(&vote);
  for (const auto& [digest, agreeing] : by_digest) {
    if (agreeing.size() < quorum) continue;
    CheckpointProofMsg p;
    p.seq = seq;
    p.state_digest = digest;
    for (std::size_t i = 0; i < quorum; ++i) p.checkpoints.push_back(*agreeing[i]);
    return p;
  }
  return std::nullopt;
}

std::vector<CheckpointMsg> CheckpointVotes::votes_of(ReplicaId replica) const {
  std::vector<CheckpointMsg> out;
  for (const auto& [seq, by_replica] : votes_) {
    auto it = by_replica.find(replica);
    if (it != by_replica.end()) out.push_back(it->second);
  }
  return out;
}

void CheckpointVotes::discard_through(SeqNum seq) {
  votes_.erase(votes_.begin(), votes_.upper_bound(seq));
}

std::size_t CheckpointVotes::size() const {
  std::size_t n = 0;
  for (const auto& [seq, by_replica] : votes_) n += by_replica.size();
  return n;
}

bool checkpoint_proof_well_formed(const CheckpointProofMsg& proof, const Config& config) {
  if (proof.seq == 0) return proof.checkpoints.empty();
  if (proof.seq % config.checkpoint_interval != 0) return false;
  if (proof.checkpoints.size() < config.quorum() || proof.checkpoints.size() > config.n) {
    return false;
  }
  std::set<ReplicaId> signers;
  for (const CheckpointMsg& c : proof.checkpoints) {
    if (c.seq != proof.seq || c.state_digest != proof.state_digest || c.replica >= config.n ||
        !signers.insert(c.replica).second) {
      return false;
    }
  }
  return true;
}

}  // namespace bastion::bft
