// The slow-primary check, as one backup sees it (docs/protocol.md, "A slow primary"; Aardvark's
// expected-throughput check): while requests wait and the primary has room to propose (the next
// seq is inside the window and fewer than pipeline_max batches are in flight), its next
// pre-prepare is expected within a bound derived from this replica's own recent agreement time
// (pre-prepare accepted to batch executed, smoothed): slow_primary_factor times it, plus
// batch_delay_us and vouch_defer_us, clamped to [request_timeout_us / 10, request_timeout_us].
// One slow gap is forgiven (a pre-prepare lost on the way); the second in a row, or a gap while
// a pre-prepare waits here for agreed time's pace, makes the primary slow.
//
// Pure: the caller passes its clock and the start of its oldest request timer in, and decides
// what to do about a slow primary.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <optional>

#include "bft/core/config.h"
#include "bft/core/types.h"

namespace bastion::bft {

class PrimaryMonitor {
 public:
  explicit PrimaryMonitor(const Config& config);

  // A view was installed at `now_us`, its pre-prepares up to `high_seq` known.
  void view_installed(SeqNum high_seq, TimeUs now_us);
  // A pre-prepare for `seq` was accepted; `oldest_request_us`: when the oldest request timer
  // started, if one runs.
  void pre_prepare_accepted(SeqNum seq, TimeUs now_us, std::optional<TimeUs> oldest_request_us);
  // A batch whose pre-prepare was accepted at `accepted_us` was executed at `now_us`.
  void executed(TimeUs accepted_us, TimeUs now_us);
  // Whether the primary has room to propose, after every event.
  void track_room(bool room, TimeUs now_us);

  // The highest seq whose pre-prepare this replica accepted in this view (or the view's start).
  SeqNum high_seq() const { return high_seq_; }
  // Since when the primary could have proposed and has not, while requests wait; nullopt if
  // it has no room or no request waits.
  std::optional<TimeUs> gap_start(std::optional<TimeUs> oldest_request_us) const;
  // How long a gap may last before it counts as slow.
  TimeUs bound() const;
  bool slow(TimeUs now_us, std::optional<TimeUs> oldest_request_us, bool pace_waiting) const;

 private:
  std::uint32_t factor_;
  TimeUs fixed_us_;  // batch_delay_us + vouch_defer_us
  TimeUs request_timeout_us_;
  SeqNum high_seq_ = 0;
  TimeUs last_pre_prepare_us_ = 0;
  std::optional<TimeUs> room_since_us_;
  std::optional<TimeUs> agreement_us_;  // smoothed, 1/8 of each new sample
  std::uint32_t slow_gaps_ = 0;         // pre-prepares in a row that ended a slow gap
};

}  // namespace bastion::bft
