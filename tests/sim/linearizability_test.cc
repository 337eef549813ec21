// Tests of the linearizability checker against the key-value model: known-good and known-bad
// histories, pending operations, Byzantine alternatives, and randomized histories produced by a
// real sequential execution (which must always pass).
#include "bft/sim/linearizability.h"

#include <gtest/gtest.h>

#include "bft/sim/kv_app.h"
#include "codec/codec.h"

namespace bastion::bft::sim {
namespace {

Bytes ok(std::optional<std::string> v) { return codec::encode(KvResult{KvStatus::kOk, v}); }
Bytes cas_failed(std::optional<std::string> v) {
  return codec::encode(KvResult{KvStatus::kCasFailed, v});
}
Bytes timeout(std::optional<std::string> v) {
  return codec::encode(KvResult{KvStatus::kTimeout, v});
}

HistoryOp done(std::uint32_t client, Bytes op, TimeUs from, TimeUs to, Bytes result) {
  return HistoryOp{client, std::move(op), from, to, std::move(result), std::nullopt, false};
}
HistoryOp pending(std::uint32_t client, Bytes op, TimeUs from,
                  std::optional<std::uint64_t> group = std::nullopt, bool took_no_effect = false) {
  return HistoryOp{client, std::move(op), from, std::nullopt, std::nullopt, group, took_no_effect};
}

LinearizabilityReport::Verdict check(const std::vector<HistoryOp>& h,
                                     std::uint64_t budget = 1'000'000) {
  KvModel model;
  return check_linearizable(model, h, budget).verdict;
}

constexpr auto kOk = LinearizabilityReport::Verdict::kOk;
constexpr auto kBad = LinearizabilityReport::Verdict::kViolation;

TEST(Linearizability, SequentialHistoryPasses) {
  EXPECT_EQ(
      check({done(0, kv_put("a", "1"), 0, 10, ok(std::nullopt)),
             done(1, kv_get("a"), 20, 30, ok("1")), done(0, kv_cas("a", "1", "2"), 40, 50, ok("1")),
             done(1, kv_cas("a", "1", "3"), 60, 70, cas_failed("2"))}),
      kOk);
}

TEST(Linearizability, StaleReadAfterCompletedWriteFails) {
  EXPECT_EQ(check({done(0, kv_put("a", "1"), 0, 10, ok(std::nullopt)),
                   done(1, kv_get("a"), 20, 30, ok(std::nullopt))}),
            kBad);
}

TEST(Linearizability, ConcurrentOperationsMayTakeEitherOrder) {
  // The read overlaps the write: both outcomes are fine.
  for (const auto& seen : {std::optional<std::string>(), std::optional<std::string>("1")}) {
    EXPECT_EQ(check({done(0, kv_put("a", "1"), 0, 10, ok(std::nullopt)),
                     done(1, kv_get("a"), 5, 30, ok(seen))}),
              kOk);
  }
  // Responses at the same instant as an invocation count as concurrent.
  EXPECT_EQ(check({done(0, kv_put("a", "1"), 0, 10, ok(std::nullopt)),
                   done(1, kv_get("a"), 10, 30, ok(std::nullopt))}),
            kOk);
}

TEST(Linearizability, ReadsMustAgreeOnAnOrder) {
  // Two writes concurrent with two readers who see them in opposite orders.
  EXPECT_EQ(check({done(0, kv_put("a", "1"), 0, 100, ok(std::nullopt)),
                   done(1, kv_put("a", "2"), 0, 100, ok("1")),
                   done(2, kv_get("a"), 10, 20, ok("1")), done(2, kv_get("a"), 30, 40, ok("2")),
                   done(3, kv_get("a"), 10, 20, ok("2")), done(3, kv_get("a"), 30, 40, ok("1"))}),
            kBad);
}

TEST(Linearizability, PendingWriteMayOrMayNotTakeEffect) {
  EXPECT_EQ(check({pending(0, kv_put("a", "1"), 0), done(1, kv_get("a"), 20, 30, ok("1"))}), kOk);
  EXPECT_EQ(
      check({pending(0, kv_put("a", "1"), 0), done(1, kv_get("a"), 20, 30, ok(std::nullopt))}),
      kOk);
  // But not before it was invoked.
  EXPECT_EQ(check({done(1, kv_get("a"), 0, 10, ok("1")), pending(0, kv_put("a", "1"), 20)}), kBad);
  // And once seen it stays.
  EXPECT_EQ(check({pending(0, kv_put("a", "1"), 0), done(1, kv_get("a"), 20, 30, ok("1")),
                   done(1, kv_get("a"), 40, 50, ok(std::nullopt))}),
            kBad);
}

TEST(Linearizability, PendingWriteKnownNeverToHaveRun) {
  // Nobody may have seen it, and it does not count against a full search.
  const auto lost = pending(0, kv_put("a", "1"), 0, std::nullopt, true);
  EXPECT_EQ(check({lost, done(1, kv_get("a"), 20, 30, ok(std::nullopt))}), kOk);
  EXPECT_EQ(check({lost, done(1, kv_get("a"), 20, 30, ok("1"))}), kBad);
  // Alternatives of a group: the one that ran may be seen, the other may not.
  const std::vector<HistoryOp> group = {pending(9, kv_put("a", "x"), 0, 7, true),
                                        pending(9, kv_put("a", "y"), 0, 7)};
  auto h = group;
  h.push_back(done(1, kv_get("a"), 10, 20, ok("y")));
  EXPECT_EQ(check(h), kOk);
  h.back() = done(1, kv_get("a"), 10, 20, ok("x"));
  EXPECT_EQ(check(h), kBad);
}

TEST(Linearizability, AlternativesTakeEffectAtMostOnce) {
  // A Byzantine client's two payloads under one number: at most one executes.
  const std::vector<HistoryOp> base = {pending(9, kv_put("a", "x"), 0, 7),
                                       pending(9, kv_put("a", "y"), 0, 7)};
  auto h = base;
  h.push_back(done(1, kv_get("a"), 10, 20, ok("y")));
  EXPECT_EQ(check(h), kOk);
  h.push_back(done(1, kv_get("a"), 30, 40, ok("x")));
  EXPECT_EQ(check(h), kBad);
  // Without the group, both could have run.
  for (auto& op : h) op.group.reset();
  EXPECT_EQ(check(h), kOk);
}

TEST(Linearizability, WaitSemantics) {
  // ok: the key held the awaited value at some point in the interval.
  EXPECT_EQ(check({done(0, kv_wait("a", "1", 1000), 0, 100, ok("1")),
                   done(1, kv_put("a", "1"), 10, 20, ok(std::nullopt)),
                   done(1, kv_put("a", "2"), 30, 40, ok("1"))}),
            kOk);
  EXPECT_EQ(check({done(0, kv_wait("a", "1", 1000), 50, 100, ok("1")),
                   done(1, kv_put("a", "1"), 10, 20, ok(std::nullopt)),
                   done(1, kv_put("a", "2"), 30, 40, ok("1"))}),
            kBad);
  // timeout: reports the value at the deadline, which is not the awaited one.
  EXPECT_EQ(check({done(0, kv_wait("a", "1", 10), 0, 100, timeout("2")),
                   done(1, kv_put("a", "2"), 10, 20, ok(std::nullopt))}),
            kOk);
  EXPECT_EQ(check({done(1, kv_put("a", "1"), 0, 5, ok(std::nullopt)),
                   done(0, kv_wait("a", "1", 10), 10, 100, timeout("1"))}),
            kBad);
}

TEST(Linearizability, PartitionsAreIndependent) {
  KvModel model;
  std::vector<HistoryOp> h = {done(0, kv_put("a", "1"), 0, 10, ok(std::nullopt)),
                              done(0, kv_put("b", "1"), 20, 30, ok(std::nullopt)),
                              done(1, kv_get("b"), 40, 50, ok(std::nullopt))};
  auto r = check_linearizable(model, h);
  EXPECT_EQ(r.verdict, kBad);
  EXPECT_EQ(r.partition, "b");
  EXPECT_NE(r.explanation.find("get(b)"), std::string::npos);
}

TEST(Linearizability, BudgetIsBounded) {
  // Many concurrent writes and a contradiction at the end: exhausting the search takes long.
  std::vector<HistoryOp> h;
  for (int i = 0; i < 30; ++i) {
    h.push_back(
        pending(static_cast<std::uint32_t>(i), kv_cas("a", std::nullopt, std::to_string(i)), 0));
  }
  for (int i = 0; i < 30; ++i) {
    h.push_back(done(100, kv_put("a", "p" + std::to_string(i)), 10, 1000, ok("zz")));
  }
  KvModel model;
  auto r = check_linearizable(model, h, 1'000);
  EXPECT_EQ(r.verdict, LinearizabilityReport::Verdict::kBudgetExceeded);
  EXPECT_LE(r.steps, 1'001u);
}

// Histories generated from a real sequential execution with random overlapping intervals
// around each operation's linearization point always pass; a corrupted read usually fails.
TEST(Linearizability, RandomHistoriesFromSequentialExecutionsPass) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Rng rng(seed);
    KvStateMachine kv;
    kv.begin_batch(0);
    std::vector<HistoryOp> h;
    TimeUs t = 0;
    const int ops = 20 + static_cast<int>(rng.index(40));
    for (int i = 0; i < ops; ++i) {
      t += static_cast<TimeUs>(rng.uniform(1, 10));
      const std::string key = "k" + std::to_string(rng.index(2));
      Bytes op;
      switch (rng.index(3)) {
        case 0:
          op = kv_put(key, "v" + std::to_string(i));
          break;
        case 1:
          op = kv_get(key);
          break;
        default:
          op = kv_cas(key,
                      rng.chance(0.5) ? std::optional<std::string>("v" + std::to_string(i - 1))
                                      : std::nullopt,
                      "v" + std::to_string(i));
          break;
      }
      auto r = kv.execute(Request{ClientKey{"c", 1}, static_cast<std::uint64_t>(i + 1), false, op});
      const TimeUs from = t - static_cast<TimeUs>(rng.uniform(0, 30));
      const TimeUs to = t + static_cast<TimeUs>(rng.uniform(0, 30));
      if (rng.chance(0.1) && !KvModel().is_read(op)) {
        h.push_back(pending(static_cast<std::uint32_t>(i), op, from));
      } else {
        h.push_back(done(static_cast<std::uint32_t>(i), op, from, to, *r.result));
      }
    }
    ASSERT_EQ(check(h), kOk) << "seed " << seed;
    // A read of a value nobody wrote can never be linearized.
    for (auto& op : h) {
      if (op.response_us && KvModel().is_read(op.op)) {
        op.result = ok("never-written");
        ASSERT_EQ(check(h), kBad) << "seed " << seed;
        break;
      }
    }
  }
}

}  // namespace
}  // namespace bastion::bft::sim
