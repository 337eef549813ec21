#include "bft/core/state_digest.h"

#include <algorithm>
#include <array>

namespace bastion::bft {

std::vector<Digest> state_leaves(std::span<const ByteView> pieces) {
  std::vector<Digest> leaves;
  codec::Blake2b leaf;
  std::uint64_t in_leaf = 0;  // bytes fed to `leaf`
  for (ByteView piece : pieces) {
    while (!piece.empty()) {
      const std::uint64_t n = std::min<std::uint64_t>(piece.size(), kStateLeafBytes - in_leaf);
      leaf.update(piece.first(n));
      piece = piece.subspan(n);
      in_leaf += n;
      if (in_leaf == kStateLeafBytes) {
        leaves.push_back(leaf.finish());
        leaf = codec::Blake2b();
        in_leaf = 0;
      }
    }
  }
  if (in_leaf > 0) leaves.push_back(leaf.finish());
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
