// How a replica captures its state at a checkpoint, behind an injected interface.
//
// Every checkpoint_interval seqs the core needs the canonical bytes of its whole state (core part
// and application snapshot) as of that seq, and their BLAKE2b. Encoding and hashing a large state
// takes time proportional to it (about half a second per million small tuples), and the state
// goes on changing as later batches execute. A StateCapture decides where that work runs: on the
// spot (the default when none is given), or on a frozen image of this moment, such as a forked
// copy of the process (server/checkpoint_capture.h), with the result reported later by
// Replica::on_checkpoint_captured(). Until then the replica sends no CHECKPOINT for that seq; the
// others' checkpoints still become stable without it.
//
// Thread-safety: called on the thread that owns the replica, inside one of its event calls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "bft/core/types.h"

namespace bastion::bft {

struct CapturedState {
  Digest digest{};  // BLAKE2b of *state
  SharedBytes state;
};

class StateCapture {
 public:
  virtual ~StateCapture() = default;
  // The replica's state is now that of checkpoint `seq`. `encode` returns its bytes; it reads the
  // replica's memory, so call it now or in a copy of the process made now, never later. Return
  // the result to finish at once, or nullopt and later report Replica::on_checkpoint_captured()
  // or on_checkpoint_capture_failed() with the same `id`.
  virtual std::optional<CapturedState> capture(std::uint64_t id, SeqNum seq,
                                               const std::function<Bytes()>& encode) = 0;
};

}  // namespace bastion::bft
