// Engine unit tests: leases, time, waiting rd/in, wake-up order, timeouts, cancellation.
#include "tests/unit/tuplespace/engine_fixture.h"

namespace bastion::ts::testing {
namespace {

bool pending(const Outcome& o) { return std::holds_alternative<Pending>(o.reply); }

// ---- leases ---------------------------------------------------------------------------------

TEST_F(EngineTest, LeaseExpiresExactlyAtExpiry) {
  create("s");
  out("s", tup({"lock"}), 50);  // expiry = 1050
  now_ms = 1049;
  EXPECT_EQ(found(run(Rdp{"s", tmpl("lock")}).reply), tup({"lock"}));
  now_ms = 1050;
  EXPECT_EQ(code(run(Rdp{"s", tmpl("lock")})), ErrorCode::kNotFound);
  EXPECT_EQ(engine.tuple_count("s"), 0u);  // purged, not only hidden
}

TEST_F(EngineTest, AdvancePurgesInExpiryOrderWithoutARequest) {
  create("s");
  out("s", tup({1}), 30);
  out("s", tup({2}), 10);
  out("s", tup({3}));
  EXPECT_EQ(engine.next_deadline(), 1010);
  EXPECT_TRUE(engine.advance(1010).empty());
  EXPECT_EQ(engine.tuple_count("s"), 2u);
  EXPECT_EQ(engine.next_deadline(), 1030);
  engine.advance(5000);
  EXPECT_EQ(engine.tuple_count("s"), 1u);
  EXPECT_EQ(engine.next_deadline(), std::nullopt);
}

TEST_F(EngineTest, ReadOnlyExecutionHidesExpiredTuplesWithoutPurging) {
  create("s");
  out("s", tup({1}), 10);
  out("s", tup({2}));
  const Context later{"bob", 1, 99, 2000};
  const Outcome rdp = engine.execute_read_only(later, Rdp{"s", tmpl(kAny)});
  EXPECT_EQ(found(rdp.reply), tup({2}));
  EXPECT_EQ(found_all(engine.execute_read_only(later, RdAll{"s", tmpl(kAny), 0}).reply),
            (std::vector<Tuple>{tup({2})}));
  const auto spaces = std::get<Spaces>(engine.execute_read_only(later, SpaceList{}).reply).spaces;
  ASSERT_EQ(spaces.size(), 1u);
  EXPECT_EQ(spaces[0].tuples, 1u);
  EXPECT_EQ(engine.tuple_count("s"), 2u);  // nothing changed
  EXPECT_EQ(engine.now_ms(), 1000);
  // At an earlier time the same read-only call still sees the timed tuple.
  const Context now{"bob", 1, 100, 1005};
  EXPECT_EQ(found(engine.execute_read_only(now, Rdp{"s", tmpl(kAny)}).reply), tup({1}));
}

TEST_F(EngineTest, RenewExtendsTheOldestTimedMatch) {
  create("s");
  out("s", tup({"hb", 0}));      // no lease: renew ignores it
  out("s", tup({"hb", 1}), 20);  // expiry 1020
  out("s", tup({"hb", 2}), 20);
  now_ms = 1010;
  EXPECT_EQ(found(run(Renew{"s", tmpl("hb", kAny), 100}).reply), tup({"hb", 1}));  // -> 1110
  now_ms = 1050;
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl("hb", kAny), 0}).reply),
            (std::vector<Tuple>{tup({"hb", 0}), tup({"hb", 1})}));
  EXPECT_EQ(engine.next_deadline(), 1110);
  EXPECT_EQ(code(run(Renew{"s", tmpl("hb", 0), 100})), ErrorCode::kNotFound);
  EXPECT_EQ(code(run(Renew{"s", tmpl("hb", kAny), 0})), ErrorCode::kInvalidArgument);
  now_ms = 1110;
  EXPECT_EQ(code(run(Renew{"s", tmpl("hb", 1), 100})), ErrorCode::kNotFound);  // too late
}

TEST_F(EngineTest, RenewNeedsRemovePermission) {
  create("s");
  ASSERT_EQ(code(run("alice", Out{"s", spec(tup({"hb"}), 20, {}, {"alice"})})), ErrorCode::kOk);
  EXPECT_EQ(code(run("bob", Renew{"s", tmpl("hb"), 100})), ErrorCode::kDenied);
  EXPECT_EQ(found(run("alice", Renew{"s", tmpl("hb"), 100}).reply), tup({"hb"}));
}

