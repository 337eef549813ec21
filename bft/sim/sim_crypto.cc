// Keyed-BLAKE2b fake signatures; see sim_crypto.h.
#include "bft/sim/sim_crypto.h"

#include <sodium.h>

#include <cstring>
#include <string_view>

namespace bastion::bft::sim {

std::vector<SimKey> derive_sim_keys(std::uint64_t seed, std::uint32_t n) {
  std::vector<SimKey> keys(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint8_t in[8 + 4 + 16] = {};
    std::memcpy(in, &seed, 8);
    std::memcpy(in + 8, &i, 4);
    constexpr std::string_view kLabel = "bastion-sim-key";  // 15 bytes, no terminator
    std::memcpy(in + 12, kLabel.data(), kLabel.size());
    crypto_generichash(keys[i].data(), keys[i].size(), in, sizeof in, nullptr, 0);
  }
  return keys;
}

Signature sim_sign(const SimKey& key, SignDomain domain, ByteView message) {
  Signature out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), out.size());
  const auto d = static_cast<std::uint8_t>(domain);
  crypto_generichash_update(&st, &d, 1);
  crypto_generichash_update(&st, message.data(), message.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Signature SimSigner::sign(SignDomain domain, ByteView message) {
  return sim_sign(key_, domain, message);
}

bool SimVerifier::verify(ReplicaId signer, SignDomain domain, ByteView message,
                         const Signature& signature) {
  if (signer >= keys_.size()) return false;
  const Signature expected = sim_sign(keys_[signer], domain, message);
  return sodium_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace bastion::bft::sim
