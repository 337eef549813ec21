// Reconnect back-off: doubling, cap, jitter range, reset, determinism under a seed.
#include "bft/net/backoff.h"

#include <gtest/gtest.h>

namespace bastion::net {
namespace {

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  Backoff b(50, 1000, 7);
  const std::uint32_t expected_max[] = {50, 100, 200, 400, 800, 1000, 1000, 1000};
  for (std::uint32_t cap : expected_max) {
    const std::uint32_t d = b.next_delay_ms();
    EXPECT_GE(d, cap / 2);
    EXPECT_LE(d, cap);
  }
  b.reset();
  EXPECT_LE(b.next_delay_ms(), 50u);
}

TEST(Backoff, SameSeedSameDelaysDifferentSeedsDiffer) {
  Backoff a(10, 100000, 1), b(10, 100000, 1), c(10, 100000, 2);
  bool differ = false;
  for (int i = 0; i < 12; ++i) {
    const auto da = a.next_delay_ms();
    EXPECT_EQ(da, b.next_delay_ms());
    differ |= da != c.next_delay_ms();
  }
  EXPECT_TRUE(differ);
}

TEST(Backoff, ManyFailuresNeverOverflow) {
  Backoff b(1, 5000, 3);
  for (int i = 0; i < 1000; ++i) EXPECT_LE(b.next_delay_ms(), 5000u);
}

}  // namespace
}  // namespace bastion::net
