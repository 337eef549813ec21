// A replica's checkpoints (PBFT section 4.3; docs/protocol.md, "Checkpoints"): the stable one and
// its proof; its own states at checkpoint seqs (the stable one's serves state transfer, newer ones
// wait for their votes); the archive of committed batches in the interval below the stable
// checkpoint, from which a replica up to one interval behind catches up (COMMITTED) rather than
// by state transfer; and the captures of its own states still running (the newest perhaps still
// waiting for the driver to take its image: execution waits with it), with the proof that waits
// for one of them to compare against.
//
// Invariant: the stable checkpoint never moves back (checked). Votes are CheckpointVotes'.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "bft/core/messages.h"
#include "bft/core/slot_log.h"
#include "bft/core/state_capture.h"
#include "bft/core/types.h"

namespace bastion::bft {

// One of the replica's own checkpoint states.
using OwnCheckpoint = CapturedState;

// A committed batch below the stable checkpoint, kept for catch-up.
struct ArchivedBatch {
  BatchHeader header;
  BatchPtr body;  // null for a null batch
};

class Checkpoints {
 public:
  explicit Checkpoints(SeqNum interval) : interval_(interval) {}

  // ---- the stable checkpoint ----
  SeqNum stable_seq() const { return stable_.seq; }
  const CheckpointProofMsg& stable_proof() const { return stable_; }
  // Starts over from `proof`'s checkpoint, whose state is `own` (a fresh start, or a restart
  // from a verified stable state): every other own state and capture is forgotten.
  void reset(const CheckpointProofMsg& proof, OwnCheckpoint own);
  // The stable checkpoint is now `proof`'s, at or above the present one. Call discard() after.
  void advance(const CheckpointProofMsg& proof);
  // The archive's floor: committed batches above it are kept, one interval below stable.
  SeqNum retain_floor() const { return stable_.seq - std::min<SeqNum>(stable_.seq, interval_); }
  // Forgets what the stable checkpoint made useless: own states below it, archived batches at or
  // below the floor, captures of older states and a proof waiting for one.
  void discard();

  // ---- own states ----
  const OwnCheckpoint* own(SeqNum seq) const;
  const OwnCheckpoint* latest_own() const;
  void keep_own(SeqNum seq, OwnCheckpoint own) { own_[seq] = std::move(own); }
  // Adds the pages of every own state to `index`.
  void add_own_pages(PageIndex& index) const;

  // ---- the archive ----
  void archive(SeqNum seq, ArchivedBatch batch) { archive_[seq] = std::move(batch); }
  const ArchivedBatch* archived(SeqNum seq) const;

  // ---- captures of own states ----
  // A capture of the state of `seq` starts, waiting for the driver to take its image; returns
  // its id.
  std::uint64_t begin_capture(SeqNum seq);
  // The capture whose image the driver has not taken yet: the state must not change until then.
  std::optional<CaptureRequest> awaiting_image() const;
  // The driver took the image of capture `id` (a frozen copy that it encodes later).
  void image_taken(std::uint64_t id);
  // Whether the capture `id` is still wanted (then it ends now), and of which seq.
  std::optional<SeqNum> end_capture(std::uint64_t id);
  bool capture_pending(SeqNum seq) const;
  // The state was replaced: the captures running describe another one.
  void drop_captures();
  // `proof` waits for the capture of its seq (the highest such proof is kept).
  void await_capture(const CheckpointProofMsg& proof);
  // The proof that waited for the capture of `seq`, if one did.
  std::optional<CheckpointProofMsg> take_proof_awaiting(SeqNum seq);

  // Own states at or above the stable checkpoint, the archive in (retain_floor(), stable], a proof
  // waiting for a capture above stable, an image awaited only for a running capture; aborts
  // (BASTION_CHECK) otherwise. Holds after discard().
  void check() const;

  std::size_t own_count() const { return own_.size(); }
  std::size_t archive_count() const { return archive_.size(); }
  std::size_t captures_pending() const { return captures_.size(); }

 private:
  SeqNum interval_;
  CheckpointProofMsg stable_;  // seq 0, no signatures: the initial state
  std::map<SeqNum, OwnCheckpoint> own_;
  std::map<SeqNum, ArchivedBatch> archive_;
  std::uint64_t last_capture_id_ = 0;
  std::map<std::uint64_t, SeqNum> captures_;     // by capture id
  std::optional<std::uint64_t> awaiting_image_;  // a capture in captures_
  std::optional<CheckpointProofMsg> proof_awaiting_capture_;
};

}  // namespace bastion::bft
