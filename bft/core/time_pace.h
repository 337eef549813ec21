// How fast agreed time may run, as one replica sees it (docs/protocol.md, "Agreed time").
//
// A replica remembers the lowest offset (batch timestamp minus its own clock) among the batches
// it accepted or proposed lately: over the current half window and the one before it. A batch
// may then run ahead of this replica's clock by at most max(that offset, 0) + slack, so agreed
// time gains on a correct clock at most `slack` per half window, however its primaries stamp.
// A primary stamps its own clock, but never more than half the slack ahead of the recent pace,
// so a correct primary whose clock runs ahead of the others' converges on it at half the rate
// the backups allow and is never held. Pure: the caller passes its clock in.
#pragma once

#include <optional>

#include "bft/core/types.h"

namespace bastion::bft {

class TimePace {
 public:
  TimePace(TimeUs slack_us, TimeUs window_us);

  // A batch stamped `timestamp_us` was accepted or proposed at local time `now_us`.
  void note(TimeUs now_us, TimeUs timestamp_us);
  // The latest timestamp acceptable at local time `now_us`; nullopt before any batch was noted
  // (a fresh or restarted replica: only the skew bound applies).
  std::optional<TimeUs> limit(TimeUs now_us) const;
  // The timestamp a correct primary proposes at `now_us` (before the increasing-time floor).
  TimeUs stamp(TimeUs now_us) const;

 private:
  struct Bucket {
    TimeUs start_us = 0;
    TimeUs lowest = 0;
  };
  std::optional<TimeUs> lowest() const;

  TimeUs slack_us_;
  TimeUs half_window_us_;
  // Buckets rotate only when a batch is noted: an idle spell does not forget the pace, or a
  // faulty primary could wait for one and then jump by the whole skew.
  std::optional<Bucket> current_;
  std::optional<Bucket> previous_;
};

}  // namespace bastion::bft
