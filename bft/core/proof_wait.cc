#include "bft/core/proof_wait.h"

namespace bastion::bft {

void ProofWait::wait(const CheckpointProofMsg& proof, SeqNum last_executed, TimeUs now_us) {
  if (!proof_) {
    since_us_ = now_us;
    executed_seq_ = last_executed;
  }
  if (!proof_ || proof_->seq < proof.seq) proof_ = proof;
}

std::optional<CheckpointProofMsg> ProofWait::check(SeqNum stable_seq, SeqNum last_executed,
                                                   TimeUs now_us, bool give_up) {
  if (!proof_) return std::nullopt;
  if (proof_->seq <= stable_seq) {
    proof_.reset();  // stable by its own checkpoint and the others' votes
    return std::nullopt;
  }
  const bool reached = last_executed >= proof_->seq;
  if (last_executed > executed_seq_) {
    // Still executing towards it: the wait lasts while it makes progress.
    executed_seq_ = last_executed;
    since_us_ = now_us;
  }
  if (!reached && now_us - since_us_ < patience_us_ && !give_up) return std::nullopt;
  std::optional<CheckpointProofMsg> proof = std::move(proof_);
  proof_.reset();
  return proof;
}

}  // namespace bastion::bft
