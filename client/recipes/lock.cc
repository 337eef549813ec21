// FencedLock (see lock.h; the protocol and why the token is safe: docs/recipes.md, "Lock").
#include "client/recipes/lock.h"

#include <thread>
#include <utility>

#include "client/recipes/fenced_lock_policy.h"
#include "client/recipes/fields.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

namespace {

constexpr const char* kFence = "FENCE";
constexpr const char* kLock = "LOCK";

}  // namespace

FencedLock::FencedLock(Client& client, std::string space, std::string name, LockOptions options)
    : client_(client), space_(std::move(space)), name_(std::move(name)), options_(options) {}

std::string_view FencedLock::policy() { return kFencedLockPolicy; }

std::optional<std::int64_t> FencedLock::token() const {
  const MutexLock lock(mutex_);
  return token_;
}

// Without the policy nothing stops a stale holder from committing a token, so refuse to run on a
// space that lacks it (fail closed) instead of handing out tokens that fence nothing.
Expected<Done> FencedLock::check_policy() {
  if (policy_checked_) return Done{};
  auto shown = client_.show_space(space_, options_.call);
  if (!shown) return fail(shown.error());
  if (shown->options.policy != policy()) {
    return fail(detail::error(Errc::kConfig, "space '" + space_ +
                                                 "' does not carry the fenced-lock policy "
                                                 "(examples/policies/fenced_lock.lua)"));
  }
  policy_checked_ = true;
  return Done{};
}

// An ordered read of the fence that also creates it at 0: cas inserts only when it is absent.
Expected<std::int64_t> FencedLock::read_fence() {
  auto outcome =
      client_.cas(space_, {is(kFence), is(name_), any()}, {kFence, name_, 0}, {}, options_.call);
  if (!outcome) return fail(outcome.error());
  if (outcome->inserted) return std::int64_t{0};
  const auto n = detail::int_field(*outcome->existing, 2);
  if (!n) return fail(detail::malformed("the fence of lock " + name_, *outcome->existing));
  return *n;
}

Expected<std::optional<std::int64_t>> FencedLock::try_acquire() {
  if (auto checked = check_policy(); !checked) return fail(checked.error());
  auto fence = read_fence();
  if (!fence) return fail(fence.error());
  const std::string& me = client_.principal();
  const std::int64_t next = *fence + 1;
  const Clock::time_point sent = Clock::now();
  auto outcome = client_.cas(space_, {is(kLock), is(name_), any(), any()}, {kLock, name_, me, next},
                             Insert{options_.lease.lease, {}, {}}, options_.call);
  if (!outcome) {
    // The policy denies a token that is not fence + 1: another holder committed between our read
    // and our cas. Anything else denied is a real error.
    if (outcome.error().code == Errc::kDenied) {
      auto again = read_fence();
      if (again && *again != *fence) return std::optional<std::int64_t>{};
    }
    return fail(outcome.error());
  }
  if (outcome->inserted) return commit(next, sent);
  const Tuple& existing = *outcome->existing;
  if (existing.size() != 4 || !existing[2].is(ts::Type::kString)) {
    return fail(detail::malformed("the tuple of lock " + name_, existing));
  }
  if (existing[2].as_string() != me) return std::optional<std::int64_t>{};
  // Ours already: an earlier attempt whose reply was lost, or a second acquire while holding.
  const auto token = detail::int_field(existing, 3);
  if (!token) return fail(detail::malformed("the tuple of lock " + name_, existing));
  return adopt(*token);
}

// The step that grants the token: only the live holder of ("LOCK", name, me, token) may move the
// fence from token - 1 to token, so a holder whose tuple expired before this point gets nothing.
Expected<std::optional<std::int64_t>> FencedLock::commit(std::int64_t token,
                                                         Clock::time_point sent) {
  const Tuple fence_before = {kFence, name_, token - 1};
  auto moved =
      client_.replace(space_, ts::exact(fence_before), {kFence, name_, token}, {}, options_.call);
  if (moved && moved->has_value()) {
    lease_clock_.started(sent, options_.lease);
    const MutexLock lock(mutex_);
    token_ = token;
    return std::optional<std::int64_t>{token};
  }
  if (!moved && moved.error().code != Errc::kDenied) {
    // Outcome unknown (e.g. unavailable): the next try_acquire finds our tuple and adopts it.
    return fail(moved.error());
  }
  // Denied or not found: our lock tuple expired before the commit. Remove it if it lingers.
  (void)client_.inp(space_, ts::exact(Tuple{kLock, name_, client_.principal(), token}),
                    options_.call);
  return std::optional<std::int64_t>{};
}

// Our tuple exists with `token`: restart its lease (we do not know when it began), then commit
// the token if that step had not happened yet.
Expected<std::optional<std::int64_t>> FencedLock::adopt(std::int64_t token) {
  const Clock::time_point sent = Clock::now();
  auto renewed = client_.renew(space_, ts::exact(Tuple{kLock, name_, client_.principal(), token}),
                               options_.lease.lease, options_.call);
  if (!renewed) return fail(renewed.error());
  if (!renewed->has_value()) return std::optional<std::int64_t>{};  // it just expired
  auto fence = read_fence();
  if (!fence) return fail(fence.error());
  if (*fence == token - 1) return commit(token, sent);
  if (*fence == token) {
    lease_clock_.started(sent, options_.lease);
    const MutexLock lock(mutex_);
    token_ = token;
    return std::optional<std::int64_t>{token};
  }
  return fail(detail::error(Errc::kProtocol, "lock " + name_ + " holds token " +
                                                 std::to_string(token) + " but its fence is at " +
                                                 std::to_string(*fence)));
}

Expected<std::optional<std::int64_t>> FencedLock::acquire(Millis wait) {
  const detail::Deadline deadline(wait);
  while (true) {
    auto attempt = try_acquire();
    if (!attempt || attempt->has_value() || deadline.passed()) return attempt;
    std::this_thread::sleep_for(deadline.left(options_.retry));
  }
}

Expected<bool> FencedLock::renew() {
  const auto token = this->token();
  if (!token) return false;
  const Clock::time_point sent = Clock::now();
  auto renewed = client_.renew(space_, ts::exact(Tuple{kLock, name_, client_.principal(), *token}),
                               options_.lease.lease, options_.call);
  if (!renewed) return fail(renewed.error());
  if (!renewed->has_value()) {
    lease_clock_.lost();
    const MutexLock lock(mutex_);
    if (token_ == token) token_.reset();
    return false;
  }
  lease_clock_.started(sent, options_.lease);
  return true;
}

Expected<bool> FencedLock::release() {
  std::optional<std::int64_t> token;
  {
    const MutexLock lock(mutex_);
    token = std::exchange(token_, std::nullopt);
  }
  if (!token) return false;
  // Stop acting as the holder before the release is sent: from then on someone else may hold it.
  lease_clock_.lost();
  auto removed = client_.inp(space_, ts::exact(Tuple{kLock, name_, client_.principal(), *token}),
                             options_.call);
  if (!removed) return fail(removed.error());
  return removed->has_value();
}

}  // namespace bastion::recipes
