// The coordination recipes (client/recipes, docs/recipes.md) against a real local cluster: each
// test fails if its recipe's guarantee is broken. Locks exclude each other across identities and
// their fencing tokens grow across holders, also after a lease ran out and for a holder paused
// between its cas and its commit; one leader at a time, and a leader that stops renewing stops
// believing it leads before anyone else can win; a barrier opens only when every party arrived,
// round after round; concurrent counter increments are distinct and contiguous; a queue delivers
// in ticket order and skips a ticket whose producer crashed; a semaphore never hands out more
// than n permits and gets a crashed holder's back. The lock and the counter run again with one
// replica killed by SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/recipes/barrier.h"
#include "client/recipes/counter.h"
#include "client/recipes/election.h"
#include "client/recipes/lock.h"
#include "client/recipes/queue.h"
#include "client/recipes/semaphore.h"
#include "tests/integration/cluster.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;
using recipes::Clock;

constexpr const char* kLocks = "locks";  // carries the fenced-lock policy
constexpr const char* kCoord = "coord";  // no policy: barrier, counter, queue, semaphore

// Short leases keep the tests fast; the margin still leaves most of the lease usable.
recipes::LeaseOptions short_lease() { return {1'000ms, 250ms}; }

// A resource that rejects stale fencing tokens, as a storage service guarded by the lock would.
class FencedResource {
 public:
  bool write(std::int64_t token) {
    const std::lock_guard lock(mutex_);
    if (token < highest_) return false;
    highest_ = token;
    return true;
  }

 private:
  std::mutex mutex_;
  std::int64_t highest_ = 0;
};

class RecipesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(3);
    cluster_->start_all();
    cluster_->wait_ready();
    auto admin = connect("admin");
    ts::SpaceOptions locks;
    locks.policy = std::string(recipes::FencedLock::policy());
    ASSERT_TRUE(admin->create_space(kLocks, locks));
    ASSERT_TRUE(admin->create_space(kCoord));
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  static std::unique_ptr<Client> connect(const std::string& identity) {
    ClientOptions options;
    options.cluster_file = cluster_->cluster_file();
    options.identity_dir = cluster_->identity(identity);
    options.timeout = 10s;
    auto client = Client::connect(options);
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(*client);
  }

  // The bodies of the election, barrier, queue and semaphore tests, also run with a replica
  // down (EveryRecipeWorksWithOneReplicaKilled); `name` keeps the runs apart.
  static void election_one_leader(const std::string& name) {
    std::vector<std::unique_ptr<Client>> clients;
    for (const char* id : {"client1", "client2", "client3"}) clients.push_back(connect(id));
    std::atomic<int> leaders{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> errors{0};
    std::mutex mutex;
    std::vector<std::int64_t> terms;
    std::vector<std::thread> threads;
    for (auto& client : clients) {
      threads.emplace_back([&, c = client.get()] {
        recipes::ElectionOptions options;
        options.lock = {short_lease(), 20ms, {}};
        recipes::Election election(*c, kLocks, name, options);
        for (int round = 0; round < 3; ++round) {
          auto term = election.campaign(20s);
          if (!term || !term->has_value()) {
            ++errors;
            return;
          }
          if (leaders.fetch_add(1) != 0) ++overlaps;
          {
            const std::lock_guard guard(mutex);
            terms.push_back(**term);
          }
          auto seen = election.leader();
          if (!seen || !seen->has_value() || (*seen)->id != c->principal() ||
              (*seen)->term != **term) {
            ++errors;
          }
          std::this_thread::sleep_for(30ms);
          if (!election.is_leader()) ++errors;
          leaders.fetch_sub(1);
          if (!election.resign()) ++errors;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(overlaps.load(), 0);
    ASSERT_EQ(terms.size(), 9u);
    for (std::size_t i = 1; i < terms.size(); ++i) EXPECT_EQ(terms[i - 1] + 1, terms[i]) << i;
  }

  static void barrier_two_epochs(const std::string& name) {
    std::vector<std::unique_ptr<Client>> clients;
    for (const char* id : {"client1", "client2", "client3"}) clients.push_back(connect(id));
    std::vector<std::unique_ptr<recipes::Barrier>> parties;
    for (auto& c : clients) {
      parties.push_back(std::make_unique<recipes::Barrier>(*c, kCoord, name, 3));
    }
    for (std::int64_t epoch = 1; epoch <= 2; ++epoch) {
      // Party 0 gives up once while alone; its arrival must still count exactly once.
      auto alone = parties[0]->arrive_and_wait(200ms);
      ASSERT_TRUE(alone);
      EXPECT_FALSE(*alone);
      std::atomic<int> released{0};
      std::atomic<int> errors{0};
      std::vector<std::thread> early;
      for (int p : {0, 1}) {
        early.emplace_back([&, p] {
          auto r = parties[static_cast<std::size_t>(p)]->arrive_and_wait(15s);
          if (r && *r) {
            ++released;
          } else {
            ++errors;
          }
        });
      }
      std::this_thread::sleep_for(500ms);
      EXPECT_EQ(released.load(), 0) << "epoch " << epoch << " opened with 2 of 3 parties";
      auto last = parties[2]->arrive_and_wait(15s);
      ASSERT_TRUE(last);
      EXPECT_TRUE(*last);
      for (auto& t : early) t.join();
      EXPECT_EQ(released.load(), 2);
      EXPECT_EQ(errors.load(), 0);
      for (auto& p : parties) EXPECT_EQ(p->epoch(), epoch + 1);
    }
    // Completing epoch 2 removed epoch 1's tuple.
    auto old = clients[0]->rdp(kCoord, {ts::Value("BARRIER"), ts::Value(name),
                                        ts::Value(std::int64_t{1}), ts::Pattern::any()});
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->has_value());
  }

  static void queue_in_ticket_order(const std::string& name) {
    auto c1 = connect("client1");
    auto c2 = connect("client2");
    auto c3 = connect("client3");
    recipes::QueueOptions options;
    options.gap_wait = 2s;
    // One producer, one consumer: exactly the order pushed.
    recipes::Queue producer(*c1, kCoord, name, options);
    recipes::Queue consumer(*c2, kCoord, name, options);
    for (std::int64_t i = 1; i <= 6; ++i) {
      auto ticket = producer.push(ts::Value(i));
      ASSERT_TRUE(ticket);
      EXPECT_EQ(*ticket, i);
    }
    for (std::int64_t i = 1; i <= 6; ++i) {
      auto entry = consumer.pop(5s);
      ASSERT_TRUE(entry && entry->has_value());
      EXPECT_EQ((*entry)->ticket, i);
      EXPECT_EQ((*entry)->item, ts::Value(i));
    }
    auto empty = consumer.pop(200ms);
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->has_value());

    // Two producers and two consumers at once: each item once, each producer's items in order.
    recipes::Queue p2(*c3, kCoord, name, options);
    recipes::Queue c_other(*c3, kCoord, name, options);
    std::mutex mutex;
    std::vector<recipes::QueueEntry> got;
    std::atomic<int> errors{0};
    std::atomic<bool> producing{true};
    auto produce = [&](recipes::Queue& q, const std::string& who) {
      for (int i = 0; i < 8; ++i) {
        if (!q.push(ts::Value(who + std::to_string(i)))) ++errors;
      }
    };
    auto consume = [&](recipes::Queue& q) {
      while (true) {
        {
          const std::lock_guard guard(mutex);
          if (got.size() >= 16) return;
        }
        auto entry = q.pop(300ms);
        if (!entry) {
          ++errors;
          return;
        }
        if (!entry->has_value()) {
          if (!producing.load()) return;
          continue;
        }
        const std::lock_guard guard(mutex);
        got.push_back(**entry);
      }
    };
    std::thread pa([&] { produce(producer, "a"); });
    std::thread pb([&] { produce(p2, "b"); });
    std::thread ca([&] { consume(consumer); });
    std::thread cb([&] { consume(c_other); });
    pa.join();
    pb.join();
    producing = false;
    ca.join();
    cb.join();
    EXPECT_EQ(errors.load(), 0);
    ASSERT_EQ(got.size(), 16u);
    std::sort(got.begin(), got.end(),
              [](const auto& x, const auto& y) { return x.ticket < y.ticket; });
    std::map<char, int> next;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(got[i - 1].ticket, got[i].ticket);
      }
      const std::string& item = got[i].item.as_string();
      EXPECT_EQ(item.substr(1), std::to_string(next[item[0]]++)) << item;
    }
  }

  static void semaphore_bounded(const std::string& name) {
    std::vector<std::unique_ptr<Client>> clients;
    for (const char* id : {"client1", "client2", "client3"}) clients.push_back(connect(id));
    std::atomic<int> in_use{0};
    std::atomic<int> most{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    std::uint64_t seed = 7;
    for (auto& client : clients) {
      threads.emplace_back([&, c = client.get(), s = seed++] {
        recipes::SemaphoreOptions options;
        options.lease = short_lease();
        options.retry = 20ms;
        options.seed = s;
        recipes::Semaphore sem(*c, kCoord, name, 2, options);
        for (int i = 0; i < 4; ++i) {
          auto permit = sem.acquire(20s);
          if (!permit || !permit->has_value()) {
            ++errors;
            return;
          }
          const int now = in_use.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(40ms);
          in_use.fetch_sub(1);
          auto released = sem.release(**permit);
          if (!released || !*released) ++errors;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_LE(most.load(), 2);
    EXPECT_GE(most.load(), 1);
  }

  static std::unique_ptr<LocalCluster> cluster_;
};
std::unique_ptr<LocalCluster> RecipesTest::cluster_;

// ---- lock ---------------------------------------------------------------------------------------

// Two identities take turns on one lock: never both inside, every token above the one before,
// and every write with the token accepted by the fenced resource.
void lock_exclusion(const std::string& name, std::vector<Client*> clients, int rounds) {
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::mutex mutex;
  std::vector<std::int64_t> tokens;  // in grant order: grants are serialised by the lock itself
  FencedResource resource;
  std::atomic<int> rejected{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (Client* client : clients) {
    threads.emplace_back([&, client] {
      recipes::FencedLock lock(*client, kLocks, name, {short_lease(), 20ms, {}});
      for (int i = 0; i < rounds; ++i) {
        auto token = lock.acquire(20s);
        if (!token || !token->has_value()) {
          ++errors;
          return;
        }
        if (inside.fetch_add(1) != 0) ++overlaps;
        {
          const std::lock_guard guard(mutex);
          tokens.push_back(**token);
        }
        if (!resource.write(**token)) ++rejected;
        std::this_thread::sleep_for(20ms);
        if (!lock.held()) ++errors;
        inside.fetch_sub(1);
        auto released = lock.release();
        if (!released || !*released) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(rejected.load(), 0);
  ASSERT_EQ(tokens.size(), clients.size() * static_cast<std::size_t>(rounds));
  for (std::size_t i = 1; i < tokens.size(); ++i) EXPECT_LT(tokens[i - 1], tokens[i]) << i;
}

TEST_F(RecipesTest, LockExcludesTwoIdentitiesAndItsTokensIncrease) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  lock_exclusion("exclusion", {c1.get(), c2.get()}, 6);
}

TEST_F(RecipesTest, LockTokenOfAHolderWhoseLeaseRanOutIsBelowTheNextHolders) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  recipes::FencedLock paused(*c1, kLocks, "expiry", {short_lease(), 20ms, {}});
  recipes::FencedLock next(*c2, kLocks, "expiry", {short_lease(), 20ms, {}});
  FencedResource resource;

  auto first = paused.acquire(5s);
  ASSERT_TRUE(first && first->has_value());
  ASSERT_TRUE(resource.write(**first));
  auto busy = next.try_acquire();
  ASSERT_TRUE(busy);
  EXPECT_FALSE(busy->has_value());
  // The holder pauses: no renewal. Its own clock says it lost the lock before the service frees it.
  ASSERT_TRUE(eventually([&] { return !paused.held(); }, 2s));
  auto second = next.acquire(5s);
  ASSERT_TRUE(second && second->has_value());
  const auto granted_at = Clock::now();
  EXPECT_GE(granted_at, paused.valid_until());
  EXPECT_GT(**second, **first);
  EXPECT_TRUE(resource.write(**second));
  EXPECT_FALSE(resource.write(**first));  // the paused holder wakes up: fenced off
  auto renewed = paused.renew();
  ASSERT_TRUE(renewed);
  EXPECT_FALSE(*renewed);
  auto again = paused.try_acquire();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  ASSERT_TRUE(next.release());
}

// A holder paused between its cas (it holds the lock tuple) and its commit (the fence moves)
// gets no token: the policy lets only a live holder move the fence.
TEST_F(RecipesTest, LockHolderPausedBeforeItsCommitGetsNoToken) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  const std::string name = "paused-commit";
  using ts::Pattern;
  using ts::Value;
  auto fence = c1->cas(kLocks, {Value("FENCE"), Value(name), Pattern::any()}, {"FENCE", name, 0});
  ASSERT_TRUE(fence && fence->inserted);
  // Step 1 only, by hand: the lock tuple with token 1, never committed.
  auto taken = c1->cas(kLocks, {Value("LOCK"), Value(name), Pattern::any(), Pattern::any()},
                       {"LOCK", name, "client1", 1}, Insert{1'000ms, {}, {}});
  ASSERT_TRUE(taken && taken->inserted);
  // Another identity cannot commit client1's token, nor jump the fence.
  auto stolen = c2->replace(kLocks, ts::exact({"FENCE", name, 0}), {"FENCE", name, 1});
  ASSERT_FALSE(stolen);
  EXPECT_EQ(stolen.error().code, Errc::kDenied);
  auto jump = c2->replace(kLocks, ts::exact({"FENCE", name, 0}), {"FENCE", name, 5});
  ASSERT_FALSE(jump);
  EXPECT_EQ(jump.error().code, Errc::kDenied);
  // client2 gets token 1 once client1's tuple expired.
  recipes::FencedLock next(*c2, kLocks, name, {short_lease(), 20ms, {}});
  auto token = next.acquire(5s);
  ASSERT_TRUE(token && token->has_value());
  EXPECT_EQ(**token, 1);
  // client1 wakes up and tries its commit: denied, so token 1 was granted once.
  auto late = c1->replace(kLocks, ts::exact({"FENCE", name, 0}), {"FENCE", name, 1});
  EXPECT_FALSE(late && late->has_value());
  auto fence_now = c1->rdp(kLocks, ts::exact({"FENCE", name, 1}));
  ASSERT_TRUE(fence_now);
  EXPECT_TRUE(fence_now->has_value());
  // And an out that would bypass cas is refused.
  auto bypass = c1->out(kLocks, {"LOCK", name, "client1", 2}, Insert{1'000ms, {}, {}});
  ASSERT_FALSE(bypass);
  EXPECT_EQ(bypass.error().code, Errc::kDenied);
  ASSERT_TRUE(next.release());
}

TEST_F(RecipesTest, LockRefusesASpaceWithoutItsPolicy) {
  auto c1 = connect("client1");
  recipes::FencedLock lock(*c1, kCoord, "unfenced");
  auto token = lock.try_acquire();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, Errc::kConfig);
}

// ---- election -----------------------------------------------------------------------------------

TEST_F(RecipesTest, ElectionHasOneLeaderAtATimeWithGrowingTerms) {
  election_one_leader("one-leader");
}

TEST_F(RecipesTest, ElectionLeaderThatStopsRenewingStepsDownBeforeASuccessorWins) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  recipes::ElectionOptions silent;
  silent.lock = {short_lease(), 20ms, {}};
  silent.renew_in_background = false;  // a leader that cannot renew (paused, partitioned)
  recipes::Election old_leader(*c1, kLocks, "succession", silent);
  recipes::ElectionOptions options;
  options.lock = {short_lease(), 20ms, {}};
  recipes::Election successor(*c2, kLocks, "succession", options);

  auto first = old_leader.campaign(5s);
  ASSERT_TRUE(first && first->has_value());
  auto seen = successor.leader();
  ASSERT_TRUE(seen && seen->has_value());
  EXPECT_EQ(**seen, (recipes::Leader{"client1", **first}));

  // An observer waits for the change while the successor campaigns.
  std::optional<recipes::Leader> changed;
  std::thread observer([&] {
    auto observer_client = connect("client3");
    recipes::Election watch(*observer_client, kLocks, "succession", options);
    auto r = watch.wait_for_change(*seen, 10s);
    if (r) changed = *r;
  });
  auto second = successor.campaign(10s);
  const auto won_at = Clock::now();
  ASSERT_TRUE(second && second->has_value());
  EXPECT_EQ(**second, **first + 1);
  EXPECT_FALSE(old_leader.is_leader());
  EXPECT_GE(won_at, old_leader.leader_until());
  observer.join();
  // The observer saw either the vacancy or the new leader, never the old one.
  EXPECT_NE(changed, *seen);

  // The successor renews in the background: after two leases it still leads and holds the lease.
  std::this_thread::sleep_for(2'200ms);
  EXPECT_TRUE(successor.is_leader());
  auto blocked = old_leader.campaign(300ms);
  ASSERT_TRUE(blocked);
  EXPECT_FALSE(blocked->has_value());
  auto now_leader = old_leader.leader();
  ASSERT_TRUE(now_leader && now_leader->has_value());
  EXPECT_EQ(**now_leader, (recipes::Leader{"client2", **second}));
  ASSERT_TRUE(successor.resign());
  EXPECT_FALSE(successor.is_leader());
  auto after = old_leader.campaign(5s);
  ASSERT_TRUE(after && after->has_value());
  EXPECT_EQ(**after, **second + 1);
  ASSERT_TRUE(old_leader.resign());
}

// ---- barrier ------------------------------------------------------------------------------------

TEST_F(RecipesTest, BarrierOpensOnlyWhenAllArrivedForTwoEpochs) { barrier_two_epochs("rounds"); }

// ---- counter ------------------------------------------------------------------------------------

void counter_increments(const std::string& name, std::vector<Client*> clients, int each) {
  std::mutex mutex;
  std::vector<std::int64_t> all;
  std::atomic<int> errors{0};
  std::atomic<int> out_of_order{0};
  std::vector<std::thread> threads;
  std::uint64_t seed = 1;
  for (Client* client : clients) {
    threads.emplace_back([&, client, s = seed++] {
      recipes::CounterOptions options;
      options.seed = s;
      recipes::Counter counter(*client, kCoord, name, options);
      std::int64_t previous = 0;
      for (int i = 0; i < each; ++i) {
        auto v = counter.increment();
        if (!v) {
          ++errors;
          return;
        }
        if (*v <= previous) ++out_of_order;
        previous = *v;
        const std::lock_guard guard(mutex);
        all.push_back(*v);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
  std::sort(all.begin(), all.end());
  const auto total = static_cast<std::int64_t>(clients.size()) * each;
  ASSERT_EQ(static_cast<std::int64_t>(all.size()), total);
  for (std::int64_t i = 0; i < total; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i + 1);
  recipes::Counter reader(*clients[0], kCoord, name);
  auto value = reader.value();
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, total);
}

TEST_F(RecipesTest, CounterIncrementsFromThreeClientsAreDistinctAndContiguous) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  auto c3 = connect("client3");
  counter_increments("three", {c1.get(), c2.get(), c3.get()}, 15);
}

// ---- queue --------------------------------------------------------------------------------------

TEST_F(RecipesTest, QueueDeliversInTicketOrderOncePerItem) { queue_in_ticket_order("fifo"); }

TEST_F(RecipesTest, QueueSkipsTheTicketOfAProducerThatCrashed) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  recipes::QueueOptions options;
  options.gap_wait = 300ms;
  recipes::Queue producer(*c1, kCoord, "gaps", options);
  recipes::Queue consumer(*c2, kCoord, "gaps", options);
  ASSERT_TRUE(producer.push(ts::Value("first")));
  // A producer takes ticket 2 and crashes before its insert.
  recipes::Counter tickets(*c1, kCoord, "queue:gaps");
  auto lost = tickets.increment();
  ASSERT_TRUE(lost);
  ASSERT_EQ(*lost, 2);
  ASSERT_TRUE(producer.push(ts::Value("third")));
  const auto started = Clock::now();
  std::vector<std::string> items;
  for (int i = 0; i < 2; ++i) {
    auto entry = consumer.pop(5s);
    ASSERT_TRUE(entry && entry->has_value()) << i;
    items.push_back((*entry)->item.as_string());
  }
  EXPECT_EQ(items, (std::vector<std::string>{"first", "third"}));
  EXPECT_LT(Clock::now() - started, 3s);
  // The crashed producer comes back: its ticket is a gap now, so its insert cannot succeed.
  using ts::Pattern;
  using ts::Value;
  auto late = c1->cas(
      kCoord,
      {Value("QUEUE"), Value("gaps"), Value(std::int64_t{2}), Pattern::any(), Pattern::any()},
      {"QUEUE", "gaps", 2, "ITEM", "second"});
  ASSERT_TRUE(late);
  EXPECT_FALSE(late->inserted);
  // A push after the gap goes on normally.
  ASSERT_TRUE(producer.push(ts::Value("fourth")));
  auto entry = consumer.pop(5s);
  ASSERT_TRUE(entry && entry->has_value());
  EXPECT_EQ((*entry)->item, ts::Value("fourth"));
}

// ---- semaphore ----------------------------------------------------------------------------------

TEST_F(RecipesTest, SemaphoreNeverHandsOutMoreThanItsPermits) { semaphore_bounded("two"); }

TEST_F(RecipesTest, SemaphorePermitOfACrashedHolderComesBack) {
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  recipes::SemaphoreOptions options;
  options.lease = short_lease();
  options.retry = 20ms;
  recipes::Semaphore crashed(*c1, kCoord, "crash", 2, options);
  recipes::Semaphore waiting(*c2, kCoord, "crash", 2, options);
  auto a = crashed.acquire(2s);
  auto b = crashed.acquire(2s);
  ASSERT_TRUE(a && a->has_value() && b && b->has_value());
  EXPECT_NE((*a)->slot, (*b)->slot);
  auto none = waiting.try_acquire();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  // Another identity may not release them.
  auto steal = c2->inp(
      kCoord, {ts::Value("SEM"), ts::Value("crash"), ts::Pattern::any(), ts::Pattern::any()});
  ASSERT_FALSE(steal);
  EXPECT_EQ(steal.error().code, Errc::kDenied);
  // The holder renews one late enough that the two leases end 400 ms apart, and crashes: the
  // other permit comes back first, when its lease runs out.
  std::this_thread::sleep_for(400ms);
  auto renewed = crashed.renew(**a);
  ASSERT_TRUE(renewed);
  ASSERT_TRUE(*renewed);
  auto back = waiting.acquire(5s);
  ASSERT_TRUE(back && back->has_value());
  EXPECT_EQ((*back)->slot, (*b)->slot);
  EXPECT_TRUE((*back)->valid());
  ASSERT_TRUE(waiting.release(**back));
}

// ---- one replica killed -------------------------------------------------------------------------

// Last in the suite: kills a backup, runs the lock and the counter, and restarts the replica.
TEST_F(RecipesTest, EveryRecipeWorksWithOneReplicaKilled) {
  cluster_->kill(2, SIGKILL);
  election_one_leader("one-leader-down");
  barrier_two_epochs("rounds-down");
  queue_in_ticket_order("fifo-down");
  semaphore_bounded("two-down");
  cluster_->start(2);
  cluster_->wait_ready();
}

TEST_F(RecipesTest, LockAndCounterWorkWithOneReplicaKilled) {
  cluster_->kill(3, SIGKILL);
  auto c1 = connect("client1");
  auto c2 = connect("client2");
  auto c3 = connect("client3");
  lock_exclusion("one-down", {c1.get(), c2.get()}, 4);
  counter_increments("one-down", {c1.get(), c2.get(), c3.get()}, 8);
  // The primary too (after restarting the backup, so that three replicas remain).
  cluster_->start(3);
  cluster_->wait_ready();
  cluster_->kill(0, SIGKILL);
  lock_exclusion("primary-down", {c1.get(), c2.get()}, 3);
  counter_increments("primary-down", {c1.get(), c2.get(), c3.get()}, 5);
  cluster_->start(0);
}

}  // namespace
}  // namespace bastion::itest