TEST_F(EngineTest, TimeNeverRunsBackwards) {
  create("s");
  out("s", tup({1}), 10);
  now_ms = 1010;
  EXPECT_EQ(code(run(Rdp{"s", tmpl(1)})), ErrorCode::kNotFound);
  now_ms = 500;  // an earlier agreed time is treated as the latest one
  EXPECT_EQ(code(run(Rdp{"s", tmpl(1)})), ErrorCode::kNotFound);
  out("s", tup({2}), 10);  // expiry 1020, not 510
  EXPECT_EQ(engine.next_deadline(), 1020);
  EXPECT_EQ(engine.now_ms(), 1010);
}

// ---- waiting rd/in ------------------------------------------------------------------------------

TEST_F(EngineTest, RdAndInReturnAtOnceWhenAMatchExists) {
  create("s");
  out("s", tup({"x", 1}));
  EXPECT_EQ(found(run(Rd{"s", tmpl("x", kAny), 0}).reply), tup({"x", 1}));
  EXPECT_EQ(found(run(In{"s", tmpl("x", kAny), 0}).reply), tup({"x", 1}));
  EXPECT_TRUE(pending(run(In{"s", tmpl("x", kAny), 0})));
}

TEST_F(EngineTest, AnInsertionIsSeenByEveryWaitingRdBeforeAnInTakesIt) {
  create("s");
  ASSERT_TRUE(pending(run("r1", Rd{"s", tmpl("job", kAny), 0})));
  const WaiterKey r1 = last_ctx.key();
  ASSERT_TRUE(pending(run("i2", In{"s", tmpl("job", kAny), 0})));
  const WaiterKey i2 = last_ctx.key();
  ASSERT_TRUE(pending(run("r3", Rd{"s", tmpl("job", kAny), 0})));
  const WaiterKey r3 = last_ctx.key();
  ASSERT_TRUE(pending(run("i4", In{"s", tmpl("job", kAny), 0})));
  const WaiterKey i4 = last_ctx.key();

  // r3 began waiting after i2, yet sees the tuple: the reads come right after the insertion,
  // then the oldest in takes it.
  const Outcome o = run("w", Out{"s", spec(tup({"job", 7}))});
  EXPECT_EQ(code(o), ErrorCode::kOk);
  ASSERT_EQ(o.completions.size(), 3u);
  EXPECT_EQ(o.completions[0].key, r1);
  EXPECT_EQ(o.completions[1].key, r3);
  EXPECT_EQ(o.completions[2].key, i2);
  for (const Completion& c : o.completions) EXPECT_EQ(found(c.reply), tup({"job", 7}));
  EXPECT_EQ(engine.tuple_count("s"), 0u);
  EXPECT_EQ(engine.waiter_count("s"), 1u);  // i4
  const Outcome o2 = run("w", Out{"s", spec(tup({"job", 8}))});
  ASSERT_EQ(o2.completions.size(), 1u);
  EXPECT_EQ(o2.completions[0].key, i4);
  EXPECT_EQ(engine.tuple_count("s"), 0u);
}

TEST_F(EngineTest, AReaderThatMayNotReadATupleKeepsWaiting) {
  create("s");
  ASSERT_TRUE(pending(run("bob", Rd{"s", tmpl("t"), 0})));
  const WaiterKey bob = last_ctx.key();
  ASSERT_TRUE(pending(run("carol", Rd{"s", tmpl("t"), 0})));
  const WaiterKey carol = last_ctx.key();
  const Outcome o = run("alice", Out{"s", spec(tup({"t"}), 0, {"alice", "carol"}, {})});
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, carol);
  EXPECT_EQ(engine.waiter_count("s"), 1u);
  EXPECT_EQ(engine.tuple_count("s"), 1u);  // no in took it: stored
  const Outcome o2 = run("alice", Out{"s", spec(tup({"t"}))});
  ASSERT_EQ(o2.completions.size(), 1u);
  EXPECT_EQ(o2.completions[0].key, bob);
}

TEST_F(EngineTest, OneOutSatisfiesAtMostOneIn) {
  create("s");
  ASSERT_TRUE(pending(run("a", In{"s", tmpl(kAny), 0})));
  const WaiterKey first = last_ctx.key();
  ASSERT_TRUE(pending(run("b", In{"s", tmpl(kAny), 0})));
  const WaiterKey second = last_ctx.key();
  Outcome o = run(Out{"s", spec(tup({1}))});
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, first);
  o = run(OutAll{"s", {spec(tup({2})), spec(tup({3}))}});
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, second);
  EXPECT_EQ(found(o.completions[0].reply), tup({2}));
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl(kAny), 0}).reply), (std::vector<Tuple>{tup({3})}));
}

