#include <gtest/gtest.h>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/codec.h"

namespace bastion::codec {
namespace {

struct Sample {
  std::int64_t id = 0;
  bool flag = false;
  double ratio = 0;
  std::string name;
  std::vector<std::uint8_t> blob;
  std::vector<std::string> tags;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, flag, ratio, name, blob, tags);
  }
  friend bool operator==(const Sample&, const Sample&) = default;
};

TEST(Archive, RoundTrips) {
  Sample s{-42, true, 2.5, "hello", {0, 1, 255}, {"a", "", "ccc"}};
  Bytes b = encode(s);
  auto r = decode<Sample>(b);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, s);
}

TEST(Archive, EncodingIsCanonicalLittleEndian) {
  Bytes b = encode(std::int32_t{0x01020304});
  EXPECT_EQ(b, (Bytes{4, 3, 2, 1}));
  Bytes s = encode(std::string(200, 'x'));
  ASSERT_EQ(s.size(), 202u);  // two-byte varint length
  EXPECT_EQ(s[0], 0xc8);
  EXPECT_EQ(s[1], 0x01);
}

TEST(Archive, RejectsLengthLargerThanInput) {
  // A vector claiming 2^26 elements in a short message must fail without allocating them.
  Bytes b = {0x80, 0x80, 0x80, 0x20, 1, 2, 3};
  auto r = decode<std::vector<std::uint64_t>>(b);
  EXPECT_FALSE(r.ok());
  auto s = decode<std::string>(Bytes{0x80, 0x80, 0x80, 0x80, 0x04});
  EXPECT_FALSE(s.ok());
}

TEST(Archive, RejectsInvalidBool) {
  EXPECT_FALSE(decode<bool>(Bytes{7}).ok());
  EXPECT_TRUE(decode<bool>(Bytes{1}).ok());
}

TEST(Archive, RejectsNonMinimalVarintAndTrailingBytes) {
  EXPECT_FALSE(decode<std::string>(Bytes{0x81, 0x00, 'a'}).ok());
  EXPECT_FALSE(decode<std::string>(Bytes{0x01, 'a', 'b'}).ok());
  EXPECT_FALSE(decode<std::string>(Bytes{}).ok());
  EXPECT_FALSE(decode<std::uint64_t>(Bytes{1, 2, 3}).ok());
}

TEST(Archive, DigestMatchesDigestOfEncoding) {
  Sample s{1, false, -0.5, "x", {9}, {"t"}};
  EXPECT_EQ(digest_of(s), blake2b(encode(s)));
  Sample t = s;
  t.name = "y";
  EXPECT_NE(digest_of(s), digest_of(t));
}

TEST(Digest, KeyedDiffersFromUnkeyed) {
  std::vector<std::uint8_t> key(32, 7);
  Blake2b keyed(key);
  keyed.update(std::string_view("abc"));
  EXPECT_NE(keyed.finish(), blake2b(std::string_view("abc")));
  EXPECT_EQ(to_hex(std::vector<std::uint8_t>{0x0f, 0xa0}), "0fa0");
}

}  // namespace
}  // namespace bastion::codec
