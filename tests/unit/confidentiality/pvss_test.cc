// PVSS: dealing, public verification, opening with proofs, combining; every tampering caught.
#include "confidentiality/pvss.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

#include "codec/codec.h"
#include "tests/unit/confidentiality/replica_keys.h"

namespace bastion::confidentiality {
namespace {

struct Cluster {
  explicit Cluster(std::size_t f) : keys(3 * f + 1), pvss(keys.publics, f + 1) {}

  std::vector<OpenedShare> open_all(const Sharing& sh, ByteView ctx) const {
    std::vector<OpenedShare> out;
    for (std::uint32_t i = 0; i < keys.secrets.size(); ++i) {
      out.push_back(keys.secrets[i].open(i, sh.shares[i], ctx));
    }
    return out;
  }

  ReplicaKeys keys;
  Pvss pvss;
};

const std::vector<std::uint8_t> kContext = {'t', 'u', 'p', 'l', 'e'};

class PvssTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
  std::size_t f() const { return GetParam(); }
};

TEST_P(PvssTest, AnyThresholdOfValidSharesRebuildsTheSecret) {
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  ASSERT_TRUE(c.pvss.verify(dealt.sharing, kContext).ok());
  const auto opened = c.open_all(dealt.sharing, kContext);
  for (const OpenedShare& s : opened) {
    EXPECT_TRUE(c.pvss.verify_opened(dealt.sharing.shares[s.index], s, kContext));
  }
  // Every window of t consecutive replicas (mod n), and the last t in reverse order.
  const std::size_t n = opened.size();
  const std::size_t t = f() + 1;
  for (std::size_t start = 0; start < n; ++start) {
    std::vector<OpenedShare> pick;
    for (std::size_t k = 0; k < t; ++k) pick.push_back(opened[(start + k) % n]);
    const auto secret = c.pvss.combine(pick);
    ASSERT_TRUE(secret);
    EXPECT_EQ(*secret, dealt.secret) << "start " << start;
  }
  std::vector<OpenedShare> reversed(opened.rbegin(), opened.rbegin() + static_cast<long>(t));
  EXPECT_EQ(*c.pvss.combine(reversed), dealt.secret);
}

TEST_P(PvssTest, CombineNeedsExactlyThresholdDistinctShares) {
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  auto opened = c.open_all(dealt.sharing, kContext);
  const std::size_t t = f() + 1;
  EXPECT_FALSE(c.pvss.combine(std::span(opened).first(t - 1)));
  std::vector<OpenedShare> dup(opened.begin(), opened.begin() + static_cast<long>(t));
  dup.back() = dup.front();
  EXPECT_FALSE(c.pvss.combine(dup));
  std::vector<OpenedShare> out_of_range(opened.begin(), opened.begin() + static_cast<long>(t));
  out_of_range.back().index = static_cast<std::uint32_t>(opened.size());
  EXPECT_FALSE(c.pvss.combine(out_of_range));
}

TEST_P(PvssTest, AForgedOpenedShareChangesTheSecretAndFailsItsProof) {
  // Why a reader verifies each opened share before it combines: one forged share among t
  // gives another secret.
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  auto opened = c.open_all(dealt.sharing, kContext);
  std::vector<OpenedShare> pick(opened.begin(), opened.begin() + static_cast<long>(f() + 1));
  pick.back().share = pick.back().share + Point::generator();
  EXPECT_NE(*c.pvss.combine(pick), dealt.secret);
  EXPECT_FALSE(
      c.pvss.verify_opened(dealt.sharing.shares[pick.back().index], pick.back(), kContext));
}

TEST_P(PvssTest, EveryTamperedSharingIsRejected) {
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  const Sharing& good = dealt.sharing;
  const Point nudge = Point::generator();
  for (std::size_t i = 0; i < good.shares.size(); ++i) {
    Sharing bad = good;
    bad.shares[i] = bad.shares[i] + nudge;
    EXPECT_FALSE(c.pvss.verify(bad, kContext).ok()) << "share " << i;
    bad = good;
    bad.responses[i] = bad.responses[i] + Scalar::from_u64(1);
    EXPECT_FALSE(c.pvss.verify(bad, kContext).ok()) << "response " << i;
  }
  for (std::size_t j = 0; j < good.commitments.size(); ++j) {
    Sharing bad = good;
    bad.commitments[j] = bad.commitments[j] + nudge;
    EXPECT_FALSE(c.pvss.verify(bad, kContext).ok()) << "commitment " << j;
  }
  Sharing bad = good;
  bad.challenge = bad.challenge + Scalar::from_u64(1);
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
  bad = good;
  std::swap(bad.shares[0], bad.shares[1]);
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
  // Shape: a missing share, an extra commitment (degree t), a missing response.
  bad = good;
  bad.shares.pop_back();
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
  bad = good;
  bad.commitments.push_back(nudge);
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
  bad = good;
  bad.responses.pop_back();
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
  // The proof is bound to its context and to the cluster's keys.
  EXPECT_FALSE(c.pvss.verify(good, std::vector<std::uint8_t>{'x'}).ok());
  const Cluster other(f());
  EXPECT_FALSE(other.pvss.verify(good, kContext).ok());
}

TEST_P(PvssTest, AShareOffThePolynomialIsRejected) {
  // A dealer that encrypts one replica's share of a value off the committed polynomial.
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  Sharing bad = dealt.sharing;
  bad.shares[0] = c.keys.secrets[0].public_key() * Scalar::random();
  EXPECT_FALSE(c.pvss.verify(bad, kContext).ok());
}

TEST_P(PvssTest, EveryTamperedOpeningIsRejected) {
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  const auto opened = c.open_all(dealt.sharing, kContext);
  const OpenedShare& good = opened[1];
  const Point& y = dealt.sharing.shares[1];
  ASSERT_TRUE(c.pvss.verify_opened(y, good, kContext));

  OpenedShare bad = good;
  bad.share = bad.share + Point::generator();
  EXPECT_FALSE(c.pvss.verify_opened(y, bad, kContext));
  bad = good;
  bad.proof.response = bad.proof.response + Scalar::from_u64(1);
  EXPECT_FALSE(c.pvss.verify_opened(y, bad, kContext));
  bad = good;
  bad.index = 2;  // claimed by another replica
  EXPECT_FALSE(c.pvss.verify_opened(dealt.sharing.shares[2], bad, kContext));
  bad.index = 99;
  EXPECT_FALSE(c.pvss.verify_opened(y, bad, kContext));
  EXPECT_FALSE(c.pvss.verify_opened(dealt.sharing.shares[0], good, kContext));
  EXPECT_FALSE(c.pvss.verify_opened(y, good, std::vector<std::uint8_t>{'x'}));
  // A replica that opens with a key that is not its own.
  const OpenedShare wrong_key = c.keys.secrets[2].open(1, y, kContext);
  EXPECT_FALSE(c.pvss.verify_opened(y, wrong_key, kContext));
}

TEST_P(PvssTest, SharingsSurviveTheCodecAndBoundTheirCounts) {
  const Cluster c(f());
  const auto dealt = c.pvss.deal(kContext);
  const auto bytes = codec::encode(dealt.sharing);
  auto back = codec::decode<Sharing>(bytes);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, dealt.sharing);
  EXPECT_TRUE(c.pvss.verify(*back, kContext).ok());
  const auto opened = c.open_all(dealt.sharing, kContext);
  auto share_back = codec::decode<OpenedShare>(codec::encode(opened[0]));
  ASSERT_TRUE(share_back.ok());
  EXPECT_EQ(*share_back, opened[0]);

  Sharing huge = dealt.sharing;
  huge.shares.resize(kMaxShareholders + 1, huge.shares[0]);
  EXPECT_FALSE(codec::decode<Sharing>(codec::encode(huge)).ok());
}

INSTANTIATE_TEST_SUITE_P(F, PvssTest, ::testing::Values(1, 2, 3),
                         [](const auto& p) { return "f" + std::to_string(p.param); });

TEST(PvssKeys, SecretKeysDecodeOnlyWhenCanonicalAndNonZero) {
  ASSERT_GE(sodium_init(), 0);
  const PvssSecretKey k = PvssSecretKey::generate();
  auto back = PvssSecretKey::from_bytes(k.bytes());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->public_key(), k.public_key());
  EXPECT_EQ(k.public_key(), second_generator() * *Scalar::from_bytes(k.bytes()));
  EXPECT_FALSE(PvssSecretKey::from_bytes(Scalar{}.bytes()));
  Scalar::Bytes high{};
  high.fill(0xff);
  EXPECT_FALSE(PvssSecretKey::from_bytes(high));
}

}  // namespace
}  // namespace bastion::confidentiality
