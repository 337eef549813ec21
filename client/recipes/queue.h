// Queue: a FIFO queue ordered by the service's agreed order, not by client clocks.
//
// Tuples, per queue `name`:
//   ("COUNTER", "queue:" + name, last)     the ticket sequencer (counter.h): last ticket issued
//   ("QHEAD", name, h)                     no lease: the next ticket to consume (absent: 1)
//   ("QUEUE", name, t, "ITEM", item)       no lease: the item with ticket t
//   ("QUEUE", name, t, "GAP", "")          leased (gap_lease): ticket t will never be an item
//
// push(item): takes the next ticket t from the sequencer, then cas(("QUEUE", name, t, *, *),
// ITEM t): at most one of ITEM t and GAP t is ever inserted first, so if a consumer already gave
// t up, the cas fails and the producer takes a new ticket. Returns the ticket the item got.
// pop(wait): the consumer at head h takes ITEM h with `in`, then moves the head from h to h + 1
// (a replace of exactly h, so the head moves once per ticket). Items are taken in ticket order.
//
// The gap rule: a producer may take ticket t and crash before its cas. A consumer that has waited
// gap_wait at head h, while ticket h was already issued (the sequencer is at h or beyond), casts
// GAP h; if the cas inserts it (or finds a GAP), the consumer moves the head past h; if it finds
// ITEM h after all, it takes it. The same rule frees the queue when a consumer crashed between
// taking ITEM h and moving the head. A producer that was paused for longer than gap_wait finds
// the GAP and pushes again under a new ticket. A GAP tuple lives gap_lease; a producer paused
// between its ticket and its cas for longer than that could insert behind the head, so push()
// checks the head afterwards (an ordered read) and, if it passed the ticket, takes the item back
// and pushes again.
//
// Delivery is at most once: an item taken by a consumer that crashes before using it is lost.
// A push that fails with kUnavailable may or may not have enqueued its item.
//
// Thread-safety: any thread; one Queue object may be shared by producers and consumers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "client/client.h"
#include "client/recipes/counter.h"

namespace bastion::recipes {

struct QueueOptions {
  Millis gap_wait{1'000};     // how long a consumer waits for an issued ticket before skipping it
  Millis gap_lease{600'000};  // how long a GAP tuple lives
  Millis poll{100};           // a waiting consumer looks at the head this often
  int push_attempts = 16;     // tickets a push tries before it fails with kTimedOut
  CounterOptions tickets;     // the sequencer's options
  CallOptions call;
};

struct QueueEntry {
  std::int64_t ticket = 0;
  ts::Value item;
};

class Queue {
 public:
  Queue(Client& client, std::string space, std::string name, QueueOptions options = {});

  Expected<std::int64_t> push(const ts::Value& item);
  // The item at the head, or empty when `wait` passed first (0 = forever).
  Expected<std::optional<QueueEntry>> pop(Millis wait);

 private:
  Expected<std::int64_t> read_head();
  Expected<Done> advance(std::int64_t head);

  Client& client_;
  const std::string space_;
  const std::string name_;
  const QueueOptions options_;
  Counter tickets_;
};

}  // namespace bastion::recipes
