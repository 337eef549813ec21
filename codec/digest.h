// BLAKE2b-256 digests (libsodium's crypto_generichash), one-shot and incremental.
//
// A Digest is the value replicas compare to agree on states, batches and requests, so it is a
// plain 32-byte array with value semantics and a total order.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <sodium.h>

namespace bastion::codec {

using Digest = std::array<std::uint8_t, 32>;

// Incremental BLAKE2b-256, optionally keyed (a MAC when keyed).
class Blake2b {
 public:
  Blake2b();
  explicit Blake2b(std::span<const std::uint8_t> key);
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  Digest finish();

 private:
  crypto_generichash_state state_;
};

Digest blake2b(std::span<const std::uint8_t> data);
Digest blake2b(std::string_view data);

// Lowercase hex, for logs and status output.
std::string to_hex(std::span<const std::uint8_t> data);

}  // namespace bastion::codec
