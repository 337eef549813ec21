// How a replica captures its state at a checkpoint: an effect its driver carries out.
//
// Every checkpoint_interval seqs the core needs the canonical bytes of its whole state (core part
// and application snapshot) as of that seq, and their digest (bft/core/state_digest.h). The bytes
// are taken as shared pieces (state_bytes.h; the application's StateMachine::snapshot_pieces()),
// which costs what changed since the previous capture for an application that keeps its encoding
// in pieces. Hashing them costs what changed too when the previous capture is at hand
// (CapturedState::of), but the whole state otherwise (about 0.17 s per 100 MB here), and the
// state goes on changing as later batches execute. So the core does not do it inside
// its event calls: on executing a checkpoint seq it stops executing, and every Output carries a
// CaptureRequest until the driver answers it, in one of two ways:
//   - on the spot: Replica::checkpoint_state() now, hashed, reported with on_checkpoint_captured();
//   - later: Replica::checkpoint_state() now, on_checkpoint_capture_started() now, and
//     on_checkpoint_captured() or on_checkpoint_capture_failed() with the same id when the pieces
//     have been hashed elsewhere (another thread: server/checkpoint_capture.h).
// Execution resumes with either answer, and so does the rest of the event's work (proposals,
// vouches, waiting reads): the capture is part of executing the checkpoint's batch, so drivers
// answer at once. One that answers on the spot carries out what follows as one output with what
// came before (Output::append). Until the state is captured the replica sends no CHECKPOINT for
// that seq; the others' checkpoints still become stable without it.
//
// A restarted replica that re-executes its log in start() captures the checkpoints it passes on
// the spot, itself (nothing else runs then).
//
// Thread-safety: as Replica.
#pragma once

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bft/core/state_bytes.h"
#include "bft/core/state_digest.h"
#include "bft/core/types.h"

namespace bastion::bft {

struct CaptureRequest {
  std::uint64_t id = 0;
  SeqNum seq = 0;
};

// A checkpoint state with its digest, its page list and the leaf digests of that list (the digest
// is state_root(state.size(), page_count(), list_leaves); state_digest.h). A replica's own
// checkpoints are kept so; a source sends the list before the pages and its leaf digests with the
// first chunk.
struct CapturedState {
  Digest digest{};
  SharedBytes page_list = std::make_shared<const Bytes>();  // an entry per piece of `state`
  std::vector<Digest> list_leaves;
  StateBytes state;

  std::uint64_t page_count() const { return page_list->size() / kStatePageEntryBytes; }

  // The state's pages, hashed here, but for those that are pieces of `previous` too (the same
  // shared buffer): their digests are taken from its page list. A piece is immutable and
  // `previous` holds it, so the same address means the same bytes.
  static CapturedState of(StateBytes state, const CapturedState* previous = nullptr);
};

struct DigestHash {
  std::size_t operator()(const Digest& d) const {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof(h));  // a BLAKE2b: any of its bytes are uniform
    return h;
  }
};

// Pages by digest: those a replica holds already, which a state transfer takes instead of
// fetching their bytes (StateFetch).
using PageIndex = std::unordered_map<Digest, SharedBytes, DigestHash>;

// Adds the pages of `state` to `index` (none if its page list is not one entry per piece).
void add_pages(const CapturedState& state, PageIndex& index);

}  // namespace bastion::bft
