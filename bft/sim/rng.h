// The simulator's only source of randomness: a seeded generator owned by the world and passed by
// reference to whoever needs a random choice. No globals.
//
// Invariants: every draw is a pure function of the seed and the sequence of earlier draws, and
// the draw helpers do not depend on the standard library's distribution implementations (which
// differ between library versions), so a seed reproduces the same run on any build.
// fork() derives an independent stream (SplitMix64 of a fresh draw) so that adding draws in one
// component (say, the network) does not shift the choices of another (say, the workload).
//
// Thread-safety: none; one simulation thread owns its generators.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "codec/check.h"

namespace bastion::bft::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(mix(seed)) {}

  std::uint64_t next() { return engine_(); }

  // Uniform in [lo, hi] (inclusive); unbiased (rejection sampling).
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    BASTION_CHECK(lo <= hi);
    const std::uint64_t span = hi - lo;
    if (span == UINT64_MAX) return next();
    const std::uint64_t range = span + 1;
    const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
    std::uint64_t x = next();
    while (x >= limit) x = next();
    return lo + x % range;
  }
  std::int64_t uniform_signed(std::int64_t lo, std::int64_t hi) {
    BASTION_CHECK(lo <= hi);
    const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + uniform(0, span));
  }
  // Index in [0, n).
  std::size_t index(std::size_t n) {
    BASTION_CHECK(n > 0);
    return static_cast<std::size_t>(uniform(0, n - 1));
  }
  // True with probability p (p in [0, 1]).
  bool chance(double p) {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return unit() < p;
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[index(v.size())];
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[index(i)]);
  }

  // An independent generator for one component.
  Rng fork() { return Rng(next()); }

  static std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace bastion::bft::sim
