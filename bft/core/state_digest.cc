#include "bft/core/state_digest.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "codec/check.h"

namespace bastion::bft {
namespace {

void put_u64(std::uint8_t* out, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

void append_page_entry(Bytes& list, std::uint64_t len, const Digest& digest) {
  const std::size_t at = list.size();
  list.resize(at + kStatePageEntryBytes);
  put_u64(list.data() + at, len);
  std::copy(digest.begin(), digest.end(), list.begin() + static_cast<std::ptrdiff_t>(at + 8));
}

PageEntry page_entry(ByteView list, std::uint64_t i) {
  BASTION_CHECK(i < list.size() / kStatePageEntryBytes);
  const ByteView e = list.subspan(i * kStatePageEntryBytes, kStatePageEntryBytes);
  PageEntry out;
  for (std::size_t k = 0; k < 8; ++k) out.len |= std::uint64_t{e[k]} << (8 * k);
  std::copy(e.begin() + 8, e.end(), out.digest.begin());
  return out;
}

std::vector<Digest> state_leaves(ByteView bytes) {
  std::vector<Digest> leaves;
  leaves.reserve(state_leaf_count(bytes.size()));
  for (std::uint64_t at = 0; at < bytes.size(); at += kStateLeafBytes) {
    leaves.push_back(
        codec::blake2b(bytes.subspan(at, std::min(kStateLeafBytes, bytes.size() - at))));
  }
  return leaves;
}

Digest state_root(std::uint64_t total_bytes, std::uint64_t page_count,
                  std::span<const Digest> list_leaves) {
  static constexpr std::string_view kDomain = "bastion.state.v2";
  codec::Blake2b h;
  h.update(kDomain);
  std::array<std::uint8_t, 16> sizes{};
  put_u64(sizes.data(), total_bytes);
  put_u64(sizes.data() + 8, page_count);
  h.update(sizes);
  for (const Digest& leaf : list_leaves) h.update(leaf);
  return h.finish();
}

Bytes state_page_list(std::span<const ByteView> pages) {
  Bytes list;
  list.reserve(pages.size() * kStatePageEntryBytes);
  for (ByteView page : pages) append_page_entry(list, page.size(), codec::blake2b(page));
  return list;
}

Digest state_digest(std::span<const ByteView> pages) {
  std::uint64_t total = 0;
  for (ByteView page : pages) total += page.size();
  return state_root(total, pages.size(), state_leaves(state_page_list(pages)));
}

Digest state_digest(ByteView state) {
  if (state.empty()) return state_digest(std::span<const ByteView>());
  return state_digest(std::span<const ByteView>(&state, 1));
}

}  // namespace bastion::bft
