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

void add_pages(const CapturedState& state, PageIndex& index) {
  const std::vector<SharedBytes>& pieces = state.state.pieces();
  if (state.page_list->size() != pieces.size() * kStatePageEntryBytes) return;  // no list
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    index.emplace(page_entry(*state.page_list, i).digest, pieces[i]);
  }
}

}  // namespace bastion::bft
