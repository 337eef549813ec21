// Election (see election.h): the fenced lock plus observation and background renewal.
#include "client/recipes/election.h"

#include <utility>

#include "client/recipes/fields.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

Election::Election(Client& client, std::string space, std::string name, ElectionOptions options)
    : client_(client),
      space_(std::move(space)),
      name_(std::move(name)),
      options_(options),
      lock_(client_, space_, name_, options_.lock) {}

Election::~Election() {
  if (keep_alive_) keep_alive_->stop();
}

Expected<std::optional<std::int64_t>> Election::campaign(Millis wait) {
  if (keep_alive_) keep_alive_->stop();
  auto elected = lock_.acquire(wait);
  if (!elected || !elected->has_value() || !options_.renew_in_background) return elected;
  // Three tries per trusted period: one lost or slow renewal does not end the leadership.
  const LeaseOptions& lease = options_.lock.lease;
  const Millis interval = std::max(Millis{1}, (lease.lease - lease.margin) / 3);
  keep_alive_ = std::make_unique<KeepAlive>(
      [this] {
        auto renewed = lock_.renew();
        if (renewed) return *renewed;  // false: the lease is gone, stop
        return lock_.held();           // an error: try again while the lease may still hold
      },
      interval);
  return elected;
}

Expected<Done> Election::resign() {
  // The renewer first: a renewal racing the release must not find the tuple and report it held.
  if (keep_alive_) keep_alive_->stop();
  keep_alive_.reset();
  auto released = lock_.release();
  if (!released) return fail(released.error());
  return Done{};
}

Expected<Election::View> Election::observe() {
  auto fence = client_.rdp(space_, {is("FENCE"), is(name_), any()}, options_.lock.call);
  if (!fence) return fail(fence.error());
  View view;
  if (!fence->has_value()) return view;  // no election has happened
  const auto term = detail::int_field(**fence, 2);
  if (!term) return fail(detail::malformed("the fence of election " + name_, **fence));
  view.fence = *term;
  auto holder =
      client_.rdp(space_, {is("LOCK"), is(name_), any(), is(view.fence)}, options_.lock.call);
  if (!holder) return fail(holder.error());
  if (holder->has_value()) {
    const Tuple& t = **holder;
    if (t.size() != 4 || !t[2].is(ts::Type::kString)) {
      return fail(detail::malformed("the leader tuple of election " + name_, t));
    }
    view.leader = Leader{t[2].as_string(), view.fence};
  }
  return view;
}

Expected<std::optional<Leader>> Election::leader() {
  auto view = observe();
  if (!view) return fail(view.error());
  return std::move(view->leader);
}

Expected<std::optional<Leader>> Election::wait_for_change(const std::optional<Leader>& known,
                                                          Millis wait) {
  const detail::Deadline deadline(wait);
  while (true) {
    auto view = observe();
    if (!view) return fail(view.error());
    if (view->leader != known || deadline.passed()) return std::move(view->leader);
    // A new term appears as the fence moving to fence + 1: wait for exactly that tuple, and look
    // again every observe_poll for a leader that went away without a successor.
    auto moved = client_.rd(space_, ts::exact(Tuple{"FENCE", name_, view->fence + 1}),
                            deadline.left(options_.observe_poll), options_.lock.call);
    if (!moved) return fail(moved.error());
  }
}

}  // namespace bastion::recipes