TEST_F(EngineTest, InWaiterThatMayNotRemoveIsSkipped) {
  create("s");
  ASSERT_TRUE(pending(run("bob", In{"s", tmpl("t"), 0})));
  const WaiterKey bob = last_ctx.key();
  ASSERT_TRUE(pending(run("carol", In{"s", tmpl("t"), 0})));
  const WaiterKey carol = last_ctx.key();
  // bob may read but not remove: carol, later in line, takes it.
  const Outcome o = run("alice", Out{"s", spec(tup({"t"}), 0, {}, {"alice", "carol"})});
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, carol);
  EXPECT_EQ(engine.waiter_count("s"), 1u);
  // Nobody else may remove the next one: it is stored and bob keeps waiting.
  EXPECT_TRUE(run("alice", Out{"s", spec(tup({"t"}), 0, {}, {"alice"})}).completions.empty());
  EXPECT_EQ(engine.tuple_count("s"), 1u);
  const Outcome o2 = run("alice", Out{"s", spec(tup({"t"}))});
  ASSERT_EQ(o2.completions.size(), 1u);
  EXPECT_EQ(o2.completions[0].key, bob);
}

TEST_F(EngineTest, CasAndReplaceWakeWaiters) {
  create("s");
  ASSERT_TRUE(pending(run("r", Rd{"s", tmpl("leader", kAny), 0})));
  const WaiterKey reader = last_ctx.key();
  Outcome o = run(Cas{"s", tmpl("leader", kAny), spec(tup({"leader", "alice"}))});
  EXPECT_TRUE(std::get<CasResult>(o.reply).inserted);
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, reader);

  ASSERT_TRUE(pending(run("i", In{"s", tmpl("leader", "bob"), 0})));
  const WaiterKey taker = last_ctx.key();
  o = run(Replace{"s", tmpl("leader", kAny), spec(tup({"leader", "bob"}))});
  EXPECT_EQ(found(o.reply), tup({"leader", "alice"}));
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, taker);
  EXPECT_EQ(found(o.completions[0].reply), tup({"leader", "bob"}));
  EXPECT_EQ(engine.tuple_count("s"), 0u);  // removed by replace, new one taken by the in
}

TEST_F(EngineTest, WaiterTimesOutAtItsDeadline) {
  create("s");
  ASSERT_TRUE(pending(run("a", Rd{"s", tmpl(1), 100})));  // deadline 1100
  const WaiterKey key = last_ctx.key();
  EXPECT_EQ(engine.next_deadline(), 1100);
  EXPECT_TRUE(engine.advance(1099).empty());
  const auto done = engine.advance(1100);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].key, key);
  EXPECT_EQ(code_of(done[0].reply), ErrorCode::kTimedOut);
  EXPECT_EQ(engine.waiter_count("s"), 0u);
  EXPECT_EQ(engine.next_deadline(), std::nullopt);
}

TEST_F(EngineTest, TimeoutComesBeforeAnInsertionAtTheSameTime) {
  create("s");
  ASSERT_TRUE(pending(run("a", In{"s", tmpl(1), 100})));
  now_ms = 1100;
  const Outcome o = run(Out{"s", spec(tup({1}))});
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(code_of(o.completions[0].reply), ErrorCode::kTimedOut);
  EXPECT_EQ(engine.tuple_count("s"), 1u);
}

TEST_F(EngineTest, LeasesAndWaitsCross) {
  create("s");
  ASSERT_TRUE(pending(run("r", Rd{"s", tmpl("hb", kAny), 0})));
  // A timed tuple wakes the reader and stays, until its lease runs out.
  Outcome o = run(Out{"s", spec(tup({"hb", 1}), 50)});
  ASSERT_EQ(o.completions.size(), 1u);
  now_ms = 1049;
  EXPECT_EQ(found(run("r", Rd{"s", tmpl("hb", kAny), 0}).reply), tup({"hb", 1}));
  now_ms = 1050;
  // Expired: a new rd waits, and times out 10 ms later.
  ASSERT_TRUE(pending(run("r", Rd{"s", tmpl("hb", kAny), 10})));
  EXPECT_EQ(engine.next_deadline(), 1060);
  const auto done = engine.advance(1060);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(code_of(done[0].reply), ErrorCode::kTimedOut);
}

