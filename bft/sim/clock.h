// A replica's local clock in the simulator: offset and drift against the world's time.
//
//   local(t) = epoch + offset_us + t + t * drift_ppm / 1e6      (t: simulated world time, us)
//
// Invariants: local() is non-decreasing in t (|drift_ppm| < 1e6), and global_at_or_after(x) is
// the first world time whose local reading is >= x, so a timer the core asks for at local time x
// fires no earlier than x on its own clock. The epoch is far from zero so that the core never
// relies on clocks starting at 0. Offsets and drifts are chosen by the world within the
// configured skew bound (a correct replica's clock stays within clock_skew_max_us of the others
// for the length of a run).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>

#include "bft/core/types.h"

namespace bastion::bft::sim {

inline constexpr TimeUs kClockEpochUs = 1'700'000'000'000'000;

struct SimClock {
  static constexpr TimeUs kFarUs = TimeUs{1} << 40;  // about 12 days

  TimeUs offset_us = 0;
  std::int64_t drift_ppm = 0;

  TimeUs local(TimeUs t) const { return kClockEpochUs + offset_us + t + t * drift_ppm / 1'000'000; }

  TimeUs global_at_or_after(TimeUs local_us) const {
    const TimeUs rel = local_us - kClockEpochUs - offset_us;
    if (rel > kFarUs) return rel;  // beyond any run; avoids overflow below
    TimeUs t = rel * 1'000'000 / (1'000'000 + drift_ppm);
    if (t < 0) t = 0;
    while (t > 0 && local(t - 1) >= local_us) --t;
    while (local(t) < local_us) ++t;
    return t;
  }
};

}  // namespace bastion::bft::sim
