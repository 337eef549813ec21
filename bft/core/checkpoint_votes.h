// The CHECKPOINT votes a replica holds for seqs above its stable checkpoint (PBFT section 4.3),
// and what makes a checkpoint proof well formed.
//
// Stores and counts only: which votes to accept (signature, window, interval) and what to do with
// a proof are the replica's (checkpoint.cc). Bounds: one vote per replica per seq, its first; the
// replica keeps seqs inside its log window and discards the rest when a checkpoint becomes stable.
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/messages.h"

namespace bastion::bft {

class CheckpointVotes {
 public:
  bool has(SeqNum seq, ReplicaId replica) const;
  // Keeps `vote` unless its replica already voted for its seq.
  void add(const CheckpointMsg& vote);
  // Keeps `vote` in place of any earlier one by its replica for its seq: the replica's own vote,
  // computed again (after a capture failed, or after a repair re-executed the seqs).
  void replace(const CheckpointMsg& vote);
  // A proof made of `quorum` votes for `seq` that agree on the state digest, if there are that
  // many; among several digests with a quorum (impossible with at most f faulty replicas), the
  // lowest.
  std::optional<CheckpointProofMsg> proof(SeqNum seq, std::size_t quorum) const;
  // `replica`'s votes, lowest seq first.
  std::vector<CheckpointMsg> votes_of(ReplicaId replica) const;
  // Forgets the votes for every seq up to `seq`.
  void discard_through(SeqNum seq);
  std::size_t size() const;  // votes held

 private:
  std::map<SeqNum, std::map<ReplicaId, CheckpointMsg>> votes_;
};

// The checks of a checkpoint proof that need no signature: the initial state (seq 0) with no
// votes, or a checkpoint seq with 2f+1 to n votes by distinct replicas for its seq and digest.
// The caller then verifies each vote's signature.
bool checkpoint_proof_well_formed(const CheckpointProofMsg& proof, const Config& config);

}  // namespace bastion::bft
