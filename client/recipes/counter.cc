// Counter (see counter.h).
#include "client/recipes/counter.h"

#include <chrono>
#include <thread>
#include <utility>

#include "client/recipes/fields.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

namespace {

std::minstd_rand::result_type seed_of(std::uint64_t seed) {
  if (seed != 0) return static_cast<std::minstd_rand::result_type>(seed);
  return std::random_device{}();
}

}  // namespace

Counter::Counter(Client& client, std::string space, std::string name, CounterOptions options)
    : client_(client),
      space_(std::move(space)),
      name_(std::move(name)),
      options_(options),
      random_(seed_of(options.seed)) {}

Millis Counter::backoff() {
  const MutexLock lock(random_mutex_);
  const auto max = std::max<std::int64_t>(1, options_.backoff_max.count());
  return Millis{std::uniform_int_distribution<std::int64_t>(0, max - 1)(random_)};
}

Expected<std::int64_t> Counter::increment(std::int64_t delta) {
  const detail::Deadline deadline(options_.contention_max);
  const Template any_value = {is("COUNTER"), is(name_), any()};
  while (true) {
    // Read in order; when the counter does not exist this very cas is the increment.
    auto read = client_.cas(space_, any_value, {"COUNTER", name_, delta}, {}, options_.call);
    if (!read) return fail(read.error());
    if (read->inserted) return delta;
    const auto current = detail::int_field(*read->existing, 2);
    if (!current) return fail(detail::malformed("counter " + name_, *read->existing));
    const std::int64_t next = *current + delta;
    auto replaced = client_.replace(space_, ts::exact(*read->existing), {"COUNTER", name_, next},
                                    {}, options_.call);
    if (!replaced) return fail(replaced.error());
    if (replaced->has_value()) return next;
    if (deadline.passed()) {
      return fail(detail::error(Errc::kTimedOut,
                                "counter " + name_ + ": lost every race for " +
                                    std::to_string(options_.contention_max.count()) + " ms"));
    }
    std::this_thread::sleep_for(backoff());
  }
}

Expected<std::int64_t> Counter::value() {
  auto read = client_.rdp(space_, {is("COUNTER"), is(name_), any()}, options_.call);
  if (!read) return fail(read.error());
  if (!read->has_value()) return std::int64_t{0};
  const auto current = detail::int_field(**read, 2);
  if (!current) return fail(detail::malformed("counter " + name_, **read));
  return *current;
}

}  // namespace bastion::recipes