TEST_F(EngineTest, WaitersPerClientQuota) {
  SpaceOptions o;
  o.waiters_per_client_max = 2;
  create("s", o);
  EXPECT_TRUE(pending(run("a", Rd{"s", tmpl(1), 0})));
  EXPECT_TRUE(pending(run("a", In{"s", tmpl(2), 0})));
  EXPECT_EQ(code(run("a", Rd{"s", tmpl(3), 0})), ErrorCode::kQuotaExceeded);
  EXPECT_TRUE(pending(run("b", Rd{"s", tmpl(3), 0})));
  run(Out{"s", spec(tup({1}))});  // frees one of a's
  EXPECT_TRUE(pending(run("a", Rd{"s", tmpl(3), 0})));

  o.waiters_per_client_max = 0;  // a space without blocking operations
  create("nowait", o);
  EXPECT_EQ(code(run("a", Rd{"nowait", tmpl(1), 0})), ErrorCode::kQuotaExceeded);
}

TEST_F(EngineTest, DuplicateWaitingRequestIsRejected) {
  create("s");
  const Context ctx{"a", 1, 42, now_ms};
  EXPECT_TRUE(std::holds_alternative<Pending>(engine.execute(ctx, Rd{"s", tmpl(1), 0}).reply));
  EXPECT_EQ(code_of(engine.execute(ctx, In{"s", tmpl(2), 0}).reply), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.waiter_count("s"), 1u);
}

TEST_F(EngineTest, CancelOneWaiter) {
  create("s");
  ASSERT_TRUE(pending(run("a", Rd{"s", tmpl(1), 0}, 7)));
  const WaiterKey key = last_ctx.key();
  // Another client or session cannot cancel it.
  EXPECT_EQ(code(run("b", Cancel{key.request}, 7)), ErrorCode::kNotFound);
  EXPECT_EQ(code(run("a", Cancel{key.request}, 8)), ErrorCode::kNotFound);
  const Outcome o = run("a", Cancel{key.request}, 7);
  EXPECT_EQ(code(o), ErrorCode::kOk);
  ASSERT_EQ(o.completions.size(), 1u);
  EXPECT_EQ(o.completions[0].key, key);
  EXPECT_EQ(code_of(o.completions[0].reply), ErrorCode::kCancelled);
  EXPECT_EQ(code(run("a", Cancel{key.request}, 7)), ErrorCode::kNotFound);
}

TEST_F(EngineTest, CancelSessionAnswersItsWaitersInArrivalOrder) {
  create("s");
  create("t");
  ASSERT_TRUE(pending(run("a", Rd{"t", tmpl(1), 0}, 1)));
  const WaiterKey k1 = last_ctx.key();
  ASSERT_TRUE(pending(run("a", Rd{"s", tmpl(1), 50}, 2)));  // other session
  ASSERT_TRUE(pending(run("a", In{"s", tmpl(2), 0}, 1)));
  const WaiterKey k3 = last_ctx.key();
  ASSERT_TRUE(pending(run("ab", Rd{"s", tmpl(2), 0}, 1)));  // other client
  const auto done = engine.cancel_session("a", 1);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].key, k1);
  EXPECT_EQ(done[1].key, k3);
  EXPECT_EQ(code_of(done[1].reply), ErrorCode::kCancelled);
  EXPECT_EQ(engine.waiter_count("s"), 2u);
  EXPECT_EQ(engine.waiter_count("t"), 0u);
}

TEST_F(EngineTest, DeletingASpaceAnswersItsWaiters) {
  create("s");
  out("s", tup({9}), 100);
  ASSERT_TRUE(pending(run("a", Rd{"s", tmpl(1), 30})));
  const WaiterKey k1 = last_ctx.key();
  ASSERT_TRUE(pending(run("b", In{"s", tmpl(1), 0})));
  const WaiterKey k2 = last_ctx.key();
  const Outcome o = run(SpaceDelete{"s"});
  ASSERT_EQ(o.completions.size(), 2u);
  EXPECT_EQ(o.completions[0].key, k1);
  EXPECT_EQ(o.completions[1].key, k2);
  EXPECT_EQ(code_of(o.completions[0].reply), ErrorCode::kNoSuchSpace);
  // Nothing of the space is left in the time indexes.
  EXPECT_EQ(engine.next_deadline(), std::nullopt);
  EXPECT_TRUE(engine.advance(10'000).empty());
}

}  // namespace
}  // namespace bastion::ts::testing
