// The view a replica is in and its view-change timer (PBFT sections 4.4 and 4.5.2): the view's
// number, whether the replica is still changing into it (sent VIEW-CHANGE, no NEW-VIEW yet), when
// it entered it, the NEW-VIEW that established it (served again to replicas that missed it), and
// the timer that moves to the next view when a view change does not complete. The timer's length
// doubles with each failed view change, up to a cap, and returns to its base once a batch of an
// installed view executes.
//
// Views only grow (checked). Deciding when to change view, and to which, is the caller's.
//
// Thread-safety: none.
#pragma once

#include <optional>

#include "bft/core/types.h"

namespace bastion::bft {

class ViewState {
 public:
  ViewState(TimeUs timeout_base_us, TimeUs timeout_max_us);

  ViewNum number() const { return number_; }
  bool changing() const { return changing_; }
  TimeUs entered_us() const { return entered_us_; }
  // The NEW-VIEW that established this view, encoded; null while changing or in view 0.
  const SharedBytes& new_view_bytes() const { return new_view_bytes_; }
  // When the view change times out, if the timer runs.
  std::optional<TimeUs> deadline_us() const { return deadline_us_; }

  // A restarted replica resumes the view it persisted.
  void restore(ViewNum view, bool changing, TimeUs now_us);
  // Moves to `view` (higher than this one), forgetting this view's NEW-VIEW and timer. Whether
  // the replica is changing into it stays as it was: begin_change() or install() decides.
  void enter(ViewNum view, TimeUs now_us);
  // Moves to `view` (higher than this one) and starts changing into it.
  void begin_change(ViewNum view, TimeUs now_us);
  // The view's NEW-VIEW is accepted: the view runs; the next batch of it that executes resets
  // the timer's length.
  void install(SharedBytes new_view_bytes, TimeUs now_us);

  // Starts the timer if the replica is changing view and it does not run yet (the caller knows
  // that the view change could complete).
  void start_timer(TimeUs now_us);
  // True once when the running timer expired; the next view change waits twice as long.
  bool timer_expired(TimeUs now_us);
  // A batch of `view` executed.
  void batch_executed(ViewNum view);

  // The timer runs only while changing view, and a view being changed into has no NEW-VIEW yet;
  // aborts (BASTION_CHECK) otherwise.
  void check() const;

 private:
  TimeUs timeout_base_us_;
  TimeUs timeout_max_us_;
  ViewNum number_ = 0;
  bool changing_ = false;
  TimeUs entered_us_ = 0;
  SharedBytes new_view_bytes_;
  TimeUs timeout_us_;
  std::optional<TimeUs> deadline_us_;
  bool reset_timeout_on_progress_ = false;
};

}  // namespace bastion::bft
