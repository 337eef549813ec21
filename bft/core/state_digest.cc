#include "bft/core/state_digest.h"

#include <algorithm>
#include <array>

namespace bastion::bft {

std::vector<Digest> state_leaves(ByteView state) {
  std::vector<Digest> leaves;
  leaves.reserve(state_leaf_count(state.size()));
  for (std::uint64_t at = 0; at < state.size(); at += kStateLeafBytes) {
    leaves.push_back(
        codec::blake2b(state.subspan(at, std::min(kStateLeafBytes, state.size() - at))));
  }
  return leaves;
}

Digest state_root(std::uint64_t total_bytes, std::span<const Digest> leaves) {
  static constexpr std::string_view kDomain = "bastion.state.v1";
  codec::Blake2b h;
  h.update(kDomain);
  std::array<std::uint8_t, 8> size{};
  for (std::size_t i = 0; i < size.size(); ++i)
    size[i] = static_cast<std::uint8_t>(total_bytes >> (8 * i));
  h.update(size);
  for (const Digest& leaf : leaves) h.update(leaf);
  return h.finish();
}

Digest state_digest(ByteView state) { return state_root(state.size(), state_leaves(state)); }

}  // namespace bastion::bft
