// The ristretto255 wrappers: canonical encodings only, identity handled, arithmetic consistent.
#include "confidentiality/group.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "codec/codec.h"
#include "confidentiality/dleq.h"

namespace bastion::confidentiality {
namespace {

class GroupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

// L, the group order, little-endian: the smallest non-canonical scalar.
constexpr Scalar::Bytes kOrder = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

TEST_F(GroupTest, ScalarsDecodeOnlyBelowTheOrder) {
  Scalar::Bytes below = kOrder;
  below[0] -= 1;
  ASSERT_TRUE(Scalar::from_bytes(below));
  EXPECT_EQ(*Scalar::from_bytes(below) + Scalar::from_u64(1), Scalar{});
  EXPECT_FALSE(Scalar::from_bytes(kOrder));
  Scalar::Bytes high{};
  high.fill(0xff);
  EXPECT_FALSE(Scalar::from_bytes(high));
  EXPECT_FALSE(Scalar::from_bytes(ByteView(below).first(31)));
}

TEST_F(GroupTest, ScalarArithmetic) {
  const Scalar a = Scalar::random();
  const Scalar b = Scalar::random();
  EXPECT_EQ(a + b - b, a);
  EXPECT_EQ(a * a.inverse(), Scalar::from_u64(1));
  EXPECT_EQ(Scalar::from_u64(6) * Scalar::from_u64(7), Scalar::from_u64(42));
  EXPECT_TRUE((a - a).is_zero());
}

TEST_F(GroupTest, PointArithmeticMatchesScalars) {
  const Scalar a = Scalar::random();
  const Scalar b = Scalar::random();
  const Point pa = Point::base_mul(a);
  EXPECT_EQ(pa + Point::base_mul(b), Point::base_mul(a + b));
  EXPECT_EQ(pa * b, Point::base_mul(a * b));
  EXPECT_EQ(Point::generator() * a, pa);  // the fixed-base path
  EXPECT_TRUE((pa - pa).is_identity());
  EXPECT_EQ(Point{} - pa + pa, Point{});
  EXPECT_EQ(pa + Point{}, pa);
  EXPECT_TRUE((pa * Scalar{}).is_identity());
  EXPECT_TRUE((Point{} * a).is_identity());
  const Point& h = second_generator();
  EXPECT_NE(h, Point::generator());
  EXPECT_EQ(h * a * b, h * (a * b));
}

TEST_F(GroupTest, PointsDecodeOnlyFromCanonicalEncodings) {
  const Point p = Point::base_mul(Scalar::random());
  ASSERT_TRUE(Point::from_bytes(p.bytes()));
  EXPECT_EQ(*Point::from_bytes(p.bytes()), p);
  EXPECT_TRUE(Point::from_bytes(Point{}.bytes())->is_identity());
  Point::Bytes all_ones{};
  all_ones.fill(0xff);
  EXPECT_FALSE(Point::from_bytes(all_ones));
  Point::Bytes odd{};
  odd[0] = 1;  // a negative field element: never a ristretto encoding
  EXPECT_FALSE(Point::from_bytes(odd));
  int rejected = 0;
  for (int i = 0; i < 64; ++i) {
    Point::Bytes random{};
    randombytes_buf(random.data(), random.size());
    if (!Point::from_bytes(random)) ++rejected;
  }
  EXPECT_GT(rejected, 32);  // most random strings are not encodings
}

TEST_F(GroupTest, DecodingRejectsNonCanonicalValues) {
  const Scalar s = Scalar::random();
  auto round = codec::decode<Scalar>(codec::encode(s));
  ASSERT_TRUE(round.ok()) << round.error();
  EXPECT_EQ(*round, s);
  EXPECT_FALSE(codec::decode<Scalar>(codec::encode(kOrder)).ok());
  Point::Bytes all_ones{};
  all_ones.fill(0xff);
  EXPECT_FALSE(codec::decode<Point>(codec::encode(all_ones)).ok());
}

TEST_F(GroupTest, TranscriptsSeparateItemBoundaries) {
  EXPECT_NE(Transcript("d").add("ab").add("c").challenge(),
            Transcript("d").add("a").add("bc").challenge());
  EXPECT_NE(Transcript("d1").add("x").challenge(), Transcript("d2").add("x").challenge());
  EXPECT_EQ(Transcript("d").add("x").point(), Transcript("d").add("x").point());
}

TEST_F(GroupTest, DleqProofsBindStatementAndContext) {
  const Scalar x = Scalar::random();
  const Point& g1 = second_generator();
  const Point h1 = g1 * x;
  const Point g2 = Point::base_mul(Scalar::random());
  const Point h2 = g2 * x;
  const std::vector<std::uint8_t> ctx = {1, 2, 3};
  const DleqProof proof = dleq_prove("test.dleq", ctx, {g1, h1, g2, h2}, x);
  EXPECT_TRUE(dleq_verify("test.dleq", ctx, {g1, h1, g2, h2}, proof));
  EXPECT_FALSE(dleq_verify("test.other", ctx, {g1, h1, g2, h2}, proof));
  EXPECT_FALSE(dleq_verify("test.dleq", std::vector<std::uint8_t>{1, 2}, {g1, h1, g2, h2}, proof));
  const Point wrong = h2 + Point::generator();
  EXPECT_FALSE(dleq_verify("test.dleq", ctx, {g1, h1, g2, wrong}, proof));
  DleqProof bad = proof;
  bad.response = bad.response + Scalar::from_u64(1);
  EXPECT_FALSE(dleq_verify("test.dleq", ctx, {g1, h1, g2, h2}, bad));
  bad = proof;
  bad.challenge = bad.challenge + Scalar::from_u64(1);
  EXPECT_FALSE(dleq_verify("test.dleq", ctx, {g1, h1, g2, h2}, bad));
  // Different logarithms: no proof made with either witness verifies.
  const Point h2_other = g2 * (x + Scalar::from_u64(1));
  EXPECT_FALSE(dleq_verify("test.dleq", ctx, {g1, h1, g2, h2_other},
                           dleq_prove("test.dleq", ctx, {g1, h1, g2, h2_other}, x)));
}

}  // namespace
}  // namespace bastion::confidentiality
