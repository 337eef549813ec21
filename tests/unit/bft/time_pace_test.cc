// TimePace: how fast agreed time may run ahead of one replica's clock (docs/protocol.md,
// "Agreed time").
#include "bft/core/time_pace.h"

#include <gtest/gtest.h>

namespace bastion::bft {
namespace {

constexpr TimeUs kSlack = 100'000;
constexpr TimeUs kWindow = 10'000'000;

TEST(TimePace, NothingNotedMeansOnlyTheSkewBoundApplies) {
  TimePace pace(kSlack, kWindow);
  EXPECT_FALSE(pace.limit(5'000'000).has_value());
  EXPECT_EQ(pace.stamp(5'000'000), 5'000'000);
}

TEST(TimePace, AcceptsUpToTheSlackAheadOfTheRecentPace) {
  TimePace pace(kSlack, kWindow);
  pace.note(1'000'000, 1'000'000);  // a batch stamped with this replica's own time
  EXPECT_EQ(pace.limit(2'000'000), 2'000'000 + kSlack);
  // Batches that lag this clock do not lower the limit below the clock itself.
  pace.note(2'000'000, 1'500'000);
  EXPECT_EQ(pace.limit(3'000'000), 3'000'000 + kSlack);
}

TEST(TimePace, APushingPrimaryGainsAtMostTheSlackPerHalfWindow) {
  TimePace pace(kSlack, kWindow);
  TimeUs now = 0;
  pace.note(now, now);
  // A primary stamping every batch at the limit, one batch every 10 ms for a minute.
  TimeUs ahead = 0;
  for (int i = 0; i < 6000; ++i) {
    now += 10'000;
    const TimeUs t = *pace.limit(now);
    pace.note(now, t);
    ahead = t - now;
  }
  // A minute is 12 half windows: at most 13 slacks ahead, not the whole skew.
  EXPECT_LE(ahead, 13 * kSlack);
  EXPECT_GE(ahead, kSlack);
}

TEST(TimePace, AnIdleSpellDoesNotForgetThePace) {
  TimePace pace(kSlack, kWindow);
  pace.note(0, 0);
  // An hour later, the first batch is still bounded by the pace seen before.
  EXPECT_EQ(pace.limit(3'600'000'000), 3'600'000'000 + kSlack);
}

TEST(TimePace, ACorrectPrimaryAheadOfTheOthersFollowsThePaceAndConvergesOnItsClock) {
  // This replica's clock is 400 ms ahead of agreed time: as primary it stamps no further ahead
  // of the pace than half the slack, so backups that saw the same pace never hold its batches.
  TimePace primary(kSlack, kWindow);
  TimePace backup(kSlack, kWindow);
  constexpr TimeUs kAhead = 400'000;
  TimeUs now = 0;  // the backup's clock; the primary's reads now + kAhead
  primary.note(now + kAhead, now);
  backup.note(now, now);
  TimeUs stamp = 0;
  for (int i = 0; i < 12'000; ++i) {  // two minutes, a batch every 10 ms
    now += 10'000;
    stamp = std::max(primary.stamp(now + kAhead), stamp + 1);
    ASSERT_LE(stamp, *backup.limit(now)) << "held at step " << i;
    primary.note(now + kAhead, stamp);
    backup.note(now, stamp);
  }
  EXPECT_EQ(stamp, now + kAhead);  // caught up with its own clock
}

}  // namespace
}  // namespace bastion::bft
