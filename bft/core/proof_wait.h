// The wait of a replica that is a little behind a proven stable checkpoint (docs/protocol.md,
// "Catching up and state transfer"): the batches up to the proven seq are likely on the way (its
// own log holds their pre-prepares and the peers' CHECKPOINTs can overtake the commits) or kept
// by the peers, and executing them costs far less than fetching the whole state. The wait lasts
// while execution makes progress and ends `patience_us` after the last progress, when the seq is
// reached, or when the caller gives up; the caller then compares the proof with its own state
// (reached) or fetches the state (not reached).
//
// Thread-safety: none.
#pragma once

#include <optional>

#include "bft/core/messages.h"
#include "bft/core/types.h"

namespace bastion::bft {

class ProofWait {
 public:
  explicit ProofWait(TimeUs patience_us) : patience_us_(patience_us) {}

  bool waiting() const { return proof_.has_value(); }
  // When the wait runs out if execution makes no progress.
  std::optional<TimeUs> deadline_us() const {
    if (!proof_) return std::nullopt;
    return since_us_ + patience_us_;
  }

  // Waits for `proof` (or, waiting already, for the higher of the two proofs; the wait's start
  // stays).
  void wait(const CheckpointProofMsg& proof, SeqNum last_executed, TimeUs now_us);
  void cancel() { proof_.reset(); }
  // After every event: the proof when the wait ends (seq reached, patience run out, or
  // `give_up`); nullopt while it goes on or when the proof's checkpoint became stable anyway.
  std::optional<CheckpointProofMsg> check(SeqNum stable_seq, SeqNum last_executed, TimeUs now_us,
                                          bool give_up);

 private:
  TimeUs patience_us_;
  std::optional<CheckpointProofMsg> proof_;
  TimeUs since_us_ = 0;      // the wait's start, or its last progress
  SeqNum executed_seq_ = 0;  // the last executed seq at that time
};

}  // namespace bastion::bft
