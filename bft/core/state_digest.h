// The digest of a checkpoint state: a root over its pages, checkable a page at a time.
//
// A state is a sequence of pages (the pieces of its StateBytes: the core part, the application's
// header, the tuple space's snapshot pages; never empty). Its page list holds, per page in order,
// an entry of kStatePageEntryBytes: the page's length (8 bytes, little-endian) and its BLAKE2b.
// The list is cut into leaves of kStateLeafBytes (the last one: the rest), and the state's digest
// is BLAKE2b over a domain tag, the state's size, its page count and the BLAKE2b of each leaf of
// the list in order. Framing each page by its length makes the list an injective encoding of the
// pages, so a root names exactly one sequence of pages (docs/protocol.md, "Checkpoints").
//
// What this buys: a page that no change touched keeps its digest, so a capture hashes the pages
// that changed and the list (40 bytes per page), not the whole state (CapturedState::of with the
// previous capture). A replica fetching a proven state from a source it cannot trust receives the
// list first, checks each of its leaves against the leaf digests that the first chunk brings
// (themselves checked against the proven digest), then each page as soon as its bytes are in: a
// source that sends other bytes is found out a page later, not after the whole state. The leaf
// size and the entry layout are part of the digest's definition, the same on every replica and
// in every stored checkpoint, so they are constants, not settings.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "bft/core/types.h"

namespace bastion::bft {

inline constexpr std::uint64_t kStateLeafBytes = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kStatePageEntryBytes = 8 + sizeof(Digest);

// How many leaves a byte string of `bytes` has.
constexpr std::uint64_t state_leaf_count(std::uint64_t bytes) {
  return bytes / kStateLeafBytes + (bytes % kStateLeafBytes != 0 ? 1 : 0);
}

// The largest size of the leaf digests that the first STATE-CHUNK of a state of at most
// `total_bytes_max` carries: pages are never empty, so such a state has at most one page per byte.
constexpr std::uint64_t state_first_chunk_digest_bytes(std::uint64_t total_bytes_max) {
  constexpr std::uint64_t kLimit = std::numeric_limits<std::uint64_t>::max() / kStatePageEntryBytes;
  const std::uint64_t list_bytes = total_bytes_max > kLimit
                                       ? kLimit * kStatePageEntryBytes
                                       : total_bytes_max * kStatePageEntryBytes;
  return state_leaf_count(list_bytes) * sizeof(Digest);
}

// Appends the list entry of a page of `len` bytes that hashes to `digest`.
void append_page_entry(Bytes& list, std::uint64_t len, const Digest& digest);
// Entry `i` of a page list: the page's length and digest.
struct PageEntry {
  std::uint64_t len = 0;
  Digest digest{};
};
PageEntry page_entry(ByteView list, std::uint64_t i);

// The BLAKE2b of each leaf of `bytes`.
std::vector<Digest> state_leaves(ByteView bytes);

// The digest of a state of `total_bytes` in `page_count` pages whose page list has the leaves
// `list_leaves`.
Digest state_root(std::uint64_t total_bytes, std::uint64_t page_count,
                  std::span<const Digest> list_leaves);

// The digest of a state held as the pages `pages` (each non-empty), and its page list.
Bytes state_page_list(std::span<const ByteView> pages);
Digest state_digest(std::span<const ByteView> pages);
// The digest of a state of one page (or none, if `state` is empty).
Digest state_digest(ByteView state);

}  // namespace bastion::bft
