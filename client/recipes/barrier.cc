// Barrier (see barrier.h).
#include "client/recipes/barrier.h"

#include <utility>

#include "client/recipes/fields.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

Barrier::Barrier(Client& client, std::string space, std::string name, std::int64_t parties,
                 std::int64_t first_epoch, CallOptions call)
    : client_(client),
      space_(std::move(space)),
      name_(std::move(name)),
      parties_(parties),
      call_(call),
      epoch_(first_epoch) {}

// Counts this party in; the count after it. A lost race (the replace found no tuple with the
// count we read) means another party counted itself: read again.
Expected<std::int64_t> Barrier::arrive() {
  const Template round = {is("BARRIER"), is(name_), is(epoch_), any()};
  while (true) {
    auto read = client_.cas(space_, round, {"BARRIER", name_, epoch_, 1}, {}, call_);
    if (!read) return fail(read.error());
    if (read->inserted) return std::int64_t{1};
    const auto count = detail::int_field(*read->existing, 3);
    if (!count) return fail(detail::malformed("barrier " + name_, *read->existing));
    auto replaced = client_.replace(space_, ts::exact(*read->existing),
                                    {"BARRIER", name_, epoch_, *count + 1}, {}, call_);
    if (!replaced) return fail(replaced.error());
    if (replaced->has_value()) return *count + 1;
  }
}

Expected<bool> Barrier::arrive_and_wait(Millis wait) {
  if (parties_ < 1) {
    return fail(detail::error(Errc::kInvalidArgument, "a barrier needs at least one party"));
  }
  if (!arrived_) {
    auto count = arrive();
    if (!count) return fail(count.error());
    arrived_ = true;
    if (*count == parties_) {
      // Best effort: a leftover tuple costs space, not correctness.
      (void)client_.inp(space_, {is("BARRIER"), is(name_), is(epoch_ - 1), any()}, call_);
    }
  }
  const Tuple open = {"BARRIER", name_, epoch_, parties_};
  auto released = client_.rd(space_, ts::exact(open), wait, call_);
  if (!released) return fail(released.error());
  if (!released->has_value()) return false;
  arrived_ = false;
  ++epoch_;
  return true;
}

}  // namespace bastion::recipes
