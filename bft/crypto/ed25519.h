// Ed25519 signing and verification keys with explicit domain separation.
//
// A replica has one identity: the Ed25519 key pair of its TLS certificate also signs protocol
// messages (per batch, not per request). To keep those two uses, and every message kind, apart,
// a signature never covers a bare message: the signed bytes are
//
//     "BASTION-SIG\x01" || u8(len(domain)) || domain || message
//
// The tag starts with 'B' (0x42), while TLS 1.3 CertificateVerify input starts with 64 bytes of
// 0x20, so no Bastion signature is a valid TLS handshake signature or the reverse; the length byte
// makes the tag prefix-free, so a signature made for one domain never verifies in another.
// Domains are compile-time constants (SignatureDomain checks them at compile time).
//
// Invariants: a SigningKey always holds a valid key pair (seed || public key, as libsodium lays it
// out); its secret bytes are zeroed (sodium_memzero) on destruction and when moved from. A
// VerifyKey always holds a point that is on the curve and not of small order.
//
// Thread-safety: keys are immutable after construction; const methods may be called from any
// number of threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/result.h"

namespace bastion::crypto {

using ByteView = std::span<const std::uint8_t>;
using PublicKeyBytes = std::array<std::uint8_t, 32>;
using Seed = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

enum class KeyErrorCode : std::uint8_t {
  kIo = 1,          // the file could not be read
  kFormat = 2,      // not a PEM key / certificate
  kNotEd25519 = 3,  // a key of another algorithm
  kInvalidKey = 4,  // bytes that are not a usable Ed25519 key
};

struct KeyError {
  KeyErrorCode code;
  std::string message;
};

// A signature domain: 1..48 characters of [a-z0-9._-], checked when the constant is built, e.g.
//   constexpr SignatureDomain kPrePrepare{"bft.pre-prepare.v1"};
class SignatureDomain {
 public:
  consteval SignatureDomain(const char* name) : name_(name) {  // NOLINT: implicit from literals
    std::size_t n = 0;
    for (; name[n] != '\0'; ++n) {
      const char c = name[n];
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      if (!ok) throw "signature domain: only [a-z0-9._-] allowed";
    }
    if (n == 0 || n > 48) throw "signature domain: length must be 1..48";
    size_ = n;
  }
  std::string_view name() const { return {name_, size_}; }

 private:
  const char* name_;
  std::size_t size_ = 0;
};

class VerifyKey {
 public:
  static Result<VerifyKey, KeyError> from_bytes(ByteView bytes);
  // The Ed25519 public key of a PEM certificate (the first certificate in the text).
  static Result<VerifyKey, KeyError> from_certificate_pem(std::string_view pem);
  static Result<VerifyKey, KeyError> from_certificate_file(const std::filesystem::path& path);

  bool verify(SignatureDomain domain, ByteView message, ByteView signature) const;

  const PublicKeyBytes& bytes() const { return key_; }
  friend bool operator==(const VerifyKey&, const VerifyKey&) = default;

 private:
  friend class SigningKey;
  explicit VerifyKey(const PublicKeyBytes& key) : key_(key) {}
  PublicKeyBytes key_;
};

class SigningKey {
 public:
  static SigningKey from_seed(const Seed& seed);
  // Loads an Ed25519 private key from a PEM file (PKCS#8, as OpenSSL writes it). The raw OpenSSL
  // private key is the 32-byte seed. A file whose mode grants the group or others any permission
  // is refused (kIo, with the chmod that fixes it).
  static Result<SigningKey, KeyError> from_pem_file(const std::filesystem::path& path);
  static Result<SigningKey, KeyError> from_pem(std::string_view pem);
  // A fresh random key (tests, tools).
  static SigningKey generate();

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  Signature sign(SignatureDomain domain, ByteView message) const;
  VerifyKey verify_key() const;

 private:
  SigningKey() = default;
  std::array<std::uint8_t, 64> secret_{};  // libsodium layout: seed || public key
};

// The exact bytes a signature in `domain` covers for `message` (exposed for tests and for
// documentation of the wire format).
std::vector<std::uint8_t> signed_bytes(SignatureDomain domain, ByteView message);

}  // namespace bastion::crypto
