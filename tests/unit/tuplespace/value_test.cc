#include <gtest/gtest.h>
#include <cereal/types/vector.hpp>
#include <limits>

#include "codec/codec.h"
#include "tuplespace/value.h"

namespace bastion::ts {
namespace {

TEST(Value, TypesNeverMatchAcross) {
  EXPECT_FALSE(matches({Pattern(Value(1))}, {Value(1.0)}));
  EXPECT_FALSE(matches({Pattern(Value("ab"))}, {Value(Blob{"ab"})}));
  EXPECT_TRUE(matches({Pattern(Value(Blob{"ab"}))}, {Value(Blob{"ab"})}));
}

TEST(Value, NegativeZeroIsZero) {
  EXPECT_EQ(Value(-0.0), Value(0.0));
  EXPECT_EQ(Value(-0.0).hash(), Value(0.0).hash());
  EXPECT_EQ(codec::encode(Value(-0.0)), codec::encode(Value(0.0)));
}

TEST(Value, NonFiniteIsInvalid) {
  EXPECT_FALSE(Value(std::numeric_limits<double>::quiet_NaN()).valid());
  EXPECT_FALSE(valid(Tuple{Value(1), Value(std::numeric_limits<double>::infinity())}));
  EXPECT_TRUE(valid(Tuple{Value(1.5)}));
}

TEST(Value, WildcardsAndArity) {
  Template t{Pattern(Value("job")), Pattern::any(), Pattern::typed(Type::kInt)};
  EXPECT_TRUE(matches(t, {Value("job"), Value(true), Value(3)}));
  EXPECT_FALSE(matches(t, {Value("job"), Value(true), Value(3.0)}));
  EXPECT_FALSE(matches(t, {Value("job"), Value(true)}));
  EXPECT_FALSE(matches(t, {Value("job"), Value(true), Value(3), Value(4)}));
}

TEST(Value, EncodingRoundTripsAndSizeAgrees) {
  Tuple t{Value("héllo"), Value(-7), Value(2.5), Value(false),
          Value(Blob{std::string("\0\xff", 2)})};
  auto bytes = codec::encode(t);
  EXPECT_EQ(bytes.size(), encoded_size(t));
  auto back = codec::decode<Tuple>(bytes);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, t);
  Template tm{Pattern::any(), Pattern::typed(Type::kBytes), Pattern(Value(9))};
  auto tb = codec::decode<Template>(codec::encode(tm));
  ASSERT_TRUE(tb.ok()) << tb.error();
  EXPECT_EQ(*tb, tm);
}

TEST(Value, DecoderRejectsNonCanonicalFloatsAndTags) {
  codec::Bytes nan = {1, 2, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f};  // tuple of 1, tag float, NaN
  EXPECT_FALSE(codec::decode<Tuple>(nan).ok());
  codec::Bytes negzero = {1, 2, 0, 0, 0, 0, 0, 0, 0, 0x80};
  EXPECT_FALSE(codec::decode<Tuple>(negzero).ok());
  EXPECT_FALSE(codec::decode<Tuple>(codec::Bytes{1, 9}).ok());
  EXPECT_FALSE(codec::decode<Template>(codec::Bytes{1, 0x81, 5}).ok());
}

}  // namespace
}  // namespace bastion::ts
