#include <gtest/gtest.h>
#include <array>
#include <cereal/types/array.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "tests/support/alloc_meter.h"

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

// Vectors grow as their elements decode: claimed counts cost nothing until the bytes are there,
// however deep the nesting. Before, each level resized to its claim first (count <= bytes left),
// so a few levels of vectors of large structs multiplied the input many times over.
struct Wide {
  std::array<std::uint64_t, 16> fields{};  // 128 bytes in memory, at least 128 on the wire
  std::vector<Sample> samples;             // at least 1 byte on the wire
  template <class Archive>
  void serialize(Archive& ar) {
    ar(fields, samples);
  }
};

std::size_t peak_decoding(const Bytes& b) {
  testing::AllocPeak meter;
  auto r = decode<std::vector<std::vector<Wide>>>(b);
  return meter.bytes();
}

TEST(Archive, ClaimedCountsDoNotAllocateAheadOfTheInput) {
  constexpr std::size_t kInput = 1 << 20;
  for (std::uint8_t fill : {std::uint8_t{0}, std::uint8_t{0x7f}, std::uint8_t{0xff}}) {
    // Outer count, then one inner vector claiming every byte left, then filler.
    Bytes b;
    for (int level = 0; level < 2; ++level) {
      std::uint64_t claim = kInput / 2;
      while (claim >= 0x80) {
        b.push_back(static_cast<std::uint8_t>(claim | 0x80));
        claim >>= 7;
      }
      b.push_back(static_cast<std::uint8_t>(claim));
    }
    b.resize(kInput, fill);
    EXPECT_LE(peak_decoding(b), 16 * b.size()) << int{fill};
  }
  // Vectors of arithmetic values: the count is checked against the bytes left, in elements.
  Bytes b{0x80, 0x80, 0x10};  // 2^18 uint64 = 2 MiB claimed
  b.resize(1 << 18, 0);
  testing::AllocPeak meter;
  EXPECT_FALSE(decode<std::vector<std::uint64_t>>(b).ok());
  EXPECT_LE(meter.bytes(), 4096u);
}

struct Bounded {
  std::vector<std::string> names;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at_most(3, names));
  }
};

TEST(Archive, AtMostRefusesACountAboveItsBound) {
  Bounded ok{{"a", "b", "c"}};
  Bounded over{{"a", "b", "c", "d"}};
  EXPECT_EQ(encode(ok), encode(ok.names));  // encoded exactly like the vector
  EXPECT_TRUE(decode<Bounded>(encode(ok)).ok());
  auto r = decode<Bounded>(encode(over));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bound"), std::string::npos) << r.error();
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
