// The request pool's timers and the primary's ready queue (bft/core/request_pool.h): which
// requests a backup holds against the primary, and the order a correct primary serves them in.
#include "bft/core/request_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace bastion::bft {
namespace {

RequestId id(const std::string& principal, std::uint64_t session, std::uint64_t number) {
  return RequestId{ClientKey{principal, session}, number};
}

TEST(RequestPool, AStoppedTimerKeepsItsEntryAndAnErasedEntryStopsItsTimer) {
  Config cfg;
  RequestPool pool(cfg);
  for (std::uint64_t n = 1; n <= 3; ++n) {
    PoolEntry& e = pool.find_or_create_for_client(id("alice", 1, n));
    pool.start_timer(id("alice", 1, n), e, 10 * n);
    pool.start_timer(id("alice", 1, n), e, 100);  // already timed: kept
  }
  EXPECT_EQ(pool.timer_count(), 3u);
  EXPECT_EQ(pool.earliest_timer()->first, 10);
  pool.stop_timer(id("alice", 1, 1), *pool.find(id("alice", 1, 1)));
  EXPECT_EQ(pool.timer_count(), 2u);
  EXPECT_NE(pool.find(id("alice", 1, 1)), nullptr);
  EXPECT_EQ(pool.earliest_timer()->second, id("alice", 1, 2));
  pool.erase(id("alice", 1, 2));
  EXPECT_EQ(pool.earliest_timer()->second, id("alice", 1, 3));
  pool.erase_through(ClientKey{"alice", 1}, 3);
  EXPECT_EQ(pool.timer_count(), 0u);
  EXPECT_TRUE(pool.entries().empty());
}

std::vector<RequestId> drain(ReadyQueue& q) {
  std::vector<RequestId> order;
  while (!q.empty()) {
    order.push_back(q.front());
    q.pop_front();
  }
  return order;
}

TEST(ReadyQueue, PrincipalsTakeTurnsAndEachIsServedInArrivalOrder) {
  ReadyQueue q;
  q.push_back(id("mallory", 1, 2));
  q.push_back(id("mallory", 1, 1));
  q.push_back(id("mallory", 2, 1));
  q.push_back(id("alice", 1, 1));
  q.push_back(id("alice", 1, 2));
  EXPECT_EQ(q.size(), 5u);
  const std::vector<RequestId> expected{id("mallory", 1, 2), id("alice", 1, 1), id("mallory", 1, 1),
                                        id("alice", 1, 2), id("mallory", 2, 1)};
  EXPECT_EQ(drain(q), expected);
  EXPECT_EQ(q.size(), 0u);
}

TEST(ReadyQueue, ADeferredPrincipalGoesFirstInTheNextBatch) {
  ReadyQueue q;
  q.push_back(id("mallory", 1, 1));
  q.push_back(id("alice", 1, 1));
  q.push_back(id("alice", 1, 2));
  q.defer_front();  // mallory's does not fit
  EXPECT_EQ(q.front(), id("alice", 1, 1));
  q.pop_front();
  q.pop_front();
  EXPECT_TRUE(q.empty());
  q.end_batch();
  EXPECT_EQ(drain(q), std::vector<RequestId>{id("mallory", 1, 1)});
}

}  // namespace
}  // namespace bastion::bft
