// The digest of a checkpoint state, checkable a leaf at a time.
//
// A state's bytes are cut into leaves of kStateLeafBytes (the last one: the rest). Its digest is
// BLAKE2b over a domain tag, the state's size and the BLAKE2b of each leaf in order. A replica
// fetching a proven state from a source it cannot trust checks the leaf digests against the proven
// digest when the first chunk brings them, then each leaf as soon as its bytes are in: a source
// that sends other bytes is found out a leaf later, not after the whole state (docs/protocol.md,
// "Catching up and state transfer"). The leaf size is part of the digest's definition, the same on
// every replica and in every stored checkpoint, so it is a constant, not a setting.
//
// Hashing costs what hashing the bytes once costs; the leaf list is 32 bytes per MiB of state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bft/core/types.h"

namespace bastion::bft {

inline constexpr std::uint64_t kStateLeafBytes = std::uint64_t{1} << 20;

// How many leaves a state of `total_bytes` has.
constexpr std::uint64_t state_leaf_count(std::uint64_t total_bytes) {
  return total_bytes / kStateLeafBytes + (total_bytes % kStateLeafBytes != 0 ? 1 : 0);
}

// The bytes of the leaf digests of a state of `total_bytes`, as the first STATE-CHUNK carries them.
constexpr std::uint64_t state_leaf_digest_bytes(std::uint64_t total_bytes) {
  return state_leaf_count(total_bytes) * sizeof(Digest);
}

// The BLAKE2b of each leaf of the state whose bytes are `pieces` in order (a leaf may span
// pieces).
std::vector<Digest> state_leaves(std::span<const ByteView> pieces);
inline std::vector<Digest> state_leaves(ByteView state) {
  return state_leaves(std::span<const ByteView>(&state, 1));
}

// The digest of a state of `total_bytes` whose leaves hash to `leaves`.
Digest state_root(std::uint64_t total_bytes, std::span<const Digest> leaves);

// The digest of `state`: state_root(state.size(), state_leaves(state)).
Digest state_digest(ByteView state);

}  // namespace bastion::bft
