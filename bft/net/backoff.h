// Exponential back-off with jitter for reconnect attempts.
//
// The n-th consecutive failure waits a random time in [d/2, d], d = min(max, min * 2^n): the
// doubling spares a peer that is down, the jitter keeps n replicas that lost a peer at the same
// moment from reconnecting in lockstep. Randomness comes from an injected seed.
//
// Thread-safety: none (one per link, on the io thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace bastion::net {

class Backoff {
 public:
  Backoff(std::uint32_t min_ms, std::uint32_t max_ms, std::uint64_t seed)
      : min_ms_(std::max<std::uint32_t>(min_ms, 1)),
        max_ms_(std::max(max_ms, min_ms_)),
        rng_(seed) {}

  std::uint32_t next_delay_ms() {
    std::uint64_t d = min_ms_;
    for (std::uint32_t i = 0; i < failures_ && d < max_ms_; ++i) d *= 2;
    d = std::min<std::uint64_t>(d, max_ms_);
    if (failures_ < 64) ++failures_;
    std::uniform_int_distribution<std::uint64_t> jitter(d / 2, d);
    return static_cast<std::uint32_t>(jitter(rng_));
  }
  void reset() { failures_ = 0; }
  std::uint32_t failures() const { return failures_; }

 private:
  std::uint32_t min_ms_;
  std::uint32_t max_ms_;
  std::uint32_t failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace bastion::net
