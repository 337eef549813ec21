#include "bft/core/state_bytes.h"

#include <algorithm>

#include "codec/check.h"

namespace bastion::bft {

StateBytes::StateBytes(SharedBytes whole) { append(std::move(whole)); }

void StateBytes::append(SharedBytes piece) {
  BASTION_CHECK(piece != nullptr);
  if (piece->empty()) return;
  size_ += piece->size();
  ends_.push_back(size_);
  pieces_.push_back(std::move(piece));
}

std::vector<ByteView> StateBytes::views() const {
  std::vector<ByteView> out;
  out.reserve(pieces_.size());
  for (const SharedBytes& p : pieces_) out.emplace_back(*p);
  return out;
}

void StateBytes::copy_to(std::uint64_t offset, std::uint64_t len, Bytes& out) const {
  BASTION_CHECK(offset <= size_ && len <= size_ - offset);
  // The first piece that ends past `offset`.
  auto i = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), offset) -
                                    ends_.begin());
  out.reserve(out.size() + len);
  while (len > 0) {
    const Bytes& piece = *pieces_[i];
    const std::uint64_t start = ends_[i] - piece.size();
    const std::uint64_t from = offset - start;
    const std::uint64_t n = std::min<std::uint64_t>(len, piece.size() - from);
    out.insert(out.end(), piece.begin() + static_cast<std::ptrdiff_t>(from),
               piece.begin() + static_cast<std::ptrdiff_t>(from + n));
    offset += n;
    len -= n;
    ++i;
  }
}

SharedBytes StateBytes::whole() const {
  if (pieces_.size() == 1) return pieces_.front();
  Bytes out;
  copy_to(0, size_, out);
  return std::make_shared<const Bytes>(std::move(out));
}

}  // namespace bastion::bft
