// Semaphore (see semaphore.h).
#include "client/recipes/semaphore.h"

#include <thread>
#include <utility>

#include "client/recipes/fields.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

Semaphore::Semaphore(Client& client, std::string space, std::string name, std::int64_t permits,
                     SemaphoreOptions options)
    : client_(client),
      space_(std::move(space)),
      name_(std::move(name)),
      permits_(permits),
      options_(options),
      random_(options.seed != 0 ? static_cast<std::minstd_rand::result_type>(options.seed)
                                : std::random_device{}()) {
  holder_ = client_.principal() + "/" + std::to_string(random_());
}

Expected<std::optional<Permit>> Semaphore::try_acquire() {
  if (permits_ < 1) {
    return fail(detail::error(Errc::kInvalidArgument, "a semaphore needs at least one permit"));
  }
  std::int64_t first = 0;
  {
    const MutexLock lock(random_mutex_);
    first = std::uniform_int_distribution<std::int64_t>(0, permits_ - 1)(random_);
  }
  const Insert how{options_.lease.lease, {}, {client_.principal()}};
  for (std::int64_t i = 0; i < permits_; ++i) {
    const std::int64_t slot = (first + i) % permits_;
    const Clock::time_point sent = Clock::now();
    auto taken = client_.cas(space_, {is("SEM"), is(name_), is(slot), any()}, tuple_of(slot), how,
                             options_.call);
    if (!taken) return fail(taken.error());
    if (taken->inserted) {
      LeaseClock clock;
      clock.started(sent, options_.lease);
      return std::optional<Permit>{Permit{slot, clock.valid_until()}};
    }
  }
  return std::optional<Permit>{};
}

Expected<std::optional<Permit>> Semaphore::acquire(Millis wait) {
  const detail::Deadline deadline(wait);
  while (true) {
    auto attempt = try_acquire();
    if (!attempt || attempt->has_value() || deadline.passed()) return attempt;
    std::this_thread::sleep_for(deadline.left(options_.retry));
  }
}

Expected<bool> Semaphore::renew(Permit& permit) {
  const Clock::time_point sent = Clock::now();
  auto renewed =
      client_.renew(space_, ts::exact(tuple_of(permit.slot)), options_.lease.lease, options_.call);
  if (!renewed) return fail(renewed.error());
  if (!renewed->has_value()) {
    permit.valid_until = Clock::time_point::min();
    return false;
  }
  LeaseClock clock;
  clock.started(sent, options_.lease);
  permit.valid_until = clock.valid_until();
  return true;
}

Expected<bool> Semaphore::release(Permit& permit) {
  permit.valid_until = Clock::time_point::min();  // no longer ours from the moment we send
  auto removed = client_.inp(space_, ts::exact(tuple_of(permit.slot)), options_.call);
  if (!removed) return fail(removed.error());
  return removed->has_value();
}

}  // namespace bastion::recipes
