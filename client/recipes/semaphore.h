// Semaphore: at most n permits held at once, each with a lease so a crashed holder's permit
// comes back.
//
// A permit is a slot s in [0, n): ("SEM", name, s, holder) with a lease, inserted with
// cas(("SEM", name, s, *), ...) so that each slot has at most one live tuple, hence at most n
// permits. holder is the principal plus a random suffix per Semaphore object, and the tuple's
// removers list names only the principal, so no other identity can release or renew it (renew
// needs remove permission). Every party must use the same n for the same name.
//
// A permit follows the timing rule of lease.h: Permit::valid() until send time of the request
// that inserted or renewed it + lease - margin. Renew before that (by hand or with a KeepAlive),
// release when done.
//
// acquire(wait) tries every slot, starting at a random one, and again every `retry` until one is
// free or `wait` passes (0 = forever): the tuple space cannot wait for a tuple to go away.
//
// Thread-safety: the Semaphore may be shared; a Permit belongs to the thread using it.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "client/client.h"
#include "client/recipes/lease.h"
#include "codec/thread_annotations.h"

namespace bastion::recipes {

struct SemaphoreOptions {
  LeaseOptions lease;
  Millis retry{50};
  std::uint64_t seed = 0;  // of the holder suffix and the first slot tried; 0: random_device
  CallOptions call;
};

struct Permit {
  std::int64_t slot = 0;
  Clock::time_point valid_until;
  bool valid(Clock::time_point now = Clock::now()) const { return now < valid_until; }
};

class Semaphore {
 public:
  Semaphore(Client& client, std::string space, std::string name, std::int64_t permits,
            SemaphoreOptions options = {});

  // One pass over the slots: a permit, or empty when all n are taken.
  Expected<std::optional<Permit>> try_acquire();
  Expected<std::optional<Permit>> acquire(Millis wait);
  // False: the permit's lease had run out (its slot may belong to someone else now).
  Expected<bool> renew(Permit& permit);
  Expected<bool> release(Permit& permit);

  const std::string& holder() const { return holder_; }

 private:
  Tuple tuple_of(std::int64_t slot) const { return {"SEM", name_, slot, holder_}; }

  Client& client_;
  const std::string space_;
  const std::string name_;
  const std::int64_t permits_;
  const SemaphoreOptions options_;
  std::string holder_;
  Mutex random_mutex_;
  std::minstd_rand random_ BASTION_GUARDED_BY(random_mutex_);
};

}  // namespace bastion::recipes
