// Sealing: round trip, and any change of key, associated data or bytes is refused.
#include "confidentiality/seal.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace bastion::confidentiality {
namespace {

TEST(Seal, RoundTripsAndRefusesEveryChange) {
  ASSERT_GE(sodium_init(), 0);
  const Point secret = second_generator() * Scalar::random();
  const std::vector<std::uint8_t> ad = {1, 2, 3};
  const std::vector<std::uint8_t> text = {'s', 'e', 'c', 'r', 'e', 't'};
  const auto sealed = seal(secret, ad, text);
  ASSERT_EQ(sealed.size(), text.size() + kSealOverhead);
  EXPECT_EQ(*unseal(secret, ad, sealed), text);
  EXPECT_NE(seal(secret, ad, text), sealed);  // a fresh nonce each time

  EXPECT_FALSE(unseal(secret + Point::generator(), ad, sealed));
  EXPECT_FALSE(unseal(secret, std::vector<std::uint8_t>{1, 2}, sealed));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(unseal(secret, ad, bad)) << "byte " << i;
  }
  EXPECT_FALSE(unseal(secret, ad, ByteView(sealed).first(kSealOverhead - 1)));
  EXPECT_EQ(*unseal(secret, ad, seal(secret, ad, {})), std::vector<std::uint8_t>{});
}

}  // namespace
}  // namespace bastion::confidentiality
