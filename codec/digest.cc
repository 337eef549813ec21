#include "codec/digest.h"

#include <cstdlib>
#include <stdexcept>

#include "codec/check.h"

namespace bastion::codec {
namespace {

// libsodium must be initialised once before use; sodium_init() is idempotent and thread-safe.
void ensure_sodium() {
  static const bool sodium_ready = sodium_init() >= 0;
  BASTION_CHECK(sodium_ready);
}

}  // namespace

Blake2b::Blake2b() {
  ensure_sodium();
  crypto_generichash_init(&state_, nullptr, 0, 32);
}

Blake2b::Blake2b(std::span<const std::uint8_t> key) {
  ensure_sodium();
  if (key.size() < crypto_generichash_KEYBYTES_MIN ||
      key.size() > crypto_generichash_KEYBYTES_MAX) {
    throw std::invalid_argument("BLAKE2b key must be 16..64 bytes");
  }
  crypto_generichash_init(&state_, key.data(), key.size(), 32);
}

void Blake2b::update(std::span<const std::uint8_t> data) {
  crypto_generichash_update(&state_, data.data(), data.size());
}

void Blake2b::update(std::string_view data) {
  crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}

Digest Blake2b::finish() {
  Digest d{};
  crypto_generichash_final(&state_, d.data(), d.size());
  return d;
}

Digest blake2b(std::span<const std::uint8_t> data) {
  Blake2b h;
  h.update(data);
  return h.finish();
}

Digest blake2b(std::string_view data) {
  Blake2b h;
  h.update(data);
  return h.finish();
}

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace bastion::codec
