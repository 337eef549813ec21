// Tests of the simulator's key-value application: semantics, waiting operations on agreed time,
// and canonical snapshots.
#include "bft/sim/kv_app.h"

#include <gtest/gtest.h>

#include "codec/codec.h"

namespace bastion::bft::sim {
namespace {

Request req(std::uint64_t number, Bytes payload, std::string principal = "c") {
  return Request{ClientKey{std::move(principal), 1}, number, false, std::move(payload)};
}

KvResult result_of(const ExecuteResult& r) {
  EXPECT_TRUE(r.result.has_value());
  auto decoded = decode_kv_result(*r.result);
  EXPECT_TRUE(decoded.has_value());
  return *decoded;
}

TEST(KvApp, PutGetCas) {
  KvStateMachine kv;
  kv.begin_batch(10);
  EXPECT_EQ(result_of(kv.execute(req(1, kv_get("a")))), (KvResult{KvStatus::kOk, std::nullopt}));
  EXPECT_EQ(result_of(kv.execute(req(2, kv_put("a", "x")))),
            (KvResult{KvStatus::kOk, std::nullopt}));
  EXPECT_EQ(result_of(kv.execute(req(3, kv_put("a", "y")))), (KvResult{KvStatus::kOk, "x"}));
  EXPECT_EQ(result_of(kv.execute(req(4, kv_cas("a", "x", "z")))),
            (KvResult{KvStatus::kCasFailed, "y"}));
  EXPECT_EQ(result_of(kv.execute(req(5, kv_cas("a", "y", "z")))), (KvResult{KvStatus::kOk, "y"}));
  EXPECT_EQ(result_of(kv.execute(req(6, kv_cas("b", std::nullopt, "n")))),
            (KvResult{KvStatus::kOk, std::nullopt}));
  EXPECT_EQ(kv.data().at("a"), "z");
  EXPECT_EQ(kv.data().at("b"), "n");
}

TEST(KvApp, MalformedAndOutOfBoundsAreBadRequests) {
  KvStateMachine kv;
  kv.begin_batch(0);
  EXPECT_EQ(result_of(kv.execute(req(1, Bytes{1, 2, 3}))).status, KvStatus::kBadRequest);
  EXPECT_EQ(result_of(kv.execute(req(2, kv_put("", "x")))).status, KvStatus::kBadRequest);
  EXPECT_EQ(
      result_of(kv.execute(req(3, kv_put("k", std::string(kKvValueBytesMax + 1, 'v'))))).status,
      KvStatus::kBadRequest);
  EXPECT_EQ(result_of(kv.execute(req(4, kv_wait("k", "v", -1)))).status, KvStatus::kBadRequest);
  EXPECT_TRUE(kv.data().empty());
}

TEST(KvApp, ReadOnlyOnlyForGet) {
  KvStateMachine kv;
  kv.begin_batch(0);
  kv.execute(req(1, kv_put("a", "x")));
  auto r = kv.execute_read_only(req(2, kv_get("a")));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*decode_kv_result(*r), (KvResult{KvStatus::kOk, "x"}));
  EXPECT_FALSE(kv.execute_read_only(req(3, kv_put("a", "y"))).has_value());
  EXPECT_FALSE(kv.execute_read_only(req(4, Bytes{9})).has_value());
  EXPECT_EQ(kv.data().at("a"), "x");
}

TEST(KvApp, WaitCompletesWhenValueIsWritten) {
  KvStateMachine kv;
  kv.begin_batch(1'000);
  auto w = kv.execute(req(1, kv_wait("a", "v", 500), "w"));
  EXPECT_FALSE(w.result.has_value());
  EXPECT_EQ(kv.next_deadline_us(), 1'500);
  kv.begin_batch(1'100);
  auto p = kv.execute(req(1, kv_put("a", "other")));
  EXPECT_TRUE(p.completions.empty());
  auto q = kv.execute(req(2, kv_put("a", "v")));
  ASSERT_EQ(q.completions.size(), 1u);
  EXPECT_EQ(q.completions[0].client.principal, "w");
  EXPECT_EQ(q.completions[0].number, 1u);
  EXPECT_EQ(*decode_kv_result(q.completions[0].result), (KvResult{KvStatus::kOk, "v"}));
  EXPECT_EQ(kv.waiters(), 0u);
  EXPECT_FALSE(kv.next_deadline_us().has_value());
  // Already holds the value: completes at once.
  EXPECT_EQ(result_of(kv.execute(req(2, kv_wait("a", "v", 500), "w"))),
            (KvResult{KvStatus::kOk, "v"}));
}

TEST(KvApp, WaitTimesOutOnAgreedTimeInDeadlineOrder) {
  KvStateMachine kv;
  kv.begin_batch(0);
  kv.execute(req(1, kv_wait("a", "v", 300), "x"));
  kv.execute(req(1, kv_wait("b", "v", 100), "y"));
  kv.execute(req(1, kv_put("b", "now")));
  EXPECT_TRUE(kv.begin_batch(99).empty());
  auto done = kv.begin_batch(1'000);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].client.principal, "y");  // earlier deadline first
  EXPECT_EQ(*decode_kv_result(done[0].result), (KvResult{KvStatus::kTimeout, "now"}));
  EXPECT_EQ(done[1].client.principal, "x");
  EXPECT_EQ(*decode_kv_result(done[1].result), (KvResult{KvStatus::kTimeout, std::nullopt}));
}

TEST(KvApp, SessionEvictionDropsWaiters) {
  KvStateMachine kv;
  kv.begin_batch(0);
  kv.execute(req(1, kv_wait("a", "v", 300), "x"));
  kv.execute(req(1, kv_wait("a", "v", 300), "y"));
  kv.session_evicted(ClientKey{"x", 1});
  EXPECT_EQ(kv.waiters(), 1u);
}

TEST(KvApp, SnapshotRestoreRoundTripAndDigest) {
  KvStateMachine a;
  a.begin_batch(42);
  a.execute(req(1, kv_put("b", "2")));
  a.execute(req(2, kv_put("a", "1")));
  a.execute(req(3, kv_wait("a", "9", 100), "w"));
  KvStateMachine b;
  ASSERT_TRUE(b.restore(a.snapshot()));
  EXPECT_EQ(a.digest(), b.digest());
  EXPECT_EQ(a.snapshot(), b.snapshot());
  // The restored waiter still times out on agreed time.
  auto done = b.begin_batch(1'000);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].client.principal, "w");
  EXPECT_NE(a.digest(), b.digest());
}

TEST(KvApp, RestoreRejectsMalformedAndNonCanonical) {
  KvStateMachine kv;
  kv.begin_batch(0);
  kv.execute(req(1, kv_put("a", "1")));
  kv.execute(req(2, kv_put("b", "2")));
  Bytes good = kv.snapshot();
  KvStateMachine other;
  EXPECT_FALSE(other.restore(Bytes{1, 2, 3}));
  Bytes truncated(good.begin(), good.end() - 1);
  EXPECT_FALSE(other.restore(truncated));
  // Swap the two keys' order: decodes, but is not canonical.
  // Layout: now(8) next_order(8) count(1) ["a" "1"] ["b" "2"] waiters(1).
  Bytes swapped = good;
  ASSERT_EQ(swapped[16], 2);
  std::swap(swapped[18], swapped[22]);
  EXPECT_FALSE(other.restore(swapped));
  EXPECT_TRUE(other.data().empty());
  EXPECT_TRUE(other.restore(good));
  EXPECT_EQ(other.digest(), kv.digest());
}

}  // namespace
}  // namespace bastion::bft::sim
