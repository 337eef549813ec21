// Fingerprints: deterministic per space and key epoch, unlinkable across them, provable.
#include "confidentiality/fingerprint.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <string>

namespace bastion::confidentiality {
namespace {

ByteView bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class FingerprintTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
  FingerprintTest() { randombytes_buf(secret.data(), secret.size()); }
  std::array<std::uint8_t, kFingerprintSecretBytes> secret{};
};

TEST_F(FingerprintTest, EqualValuesMatchWithinASpaceOnly) {
  const auto k = FingerprintKey::derive(secret, "jobs", 0);
  const auto again = FingerprintKey::derive(secret, "jobs", 0);
  const std::string v = "alice";
  EXPECT_EQ(k.fingerprint(bytes(v)), again.fingerprint(bytes(v)));
  EXPECT_EQ(k.public_key(), again.public_key());
  EXPECT_NE(k.fingerprint(bytes(v)), k.fingerprint(bytes(std::string("alicf"))));
  EXPECT_NE(k.fingerprint(bytes(v)),
            FingerprintKey::derive(secret, "jobs2", 0).fingerprint(bytes(v)));
  EXPECT_NE(k.fingerprint(bytes(v)),
            FingerprintKey::derive(secret, "jobs", 1).fingerprint(bytes(v)));
  std::array<std::uint8_t, kFingerprintSecretBytes> other = secret;
  other[0] ^= 1;
  EXPECT_NE(k.fingerprint(bytes(v)),
            FingerprintKey::derive(other, "jobs", 0).fingerprint(bytes(v)));
}

TEST_F(FingerprintTest, EvidenceProvesTheTrueFingerprintOnly) {
  const auto k = FingerprintKey::derive(secret, "jobs", 0);
  const std::string v = "42";
  const FingerprintEvidence e = k.prove(bytes(v));
  const auto fp = verify_fingerprint(k.public_key(), bytes(v), e);
  ASSERT_TRUE(fp);
  EXPECT_EQ(*fp, k.fingerprint(bytes(v)));
  // Not for another value, another space's key, or a changed Γ or proof.
  EXPECT_FALSE(verify_fingerprint(k.public_key(), bytes(std::string("43")), e));
  const auto other = FingerprintKey::derive(secret, "other", 0);
  EXPECT_FALSE(verify_fingerprint(other.public_key(), bytes(v), e));
  FingerprintEvidence bad = e;
  bad.gamma = bad.gamma + Point::generator();
  EXPECT_FALSE(verify_fingerprint(k.public_key(), bytes(v), bad));
  bad = e;
  bad.proof.challenge = bad.proof.challenge + Scalar::from_u64(1);
  EXPECT_FALSE(verify_fingerprint(k.public_key(), bytes(v), bad));
  // Another key's honest evidence for the same value proves that key's fingerprint, not k's.
  const FingerprintEvidence foreign = other.prove(bytes(v));
  EXPECT_FALSE(verify_fingerprint(k.public_key(), bytes(v), foreign));
}

}  // namespace
}  // namespace bastion::confidentiality
