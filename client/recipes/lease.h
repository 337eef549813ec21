// Lease bookkeeping shared by the recipes: what a holder may believe about a leased tuple, and an
// optional background renewer.
//
// The timing rule. A tuple inserted or renewed with lease L expires at (agreed time of execution
// + L). The request was executed after it was sent, so in real time the tuple lives at least
// until (send time + L), less what agreed time can run ahead of real time (docs/protocol.md,
// "Agreed time": up to agreed_time_slack x (1 + 2L / agreed_time_window), 300 ms for a 10 s
// lease by default) and the client clock's own rate error. So a holder trusts its lease until
// (send time of the request that started or renewed it + L - margin), measured on its own
// steady clock from when the request was SENT, never from when the reply came (the reply may be
// arbitrarily late). The margin must cover those bounds; the recipes default to a quarter of the
// lease.
//
// Thread-safety: LeaseClock is safe to use from any threads. KeepAlive runs one thread of its own,
// which it joins in stop() and in its destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "client/client.h"
#include "codec/thread_annotations.h"

namespace bastion::recipes {

using Clock = std::chrono::steady_clock;

// How long a recipe's leased tuples live and how early their holder stops trusting them.
struct LeaseOptions {
  Millis lease{10'000};
  Millis margin{2'500};  // must exceed agreed time's early-expiry bound plus client clock error
};

// Until when a holder may act on its lease, on this process's steady clock.
class LeaseClock {
 public:
  // A request that (re)started the lease with `options.lease` was sent at `sent`. The validity
  // only moves forward: a late reply to an older renewal cannot shorten a newer one.
  void started(Clock::time_point sent, const LeaseOptions& options);
  // The tuple is known to be gone (released, or a renewal found nothing).
  void lost();
  bool valid(Clock::time_point now = Clock::now()) const { return now < valid_until(); }
  Clock::time_point valid_until() const;

 private:
  std::atomic<Clock::rep> until_ticks_{Clock::time_point::min().time_since_epoch().count()};
};

// Calls `renew` every `interval` on its own thread until `renew` returns false or stop() is
// called. The first call comes one interval after construction.
class KeepAlive {
 public:
  KeepAlive(std::function<bool()> renew, Millis interval);
  ~KeepAlive();
  KeepAlive(const KeepAlive&) = delete;
  KeepAlive& operator=(const KeepAlive&) = delete;

  // Ends the loop and joins the thread (a renewal in progress finishes first). Idempotent; must
  // not be called from inside `renew`.
  void stop();
  // False once `renew` returned false or stop() was called.
  bool running() const { return running_.load(); }

 private:
  void loop() BASTION_EXCLUDES(mutex_);

  std::function<bool()> renew_;
  Millis interval_;
  Mutex mutex_;
  CondVar wake_;
  bool stopping_ BASTION_GUARDED_BY(mutex_) = false;
  std::atomic<bool> running_{true};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace bastion::recipes
