// Thread-safety: a TimePace belongs to one replica's core (single-threaded).
#include "bft/core/time_pace.h"

#include <algorithm>

namespace bastion::bft {

TimePace::TimePace(TimeUs slack_us, TimeUs window_us)
    : slack_us_(slack_us), half_window_us_(window_us / 2) {}

void TimePace::note(TimeUs now_us, TimeUs timestamp_us) {
  const TimeUs offset = timestamp_us - now_us;
  if (!current_ || now_us - current_->start_us >= half_window_us_) {
    previous_ = current_;
    current_ = Bucket{now_us, offset};
  } else {
    current_->lowest = std::min(current_->lowest, offset);
  }
}

std::optional<TimeUs> TimePace::lowest() const {
  if (!current_) return std::nullopt;
  return previous_ ? std::min(previous_->lowest, current_->lowest) : current_->lowest;
}

std::optional<TimeUs> TimePace::limit(TimeUs now_us) const {
  const std::optional<TimeUs> low = lowest();
  if (!low) return std::nullopt;
  return now_us + std::max<TimeUs>(*low, 0) + slack_us_;
}

TimeUs TimePace::stamp(TimeUs now_us) const {
  const std::optional<TimeUs> low = lowest();
  if (!low) return now_us;
  return std::min(now_us, now_us + *low + slack_us_ / 2);
}

}  // namespace bastion::bft
