// Ed25519 keys over libsodium; PEM parsing through OpenSSL 3 (see ed25519.h).
#include "bft/crypto/ed25519.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "codec/check.h"

namespace bastion::crypto {
namespace {

constexpr std::string_view kTag = "BASTION-SIG\x01";
// Key and certificate files are small; a larger "PEM file" is refused before it is read whole.
constexpr std::uintmax_t kPemFileMaxBytes = std::uintmax_t{64} * 1024;

void ensure_sodium() {
  static const bool sodium_ready = sodium_init() >= 0;
  BASTION_CHECK(sodium_ready);
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

KeyError error(KeyErrorCode code, std::string message) { return {code, std::move(message)}; }

Result<std::string, KeyError> read_small_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(error(KeyErrorCode::kIo, path.string() + ": not a readable file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kPemFileMaxBytes) {
    return fail(error(KeyErrorCode::kIo, path.string() + ": missing or larger than 64 KiB"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    return fail(error(KeyErrorCode::kIo, path.string() + ": read failed"));
  }
  return text;
}

// A private key file must grant nothing to the group or others (it is the replica's identity).
Result<std::string, KeyError> read_private_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_regular_file(status)) {
    const auto perms = static_cast<unsigned>(status.permissions());
    if ((perms & 077) != 0) {
      char octal[8];
      std::snprintf(octal, sizeof(octal), "%04o", perms & 0777);
      return fail(error(KeyErrorCode::kIo,
                        path.string() + ": mode " + octal +
                            " lets other users read this private key; refusing to use it. Fix: "
                            "chmod 600 " +
                            path.string()));
    }
  }
  return read_small_file(path);
}

std::unique_ptr<BIO, BioFree> memory_bio(std::string_view text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

std::vector<std::uint8_t> signed_bytes(SignatureDomain domain, ByteView message) {
  const std::string_view name = domain.name();
  std::vector<std::uint8_t> out;
  out.reserve(kTag.size() + 1 + name.size() + message.size());
  out.insert(out.end(), kTag.begin(), kTag.end());
  out.push_back(static_cast<std::uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

Result<VerifyKey, KeyError> VerifyKey::from_bytes(ByteView bytes) {
  ensure_sodium();
  if (bytes.size() != crypto_sign_PUBLICKEYBYTES) {
    return fail(error(KeyErrorCode::kInvalidKey, "an Ed25519 public key is 32 bytes"));
  }
  // Rejects non-canonical encodings and small-order points, which would let one signature
  // verify for many messages.
  if (crypto_core_ed25519_is_valid_point(bytes.data()) != 1) {
    return fail(error(KeyErrorCode::kInvalidKey, "not a valid Ed25519 public key"));
  }
  PublicKeyBytes key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return VerifyKey(key);
}

Result<VerifyKey, KeyError> VerifyKey::from_certificate_pem(std::string_view pem) {
  auto bio = memory_bio(pem);
  std::unique_ptr<X509, X509Free> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)
                                           : nullptr);
  if (!cert) return fail(error(KeyErrorCode::kFormat, "not a PEM certificate"));
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return fail(error(KeyErrorCode::kNotEd25519, "the certificate's key is not Ed25519"));
  }
  PublicKeyBytes raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) {
    return fail(error(KeyErrorCode::kInvalidKey, "cannot read the certificate's public key"));
  }
  return from_bytes(raw);
}

Result<VerifyKey, KeyError> VerifyKey::from_certificate_file(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(std::move(text).error());
  auto key = from_certificate_pem(*text);
  if (!key) return fail(error(key.error().code, path.string() + ": " + key.error().message));
  return key;
}

bool VerifyKey::verify(SignatureDomain domain, ByteView message, ByteView signature) const {
  if (signature.size() != crypto_sign_BYTES) return false;
  const auto bytes = signed_bytes(domain, message);
  return crypto_sign_verify_detached(signature.data(), bytes.data(), bytes.size(), key_.data()) ==
         0;
}

SigningKey SigningKey::from_seed(const Seed& seed) {
  ensure_sodium();
  SigningKey key;
  PublicKeyBytes pk{};
  crypto_sign_seed_keypair(pk.data(), key.secret_.data(), seed.data());
  return key;
}

SigningKey SigningKey::generate() {
  ensure_sodium();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  SigningKey key = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<SigningKey, KeyError> SigningKey::from_pem(std::string_view pem) {
  auto bio = memory_bio(pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey) return fail(error(KeyErrorCode::kFormat, "not a PEM private key"));
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return fail(error(KeyErrorCode::kNotEd25519, "the private key is not Ed25519"));
  }
  Seed seed{};
  std::size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) != 1 || len != seed.size()) {
    sodium_memzero(seed.data(), seed.size());
    return fail(error(KeyErrorCode::kInvalidKey, "cannot read the raw Ed25519 private key"));
  }
  SigningKey key = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  PublicKeyBytes openssl_pk{};
  std::size_t pk_len = openssl_pk.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), openssl_pk.data(), &pk_len) != 1 ||
      pk_len != openssl_pk.size() || openssl_pk != key.verify_key().bytes()) {
    return fail(error(KeyErrorCode::kInvalidKey, "the key's public half does not match its seed"));
  }
  return key;
}

Result<SigningKey, KeyError> SigningKey::from_pem_file(const std::filesystem::path& path) {
  auto text = read_private_file(path);
  if (!text) return fail(std::move(text).error());
  auto key = from_pem(*text);
  sodium_memzero(text->data(), text->size());
  if (!key) return fail(error(key.error().code, path.string() + ": " + key.error().message));
  return key;
}

SigningKey::SigningKey(SigningKey&& other) noexcept : secret_(other.secret_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

Signature SigningKey::sign(SignatureDomain domain, ByteView message) const {
  const auto bytes = signed_bytes(domain, message);
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, bytes.data(), bytes.size(), secret_.data());
  return sig;
}

VerifyKey SigningKey::verify_key() const {
  PublicKeyBytes pk;
  std::copy(secret_.begin() + 32, secret_.end(), pk.begin());
  return VerifyKey(pk);
}

}  // namespace bastion::crypto
