// StateBytes: a checkpoint state's bytes as a sequence of shared, immutable pieces, whose
// concatenation is the state.
//
// A replica captures its state at every checkpoint and keeps the captured states until they are
// stable. Held as one buffer, each capture copied the whole state into new memory (the copy and its
// page faults were most of a checkpoint's cost); as pieces, a capture shares what the state
// machine kept from the previous one (a tuple space's snapshot pages that no change touched) and
// only what changed is new. Pieces never change once made, so another thread may read (hash,
// write) them while the replica goes on.
//
// Thread-safety: a const StateBytes may be read from several threads.
#pragma once

#include <cstdint>
#include <vector>

#include "bft/core/types.h"

namespace bastion::bft {

class StateBytes {
 public:
  StateBytes() = default;
  // One piece (a state read from a file or fetched from a peer). Implicit: a state held whole is
  // a StateBytes of one piece.
  StateBytes(SharedBytes whole);  // NOLINT(google-explicit-constructor)

  // Appends `piece` (never null; an empty one is skipped).
  void append(SharedBytes piece);

  std::uint64_t size() const { return size_; }
  const std::vector<SharedBytes>& pieces() const { return pieces_; }
  // The pieces as views, in order.
  std::vector<ByteView> views() const;

  // Appends the bytes [offset, offset + len) to `out`; the range must lie within size().
  void copy_to(std::uint64_t offset, std::uint64_t len, Bytes& out) const;
  // The state in one buffer: its only piece, or a concatenation of them all.
  SharedBytes whole() const;

 private:
  std::vector<SharedBytes> pieces_;
  std::vector<std::uint64_t> ends_;  // ends_[i]: offset just past pieces_[i]
  std::uint64_t size_ = 0;
};

}  // namespace bastion::bft
