#include "bft/core/primary_monitor.h"

#include <algorithm>

namespace bastion::bft {

PrimaryMonitor::PrimaryMonitor(const Config& config)
    : factor_(config.slow_primary_factor),
      fixed_us_(config.batch_delay_us + config.vouch_defer_us),
      request_timeout_us_(config.request_timeout_us) {}

void PrimaryMonitor::view_installed(SeqNum high_seq, TimeUs now_us) {
  high_seq_ = high_seq;
  last_pre_prepare_us_ = now_us;
  slow_gaps_ = 0;
}

void PrimaryMonitor::pre_prepare_accepted(SeqNum seq, TimeUs now_us,
                                          std::optional<TimeUs> oldest_request_us) {
  if (seq <= high_seq_) return;
  const std::optional<TimeUs> start = gap_start(oldest_request_us);
  if (start && agreement_us_ && now_us - *start >= bound()) {
    ++slow_gaps_;
  } else if (!start || *start > last_pre_prepare_us_) {
    // No gap, or a fast answer to new work or new room. A fast gap that began at the previous
    // pre-prepare is the rest of a burst: a primary that releases held batches together must not
    // wipe the slow gap before the burst with the fast ones inside it.
    slow_gaps_ = 0;
  }
  high_seq_ = seq;
  last_pre_prepare_us_ = now_us;
}

void PrimaryMonitor::executed(TimeUs accepted_us, TimeUs now_us) {
  const TimeUs sample = now_us - accepted_us;
  agreement_us_ = agreement_us_ ? *agreement_us_ + (sample - *agreement_us_) / 8 : sample;
}

void PrimaryMonitor::track_room(bool room, TimeUs now_us) {
  if (!room) {
    room_since_us_.reset();
  } else if (!room_since_us_) {
    room_since_us_ = now_us;
  }
}

std::optional<TimeUs> PrimaryMonitor::gap_start(std::optional<TimeUs> oldest_request_us) const {
  if (!room_since_us_ || !oldest_request_us) return std::nullopt;
  return std::max({*oldest_request_us, *room_since_us_, last_pre_prepare_us_});
}

TimeUs PrimaryMonitor::bound() const {
  const TimeUs expected = agreement_us_.value_or(0) * factor_ + fixed_us_;
  return std::clamp(expected, request_timeout_us_ / 10, request_timeout_us_);
}

bool PrimaryMonitor::slow(TimeUs now_us, std::optional<TimeUs> oldest_request_us,
                          bool pace_waiting) const {
  if (factor_ == 0 || !agreement_us_) return false;
  if (slow_gaps_ == 0 && !pace_waiting) return false;
  const std::optional<TimeUs> start = gap_start(oldest_request_us);
  return start && now_us - *start >= bound();
}

}  // namespace bastion::bft
