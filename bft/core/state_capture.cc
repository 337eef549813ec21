#include "bft/core/state_capture.h"

#include <unordered_map>

#include "codec/digest.h"

namespace bastion::bft {

CapturedState CapturedState::of(StateBytes state, const CapturedState* previous) {
  // The digests of the previous capture's pieces, from its page list.
  std::unordered_map<const Bytes*, Digest> known;
  if (previous != nullptr) {
    const std::vector<SharedBytes>& pieces = previous->state.pieces();
    known.reserve(pieces.size());
    for (std::uint64_t i = 0; i < pieces.size(); ++i) {
      known.emplace(pieces[i].get(), page_entry(*previous->page_list, i).digest);
    }
  }
  Bytes list;
  list.reserve(state.pieces().size() * kStatePageEntryBytes);
  for (const SharedBytes& piece : state.pieces()) {
    const auto it = known.find(piece.get());
    const Digest digest = it != known.end() ? it->second : codec::blake2b(*piece);
    append_page_entry(list, piece->size(), digest);
  }
  std::vector<Digest> leaves = state_leaves(list);
  const Digest digest = state_root(state.size(), state.pieces().size(), leaves);
  return CapturedState{digest, std::make_shared<const Bytes>(std::move(list)), std::move(leaves),
                       std::move(state)};
}

std::optional<CapturedState> CapturedState::from_stream(ByteView stream,
                                                        std::uint64_t total_bytes) {
  if (stream.size() < total_bytes) return std::nullopt;
  const std::uint64_t list_bytes = stream.size() - total_bytes;
  if (list_bytes % kStatePageEntryBytes != 0) return std::nullopt;
  const ByteView list = stream.first(list_bytes);
  StateBytes state;
  std::uint64_t at = list_bytes;
  for (std::uint64_t i = 0; i < list_bytes / kStatePageEntryBytes; ++i) {
    const PageEntry entry = page_entry(list, i);
    if (entry.len == 0 || entry.len > stream.size() - at) return std::nullopt;
    const ByteView page = stream.subspan(at, entry.len);
    if (codec::blake2b(page) != entry.digest) return std::nullopt;
    state.append(std::make_shared<const Bytes>(page.begin(), page.end()));
    at += entry.len;
  }
  if (at != stream.size()) return std::nullopt;
  std::vector<Digest> leaves = state_leaves(list);
  const Digest digest = state_root(total_bytes, list_bytes / kStatePageEntryBytes, leaves);
  return CapturedState{digest, std::make_shared<const Bytes>(list.begin(), list.end()),
                       std::move(leaves), std::move(state)};
}

}  // namespace bastion::bft
