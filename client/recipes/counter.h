// Counter: a shared integer with atomic increments, usable as a sequencer.
//
// One tuple per counter, ("COUNTER", name, value), without a lease (0 when absent). increment()
// reads the value in the agreed order (a cas that creates the counter when it is absent) and
// replaces exactly that tuple with value + delta; when another client got there first the
// replace finds nothing and it tries again after a short random pause. Each successful replace
// removes the one tuple with the old value, so every increment gets a distinct new value and the
// values handed out by increments of 1 are contiguous.
//
// An increment that fails with kUnavailable has an unknown outcome (it may have counted): do not
// retry it blindly where a skipped number matters.
//
// Thread-safety: any thread; one Counter object may be shared.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "client/client.h"
#include "codec/thread_annotations.h"

namespace bastion::recipes {

struct CounterOptions {
  Millis contention_max{10'000};  // give up (kTimedOut) after losing races for this long
  Millis backoff_max{20};         // the random pause after a lost race is below this
  std::uint64_t seed = 0;         // of the pauses' random generator; 0: from std::random_device
  CallOptions call;
};

class Counter {
 public:
  Counter(Client& client, std::string space, std::string name, CounterOptions options = {});

  // Adds `delta` and returns the new value.
  Expected<std::int64_t> increment(std::int64_t delta = 1);
  // The current value (0 before the first increment), read without ordering.
  Expected<std::int64_t> value();
  const std::string& name() const { return name_; }

 private:
  Millis backoff();

  Client& client_;
  const std::string space_;
  const std::string name_;
  const CounterOptions options_;
  Mutex random_mutex_;
  std::minstd_rand random_ BASTION_GUARDED_BY(random_mutex_);
};

}  // namespace bastion::recipes
