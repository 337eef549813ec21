// FencedLock: a named mutual-exclusion lock with a lease and a fencing token.
//
// Each acquisition is granted a token, an integer that grows by exactly one per acquisition of
// that lock, in the service's agreed order. A holder passes its token along with every write to
// a protected resource, and the resource rejects tokens below the highest it has seen: then a
// holder whose lease ran out while it was paused cannot corrupt the resource, because every later
// holder's token is greater than its own (docs/recipes.md, "Lock", says why).
//
// The guarantee rests on the space's policy, examples/policies/fenced_lock.lua (also
// FencedLock::policy()): the space must carry exactly that script, which acquire() checks once
// before its first attempt (it fails with kConfig otherwise). Tuples, per lock name:
//   ("FENCE", name, n)                 no lease: the last token granted (0: none yet)
//   ("LOCK", name, holder, token)      leased: the current holder; holder is the principal
// Two processes with the same identity are one holder to the policy: give each its own identity.
//
// Holding: held() follows the timing rule of lease.h (trust the lease until send time of the
// request that started or renewed it + lease - margin). The holder must renew() before that, by
// itself or with a KeepAlive; a lock that is not renewed frees itself when its lease runs out.
//
// Thread-safety: every method may be called from any thread (a KeepAlive calling renew() while
// another thread asks held() or token()), but calls that change the holding (acquire, release)
// should come from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.h"
#include "client/recipes/lease.h"
#include "codec/thread_annotations.h"

namespace bastion::recipes {

struct LockOptions {
  LeaseOptions lease;
  Millis retry{50};  // how often a waiting acquire() tries again while someone else holds it
  CallOptions call;  // per-call timeout of the underlying operations
};

class FencedLock {
 public:
  FencedLock(Client& client, std::string space, std::string name, LockOptions options = {});

  // The Lua policy the lock's space must carry (examples/policies/fenced_lock.lua).
  static std::string_view policy();

  // One attempt: the granted token, or empty when someone else holds the lock.
  Expected<std::optional<std::int64_t>> try_acquire();
  // Tries every options.retry until the lock is granted or `wait` passes (0 = forever).
  Expected<std::optional<std::int64_t>> acquire(Millis wait);
  // Extends the lease. False: the lock was lost (its lease ran out, or it was not held). An error
  // leaves the holding as it was: held() still ends when the last good renewal says.
  Expected<bool> renew();
  // Removes the lock tuple. False: it was not there any more (the lease had run out).
  Expected<bool> release();

  // Whether this process may still act as the holder (the timing rule), and with which token.
  bool held() const { return lease_clock_.valid(); }
  std::optional<std::int64_t> token() const;
  Clock::time_point valid_until() const { return lease_clock_.valid_until(); }
  const std::string& name() const { return name_; }

 private:
  Expected<Done> check_policy();
  Expected<std::int64_t> read_fence();
  Expected<std::optional<std::int64_t>> commit(std::int64_t token, Clock::time_point sent);
  Expected<std::optional<std::int64_t>> adopt(std::int64_t token);

  Client& client_;
  const std::string space_;
  const std::string name_;
  const LockOptions options_;
  bool policy_checked_ = false;  // touched by acquire() only
  LeaseClock lease_clock_;
  mutable Mutex mutex_;
  std::optional<std::int64_t> token_ BASTION_GUARDED_BY(mutex_);
};

}  // namespace bastion::recipes
