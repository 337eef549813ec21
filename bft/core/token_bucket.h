// A token bucket: tokens refill at `per_s` up to `burst` and are spent; the caller passes its
// clock in. The replica budgets what each peer may cost it with these (bytes served for state
// transfer and batch fetches, VIEW-CHANGEs verified), so one faulty peer cannot take more.
//
// Thread-safety: none.
#pragma once

#include <algorithm>

#include "bft/core/types.h"

namespace bastion::bft {

class TokenBucket {
 public:
  // Starts full.
  TokenBucket(double per_s, double burst) : per_s_(per_s), burst_(burst), tokens_(burst) {}

  // Spends `amount` tokens if that many are there at `now_us`; false (nothing spent) otherwise.
  // A clock that steps back refills nothing.
  bool take(TimeUs now_us, double amount) {
    if (now_us > refilled_us_) {
      tokens_ =
          std::min(burst_, tokens_ + per_s_ * static_cast<double>(now_us - refilled_us_) / 1e6);
      refilled_us_ = now_us;
    }
    if (tokens_ < amount) return false;
    tokens_ -= amount;
    return true;
  }

 private:
  double per_s_;
  double burst_;
  double tokens_;
  TimeUs refilled_us_ = 0;
};

}  // namespace bastion::bft
