// Election: leader election among any number of candidates, with leases renewed by the leader.
//
// Built on FencedLock (lock.h): the leader is the holder of the lock `name` in a space that
// carries examples/policies/fenced_lock.lua, and its term is the lock's fencing token, so terms
// grow by one per election and a deposed leader's term is below every later leader's (a resource
// that checks terms fences it off, as for the lock).
//
//   campaign(wait)           blocks until elected (the term) or `wait` passes (empty)
//   is_leader()              the timing rule of lease.h: true until send time of the last
//                            successful renewal + lease - margin
//   leader()                 the current leader as others see it: the live lock tuple whose
//                            token equals the fence (a candidate that has not committed its
//                            term is not a leader yet)
//   wait_for_change(known)   blocks until the leader differs from `known` (a new term, or
//                            none), or `wait` passes
//   resign()                 stops renewing and removes the lock tuple
//
// Renewal: once elected, a KeepAlive thread renews the lease every (lease - margin) / 3 until
// resign() or the destructor stops and joins it, or a renewal finds the lease gone. With
// ElectionOptions::renew_in_background false there is no thread and the leader calls renew()
// itself. A leader that cannot renew stops being leader when is_leader() turns false, which is
// before its tuple can expire for the others.
//
// Thread-safety: is_leader(), term(), leader() and wait_for_change() may be called from any
// thread; campaign() and resign() from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "client/client.h"
#include "client/recipes/lease.h"
#include "client/recipes/lock.h"

namespace bastion::recipes {

struct Leader {
  std::string id;  // the leader's principal
  std::int64_t term = 0;
  friend bool operator==(const Leader&, const Leader&) = default;
};

struct ElectionOptions {
  LockOptions lock;                 // lease, margin, and how often a candidate retries
  Millis observe_poll{250};         // how often wait_for_change looks for a vacancy
  bool renew_in_background = true;  // false: the leader calls renew() itself
};

class Election {
 public:
  Election(Client& client, std::string space, std::string name, ElectionOptions options = {});
  // Stops renewing; does not resign (the lease runs out). Call resign() to step down at once.
  ~Election();
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  Expected<std::optional<std::int64_t>> campaign(Millis wait);
  Expected<bool> renew() { return lock_.renew(); }
  Expected<Done> resign();

  bool is_leader() const { return lock_.held(); }
  std::optional<std::int64_t> term() const { return lock_.token(); }
  Clock::time_point leader_until() const { return lock_.valid_until(); }

  Expected<std::optional<Leader>> leader();
  Expected<std::optional<Leader>> wait_for_change(const std::optional<Leader>& known, Millis wait);

 private:
  struct View {
    std::int64_t fence = 0;
    std::optional<Leader> leader;
  };
  Expected<View> observe();

  Client& client_;
  const std::string space_;
  const std::string name_;
  const ElectionOptions options_;
  FencedLock lock_;
  std::unique_ptr<KeepAlive> keep_alive_;
};

}  // namespace bastion::recipes
