// Queue (see queue.h for the tuples and the gap rule).
#include "client/recipes/queue.h"

#include <utility>

#include "client/recipes/fields.h"
#include "client/recipes/lease.h"

namespace bastion::recipes {

using detail::any;
using detail::is;

namespace {

constexpr const char* kItem = "ITEM";
constexpr const char* kGap = "GAP";

}  // namespace

Queue::Queue(Client& client, std::string space, std::string name, QueueOptions options)
    : client_(client),
      space_(std::move(space)),
      name_(std::move(name)),
      options_(std::move(options)),
      tickets_(client_, space_, "queue:" + name_, options_.tickets) {}

// An ordered read of the head that creates it at 1 when absent (tickets start at 1).
Expected<std::int64_t> Queue::read_head() {
  auto read =
      client_.cas(space_, {is("QHEAD"), is(name_), any()}, {"QHEAD", name_, 1}, {}, options_.call);
  if (!read) return fail(read.error());
  if (read->inserted) return std::int64_t{1};
  const auto head = detail::int_field(*read->existing, 2);
  if (!head) return fail(detail::malformed("the head of queue " + name_, *read->existing));
  return *head;
}

// Moves the head from exactly `head` to head + 1. Finding nothing is fine: another consumer that
// dealt with the same ticket moved it already.
Expected<Done> Queue::advance(std::int64_t head) {
  auto moved = client_.replace(space_, ts::exact(Tuple{"QHEAD", name_, head}),
                               {"QHEAD", name_, head + 1}, {}, options_.call);
  if (!moved) return fail(moved.error());
  return Done{};
}

Expected<std::int64_t> Queue::push(const ts::Value& item) {
  for (int attempt = 0; attempt < options_.push_attempts; ++attempt) {
    auto ticket = tickets_.increment();
    if (!ticket) return fail(ticket.error());
    const Tuple entry = {"QUEUE", name_, *ticket, kItem, item};
    auto put = client_.cas(space_, {is("QUEUE"), is(name_), is(*ticket), any(), any()}, entry, {},
                           options_.call);
    if (!put) return fail(put.error());
    if (!put->inserted) continue;  // a consumer declared the ticket a gap: we were too slow
    auto head = read_head();
    if (!head) return fail(head.error());
    if (*head <= *ticket) return *ticket;  // the head reaches the ticket and a consumer takes it
    // The head passed the ticket (its GAP expired before our cas): nobody will take the item.
    auto back = client_.inp(space_, ts::exact(entry), options_.call);
    if (!back) return fail(back.error());
    if (!back->has_value()) return *ticket;  // a consumer still at that ticket took it after all
  }
  return fail(detail::error(Errc::kTimedOut, "queue " + name_ + ": " +
                                                 std::to_string(options_.push_attempts) +
                                                 " tickets in a row were given up as gaps"));
}

Expected<std::optional<QueueEntry>> Queue::pop(Millis wait) {
  const detail::Deadline deadline(wait);
  auto head = read_head();
  if (!head) return fail(head.error());
  auto since = Clock::now();  // when this consumer began waiting for an issued ticket `head`
  while (true) {
    auto taken = client_.in(space_, {is("QUEUE"), is(name_), is(*head), is(kItem), any()},
                            deadline.left(options_.poll), options_.call);
    if (!taken) return fail(taken.error());
    if (taken->has_value()) {
      QueueEntry entry{*head, (**taken)[4]};
      // If this fails the head stays at the ticket; the gap rule moves it on later.
      (void)advance(*head);
      return std::optional<QueueEntry>{std::move(entry)};
    }
    if (deadline.passed()) return std::optional<QueueEntry>{};
    auto now_head = read_head();
    if (!now_head) return fail(now_head.error());
    if (*now_head != *head) {  // another consumer moved on
      head = now_head;
      since = Clock::now();
      continue;
    }
    if (Clock::now() - since < options_.gap_wait) continue;
    auto issued = tickets_.value();
    if (!issued) return fail(issued.error());
    if (*issued < *head) {  // an empty queue, not a gap: the wait for this ticket starts later
      since = Clock::now();
      continue;
    }
    auto gap = client_.cas(space_, {is("QUEUE"), is(name_), is(*head), any(), any()},
                           {"QUEUE", name_, *head, kGap, ""}, Insert{options_.gap_lease, {}, {}},
                           options_.call);
    if (!gap) return fail(gap.error());
    const bool is_gap =
        gap->inserted || (gap->existing->size() == 5 && (*gap->existing)[3] == ts::Value(kGap));
    if (!is_gap) continue;  // the item arrived after all: the next `in` takes it
    if (auto moved = advance(*head); !moved) return fail(moved.error());
    head = *head + 1;
    since = Clock::now();
  }
}

}  // namespace bastion::recipes
