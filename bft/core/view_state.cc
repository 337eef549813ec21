#include "bft/core/view_state.h"

#include <algorithm>

#include "codec/check.h"

namespace bastion::bft {

ViewState::ViewState(TimeUs timeout_base_us, TimeUs timeout_max_us)
    : timeout_base_us_(timeout_base_us),
      timeout_max_us_(timeout_max_us),
      timeout_us_(timeout_base_us) {}

void ViewState::restore(ViewNum view, bool changing, TimeUs now_us) {
  number_ = view;
  changing_ = changing;
  entered_us_ = now_us;
  deadline_us_.reset();
  new_view_bytes_.reset();
}

void ViewState::enter(ViewNum view, TimeUs now_us) {
  BASTION_CHECK(view > number_);  // views only grow
  number_ = view;
  entered_us_ = now_us;
  deadline_us_.reset();
  new_view_bytes_.reset();
}

void ViewState::begin_change(ViewNum view, TimeUs now_us) {
  enter(view, now_us);
  changing_ = true;
}

void ViewState::install(SharedBytes new_view_bytes, TimeUs now_us) {
  changing_ = false;
  deadline_us_.reset();
  entered_us_ = now_us;
  reset_timeout_on_progress_ = true;
  new_view_bytes_ = std::move(new_view_bytes);
}

void ViewState::start_timer(TimeUs now_us) {
  if (!changing_ || deadline_us_) return;
  deadline_us_ = now_us + timeout_us_;
}

bool ViewState::timer_expired(TimeUs now_us) {
  if (!changing_ || !deadline_us_ || now_us < *deadline_us_) return false;
  timeout_us_ = std::min(2 * timeout_us_, timeout_max_us_);
  deadline_us_.reset();
  return true;
}

void ViewState::check() const {
  BASTION_CHECK(!deadline_us_ || changing_);
  BASTION_CHECK(!changing_ || new_view_bytes_ == nullptr);
}

void ViewState::batch_executed(ViewNum view) {
  if (!reset_timeout_on_progress_ || view != number_) return;
  timeout_us_ = timeout_base_us_;
  reset_timeout_on_progress_ = false;
}

}  // namespace bastion::bft
