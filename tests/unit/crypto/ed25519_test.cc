// Ed25519 keys: signatures verify only for the same key, domain and message; PEM loading.
#include "bft/crypto/ed25519.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bastion::crypto {
namespace {

constexpr SignatureDomain kDomainA{"test.kind-a.v1"};
constexpr SignatureDomain kDomainB{"test.kind-b.v1"};
constexpr SignatureDomain kDomainAPrefix{"test.kind-a"};

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

Seed seed_of(std::uint8_t b) {
  Seed s;
  s.fill(b);
  return s;
}

TEST(Ed25519, SignVerifyRoundTrip) {
  const auto key = SigningKey::from_seed(seed_of(7));
  const auto msg = bytes("batch 42");
  const auto sig = key.sign(kDomainA, msg);
  EXPECT_TRUE(key.verify_key().verify(kDomainA, msg, sig));
}

TEST(Ed25519, SameSeedSameKeyDeterministicSignature) {
  const auto a = SigningKey::from_seed(seed_of(9));
  const auto b = SigningKey::from_seed(seed_of(9));
  EXPECT_EQ(a.verify_key(), b.verify_key());
  EXPECT_EQ(a.sign(kDomainA, bytes("m")), b.sign(kDomainA, bytes("m")));
}

TEST(Ed25519, DomainSeparation) {
  const auto key = SigningKey::from_seed(seed_of(1));
  const auto msg = bytes("payload");
  const auto sig = key.sign(kDomainA, msg);
  EXPECT_FALSE(key.verify_key().verify(kDomainB, msg, sig));
  EXPECT_FALSE(key.verify_key().verify(kDomainAPrefix, msg, sig));
  // Moving bytes between the domain and the message must not produce the same signed bytes.
  EXPECT_NE(signed_bytes(kDomainA, bytes("")), signed_bytes(kDomainAPrefix, bytes(".v1")));
  EXPECT_FALSE(key.verify_key().verify(kDomainAPrefix, bytes(".v1payload"), sig));
}

TEST(Ed25519, SignedBytesNeverLookLikeTlsCertificateVerify) {
  // TLS 1.3 signs 64 spaces first; Bastion's tag starts with a letter.
  const auto b = signed_bytes(kDomainA, bytes("x"));
  ASSERT_FALSE(b.empty());
  EXPECT_NE(b[0], 0x20);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 12), std::string("BASTION-SIG\x01"));
}

TEST(Ed25519, WrongKeyFails) {
  const auto key = SigningKey::from_seed(seed_of(1));
  const auto other = SigningKey::from_seed(seed_of(2));
  const auto msg = bytes("payload");
  EXPECT_FALSE(other.verify_key().verify(kDomainA, msg, key.sign(kDomainA, msg)));
}

TEST(Ed25519, TamperedMessageOrSignatureFails) {
  const auto key = SigningKey::from_seed(seed_of(3));
  auto msg = bytes("payload");
  auto sig = key.sign(kDomainA, msg);
  auto tampered = msg;
  tampered[0] ^= 1;
  EXPECT_FALSE(key.verify_key().verify(kDomainA, tampered, sig));
  auto bad_sig = sig;
  bad_sig[10] ^= 0x40;
  EXPECT_FALSE(key.verify_key().verify(kDomainA, msg, bad_sig));
  EXPECT_FALSE(key.verify_key().verify(kDomainA, msg, std::span(sig).first(63)));
}

TEST(Ed25519, RejectsInvalidPublicKeys) {
  std::array<std::uint8_t, 32> zero{};
  EXPECT_FALSE(VerifyKey::from_bytes(zero).ok());  // small order (identity encoding is 1,0..)
  std::array<std::uint8_t, 32> identity{};
  identity[0] = 1;
  EXPECT_FALSE(VerifyKey::from_bytes(identity).ok());
  EXPECT_FALSE(VerifyKey::from_bytes(std::vector<std::uint8_t>(31, 5)).ok());
  const auto good = SigningKey::from_seed(seed_of(4)).verify_key();
  auto again = VerifyKey::from_bytes(good.bytes());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, good);
}

TEST(Ed25519, LoadsOpenSslPemPrivateKey) {
  // An OpenSSL-generated key: its raw private key is the seed, so both libraries agree on the
  // public key.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  ASSERT_TRUE(pkey);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(len));

  auto key = SigningKey::from_pem(pem);
  ASSERT_TRUE(key.ok()) << key.error().message;
  PublicKeyBytes pk{};
  std::size_t pk_len = pk.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(pkey.get(), pk.data(), &pk_len), 1);
  EXPECT_EQ(key->verify_key().bytes(), pk);

  // A signature made with the loaded key verifies with OpenSSL's public key.
  const auto msg = bytes("hello");
  const auto sig = key->sign(kDomainA, msg);
  const auto signed_msg = signed_bytes(kDomainA, msg);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()), 1);
  EXPECT_EQ(
      EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), signed_msg.data(), signed_msg.size()), 1);
}

TEST(Ed25519, RejectsNonEd25519AndGarbagePem) {
  EXPECT_EQ(SigningKey::from_pem("not pem").error().code, KeyErrorCode::kFormat);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ec(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  ASSERT_TRUE(ec);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), ec.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  EXPECT_EQ(SigningKey::from_pem(std::string(data, static_cast<std::size_t>(len))).error().code,
            KeyErrorCode::kNotEd25519);
  EXPECT_EQ(SigningKey::from_pem_file("/nonexistent/key.pem").error().code, KeyErrorCode::kIo);
}

TEST(Ed25519, APemFileOthersMayReadIsRefused) {
  char dir_template[] = "/tmp/bastion-crypto-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  const std::filesystem::path file = dir / "key.pem";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  ASSERT_TRUE(pkey);
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "w"), BIO_free);
    ASSERT_TRUE(bio);
    ASSERT_EQ(
        PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  }
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  auto refused = SigningKey::from_pem_file(file);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, KeyErrorCode::kIo);
  EXPECT_NE(refused.error().message.find(file.string() + ": mode 0644"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("chmod 600 " + file.string()), std::string::npos);
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  EXPECT_TRUE(SigningKey::from_pem_file(file).ok());
  std::filesystem::remove_all(dir);
}

TEST(Ed25519, MovedFromKeyIsZeroedAndMoveTargetWorks) {
  auto a = SigningKey::from_seed(seed_of(5));
  const auto vk = a.verify_key();
  SigningKey b = std::move(a);
  EXPECT_TRUE(vk.verify(kDomainA, bytes("m"), b.sign(kDomainA, bytes("m"))));
}

}  // namespace
}  // namespace bastion::crypto
