// Authenticated encryption of a tuple's protected fields under the key its PVSS secret gives.
//
// The key is BLAKE2b-256 of the secret S (a fresh, uniformly random group element per tuple), so
// every tuple has its own key; the cipher is XChaCha20-Poly1305 with a random 24-byte nonce.
// The associated data binds the ciphertext to what replicas store in clear beside it (the
// fingerprinted tuple and the sharing), so a ciphertext cannot be moved to another tuple.
//
//   sealed = nonce (24) || ciphertext || tag (16)
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "confidentiality/group.h"

namespace bastion::confidentiality {

inline constexpr std::size_t kSealOverhead = 24 + 16;

std::vector<std::uint8_t> seal(const Point& secret, ByteView associated, ByteView plaintext);
// The plaintext, or nothing if `sealed` was not made by seal() with this secret and data.
std::optional<std::vector<std::uint8_t>> unseal(const Point& secret, ByteView associated,
                                                ByteView sealed);

}  // namespace bastion::confidentiality
