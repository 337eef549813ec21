// Lease bookkeeping and the background renewer (see lease.h).
#include "client/recipes/lease.h"

#include <utility>

namespace bastion::recipes {

void LeaseClock::started(Clock::time_point sent, const LeaseOptions& options) {
  const Clock::rep until = (sent + options.lease - options.margin).time_since_epoch().count();
  Clock::rep current = until_ticks_.load();
  while (current < until && !until_ticks_.compare_exchange_weak(current, until)) {
  }
}

void LeaseClock::lost() { until_ticks_.store(Clock::time_point::min().time_since_epoch().count()); }

Clock::time_point LeaseClock::valid_until() const {
  return Clock::time_point(Clock::duration(until_ticks_.load()));
}

KeepAlive::KeepAlive(std::function<bool()> renew, Millis interval)
    : renew_(std::move(renew)), interval_(interval), thread_([this] { loop(); }) {}

KeepAlive::~KeepAlive() { stop(); }

void KeepAlive::stop() {
  {
    const MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_.store(false);
}

void KeepAlive::loop() {
  MutexLock lock(mutex_);
  for (;;) {
    const auto deadline = std::chrono::steady_clock::now() + interval_;
    while (!stopping_ && std::chrono::steady_clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
    }
    if (stopping_) break;
    // Renew without the mutex, so stop() is not held up behind a slow call longer than needed.
    lock.unlock();
    const bool again = renew_();
    lock.lock();
    if (!again) break;
  }
  running_.store(false);
}

}  // namespace bastion::recipes
