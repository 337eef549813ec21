#include "confidentiality/seal.h"

#include <array>

namespace bastion::confidentiality {
namespace {

using Key = std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kNonce + kTag == kSealOverhead);

struct TupleKey {
  explicit TupleKey(const Point& secret) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, key.size());
    static constexpr std::string_view kDomain = "bastion.tuple-key.v1";
    crypto_generichash_update(&st, reinterpret_cast<const std::uint8_t*>(kDomain.data()),
                              kDomain.size());
    crypto_generichash_update(&st, secret.bytes().data(), secret.bytes().size());
    crypto_generichash_final(&st, key.data(), key.size());
  }
  ~TupleKey() { sodium_memzero(key.data(), key.size()); }
  TupleKey(const TupleKey&) = delete;
  TupleKey& operator=(const TupleKey&) = delete;
  Key key{};
};

}  // namespace

std::vector<std::uint8_t> seal(const Point& secret, ByteView associated, ByteView plaintext) {
  const TupleKey k(secret);
  std::vector<std::uint8_t> out(kNonce + plaintext.size() + kTag);
  randombytes_buf(out.data(), kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonce, &written, plaintext.data(),
                                             plaintext.size(), associated.data(), associated.size(),
                                             nullptr, out.data(), k.key.data());
  out.resize(kNonce + written);
  return out;
}

std::optional<std::vector<std::uint8_t>> unseal(const Point& secret, ByteView associated,
                                                ByteView sealed) {
  if (sealed.size() < kSealOverhead) return std::nullopt;
  const TupleKey k(secret);
  std::vector<std::uint8_t> out(sealed.size() - kSealOverhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
          associated.data(), associated.size(), sealed.data(), k.key.data()) != 0) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

}  // namespace bastion::confidentiality
