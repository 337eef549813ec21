#include "bft/core/signature_memo.h"

#include <array>
#include <cstdint>
#include <string_view>

#include "codec/digest.h"

namespace bastion::bft {

Digest SignatureMemo::key(ReplicaId signer, SignDomain domain, ByteView message,
                          const Signature& sig) {
  codec::Blake2b h;
  h.update(std::string_view("bastion.verified.v1"));
  const std::array<std::uint8_t, 5> tag = {
      static_cast<std::uint8_t>(signer), static_cast<std::uint8_t>(signer >> 8),
      static_cast<std::uint8_t>(signer >> 16), static_cast<std::uint8_t>(signer >> 24),
      static_cast<std::uint8_t>(domain)};
  h.update(tag);
  h.update(sig);
  h.update(message);
  return h.finish();
}

void SignatureMemo::remember(const Digest& key) {
  if (capacity_ == 0 || !keys_.insert(key).second) return;
  order_.push_back(key);
  if (order_.size() > capacity_) {
    keys_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace bastion::bft
