#include <gtest/gtest.h>

#include "server/tuplespace_app.h"

#include <algorithm>
#include <optional>
#include "tuplespace/text.h"

namespace bastion::server {
namespace {

ts::Tuple tup(std::string_view text) { return *ts::parse_tuple(text); }
ts::TupleSpec spec(std::string_view text, std::uint64_t lease_ms = 0) {
  ts::TupleSpec s;
  s.tuple = tup(text);
  s.lease_ms = lease_ms;
  return s;
}
ts::Template tmpl(std::string_view text) { return *ts::parse_template(text); }

bft::Request request(std::string principal, std::uint64_t number, const ts::Request& op,
                     bool read_only = false) {
  return bft::Request{{std::move(principal), 7}, number, read_only, ts::encode_request(op)};
}

ts::Reply reply_of(const bft::Bytes& bytes) {
  auto r = codec::decode<ts::Reply>(bytes);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : ts::Reply{};
}

ts::ErrorCode code(const bft::ExecuteResult& r) {
  EXPECT_TRUE(r.result.has_value());
  return r.result ? ts::code_of(reply_of(*r.result)) : ts::ErrorCode::kOk;
}

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app.begin_batch(1'000'000);
    ASSERT_EQ(code(app.execute(request("admin", 1, ts::SpaceCreate{"jobs", {}}))),
              ts::ErrorCode::kOk);
  }
  TupleSpaceApp app{{"admin"}};
};

TEST_F(AppTest, OnlyAdminsManageSpaces) {
  auto r = app.execute(request("alice", 1, ts::SpaceCreate{"mine", {}}));
  EXPECT_EQ(code(r), ts::ErrorCode::kDenied);
  EXPECT_EQ(code(app.execute(request("alice", 2, ts::SpaceDelete{"jobs"}))),
            ts::ErrorCode::kDenied);
  EXPECT_EQ(code(app.execute(request("admin", 2, ts::SpaceDelete{"jobs"}))), ts::ErrorCode::kOk);
}

TEST_F(AppTest, MalformedPayloadIsAnErrorReply) {
  bft::Request bad{{"alice", 1}, 1, false, {0xff, 0x00}};
  EXPECT_EQ(code(app.execute(bad)), ts::ErrorCode::kMalformed);
  EXPECT_FALSE(app.execute_read_only(bad).has_value());
}

TEST_F(AppTest, WaitingInIsCompletedByALaterOut) {
  auto waiting = app.execute(request("alice", 2, ts::In{"jobs", tmpl("(\"job\", ?int)"), 0}));
  EXPECT_FALSE(waiting.result.has_value());
  auto out = app.execute(request("bob", 1, ts::Out{"jobs", spec("(\"job\", 5)")}));
  EXPECT_EQ(code(out), ts::ErrorCode::kOk);
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].client, (bft::ClientKey{"alice", 7}));
  EXPECT_EQ(out.completions[0].number, 2u);
  EXPECT_EQ(reply_of(out.completions[0].result), ts::Reply(ts::Found{tup("(\"job\", 5)")}));
}

TEST_F(AppTest, AgreedTimeDrivesTimeoutsInMilliseconds) {
  auto waiting = app.execute(request("alice", 2, ts::Rd{"jobs", tmpl("(*)"), 500}));
  EXPECT_FALSE(waiting.result.has_value());
  ASSERT_TRUE(app.next_deadline_us().has_value());
  EXPECT_EQ(*app.next_deadline_us(), 1'500'000);
  EXPECT_TRUE(app.begin_batch(1'499'000).empty());
  auto done = app.begin_batch(1'500'000);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(ts::code_of(reply_of(done[0].result)), ts::ErrorCode::kTimedOut);
}

TEST_F(AppTest, ReadOnlyOnlyForReadOnlyOperations) {
  app.execute(request("bob", 1, ts::Out{"jobs", spec("(1)")}));
  auto rd = app.execute_read_only(request("alice", 3, ts::Rdp{"jobs", tmpl("(?int)")}, true));
  ASSERT_TRUE(rd.has_value());
  EXPECT_EQ(reply_of(*rd), ts::Reply(ts::Found{tup("(1)")}));
  EXPECT_FALSE(app.execute_read_only(request("alice", 4, ts::Inp{"jobs", tmpl("(*)")}, true)));
}

TEST_F(AppTest, SnapshotRestoreKeepsDigest) {
  app.execute(request("bob", 1, ts::Out{"jobs", spec("(\"x\", 1.5)", 60'000)}));
  app.execute(request("alice", 2, ts::In{"jobs", tmpl("(\"y\")"), 0}));
  TupleSpaceApp other{{"admin"}};
  ASSERT_TRUE(other.restore(app.snapshot()));
  EXPECT_EQ(other.digest(), app.digest());
  EXPECT_EQ(codec::blake2b(app.snapshot()), app.digest());
  EXPECT_FALSE(other.restore(bft::Bytes{1, 2, 3}));
  EXPECT_EQ(other.digest(), app.digest());  // a failed restore leaves the state alone
}

TEST(AppPolicy, PoliciesAndGroupsApplyOnBothPathsAndTravelWithSnapshots) {
  AppSettings settings{{"admin"}, {{"ops", {"olga"}}}, {}, {}, {}, {}};
  TupleSpaceApp app(settings);
  app.begin_batch(1'000'000);
  ts::SpaceOptions o;
  o.policy = R"(
    function decide(req)
      if req.groups.ops then return true end
      return req.op == "rdp" and req.template[1] == "public", "ops only"
    end)";
  ASSERT_EQ(code(app.execute(request("admin", 1, ts::SpaceCreate{"s", o}))), ts::ErrorCode::kOk);
  EXPECT_EQ(code(app.execute(request("alice", 1, ts::Out{"s", spec("(\"public\", 1)")}))),
            ts::ErrorCode::kDenied);
  EXPECT_EQ(code(app.execute(request("olga", 1, ts::Out{"s", spec("(\"public\", 1)")}))),
            ts::ErrorCode::kOk);
  const auto allowed =
      app.execute_read_only(request("alice", 2, ts::Rdp{"s", tmpl("(\"public\", *)")}, true));
  ASSERT_TRUE(allowed);
  EXPECT_EQ(reply_of(*allowed), ts::Reply(ts::Found{tup("(\"public\", 1)")}));
  const auto denied =
      app.execute_read_only(request("alice", 3, ts::Rdp{"s", tmpl("(*, *)")}, true));
  ASSERT_TRUE(denied);
  EXPECT_EQ(ts::code_of(reply_of(*denied)), ts::ErrorCode::kDenied);
  EXPECT_EQ(app.policy_counters().allowed, 2u);

  // A replica that restores the state enforces the same policy.
  TupleSpaceApp other(settings);
  ASSERT_TRUE(other.restore(app.snapshot()));
  EXPECT_EQ(code(other.execute(request("alice", 4, ts::Out{"s", spec("(2)")}))),
            ts::ErrorCode::kDenied);
}

// ---- snapshots and execution settings ----------------------------------------------------------

bft::Digest digest_of_byte(std::uint8_t b) {
  bft::Digest d;
  d.fill(b);
  return d;
}

// The same requests executed under two settings digests.
struct TwoApps {
  explicit TwoApps(std::uint8_t a_byte = 1, std::uint8_t b_byte = 2)
      : a(AppSettings{{"admin"}, {}, {}, digest_of_byte(a_byte), {}, {}}),
        b(AppSettings{{"admin"}, {}, {}, digest_of_byte(b_byte), {}, {}}) {
    for (TupleSpaceApp* app : {&a, &b}) {
      app->begin_batch(1'000'000);
      app->execute(request("admin", 1, ts::SpaceCreate{"jobs", {}}));
      app->execute(request("bob", 1, ts::Out{"jobs", spec("(\"x\", 1)")}));
    }
  }
  TupleSpaceApp a;
  TupleSpaceApp b;
};

TEST(AppSnapshot, CarriesTheSettingsDigestAheadOfTheEngineSnapshot) {
  TwoApps apps;
  const bft::Bytes snap = apps.a.snapshot();
  ASSERT_GT(snap.size(), 34u);
  EXPECT_EQ(snap[0], 0xA5);
  EXPECT_EQ(snap[1], 1);
  bft::Digest carried;
  std::copy_n(snap.begin() + 2, carried.size(), carried.begin());
  EXPECT_EQ(carried, digest_of_byte(1));
  EXPECT_EQ(bft::Bytes(snap.begin() + 34, snap.end()), apps.a.engine().snapshot());
  EXPECT_EQ(apps.a.digest(), codec::blake2b(snap));
  // The same state under other settings: another snapshot, another digest.
  EXPECT_EQ(apps.a.engine().digest(), apps.b.engine().digest());
  EXPECT_NE(apps.a.snapshot(), apps.b.snapshot());
  EXPECT_NE(apps.a.digest(), apps.b.digest());
  EXPECT_EQ(apps.b.digest(), codec::blake2b(apps.b.snapshot()));
}

TEST(AppSnapshot, ForeignSettingsAreAdoptedOrRefusedAsTold) {
  TwoApps apps;
  TupleSpaceApp c(AppSettings{{"admin"}, {}, {}, digest_of_byte(2), {}, {}});
  // Adopted (the default): installed, and reported once.
  ASSERT_TRUE(c.restore(apps.a.snapshot()));
  EXPECT_EQ(c.engine().digest(), apps.a.engine().digest());
  EXPECT_EQ(c.take_adopted_settings(), std::optional<bft::Digest>(digest_of_byte(1)));
  EXPECT_EQ(c.take_adopted_settings(), std::nullopt);
  EXPECT_FALSE(c.settings_conflict().has_value());
  // Its own snapshots go on carrying its own settings.
  EXPECT_EQ(c.snapshot(), apps.b.snapshot());

  // Refused: nothing changes, and the other digest is kept for the operator.
  apps.a.execute(request("bob", 2, ts::Out{"jobs", spec("(\"y\", 2)")}));
  c.set_foreign_settings(ForeignSettings::kRefuse);
  const bft::Digest before = c.digest();
  EXPECT_FALSE(c.restore(apps.a.snapshot()));
  EXPECT_EQ(c.digest(), before);
  EXPECT_EQ(c.settings_conflict(), std::optional<bft::Digest>(digest_of_byte(1)));
  EXPECT_EQ(c.take_adopted_settings(), std::nullopt);
  // A snapshot under its own settings is still installed.
  ASSERT_TRUE(c.restore(apps.b.snapshot()));
  EXPECT_EQ(c.digest(), apps.b.digest());
}

TEST(AppSnapshot, ReadsTheOlderFormatWithoutASettingsDigest) {
  TwoApps apps;
  TupleSpaceApp c(AppSettings{{"admin"}, {}, {}, digest_of_byte(2), {}, {}});
  c.set_foreign_settings(ForeignSettings::kRefuse);
  // Before format 1 the application's snapshot was the engine's alone.
  ASSERT_TRUE(c.restore(apps.a.engine().snapshot()));
  EXPECT_EQ(c.engine().digest(), apps.a.engine().digest());
  EXPECT_EQ(c.take_adopted_settings(), std::nullopt);
  EXPECT_FALSE(c.settings_conflict().has_value());
  EXPECT_EQ(c.snapshot(), apps.b.snapshot());
}

TEST(AppSnapshot, MalformedHeadersAreRefused) {
  TwoApps apps;
  const bft::Bytes good = apps.a.snapshot();
  TupleSpaceApp c(AppSettings{{"admin"}, {}, {}, digest_of_byte(1), {}, {}});
  EXPECT_FALSE(c.restore(bft::Bytes{}));
  EXPECT_FALSE(c.restore(bft::Bytes{0xA5}));
  EXPECT_FALSE(c.restore(bft::Bytes(good.begin(), good.begin() + 20)));
  EXPECT_FALSE(c.restore(bft::Bytes(good.begin(), good.begin() + 34)));  // no engine snapshot
  bft::Bytes other_version = good;
  other_version[1] = 2;
  EXPECT_FALSE(c.restore(other_version));
  bft::Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(c.restore(trailing));
  EXPECT_FALSE(c.settings_conflict().has_value());
  ASSERT_TRUE(c.restore(good));
  EXPECT_EQ(c.digest(), apps.a.digest());
}

TEST_F(AppTest, EvictedSessionLosesItsWaiters) {
  const auto waiting = app.execute(request("alice", 2, ts::In{"jobs", tmpl("(*)"), 0}));
  EXPECT_FALSE(waiting.result.has_value());  // parked in the space
  app.session_evicted({"alice", 7});
  auto out = app.execute(request("bob", 1, ts::Out{"jobs", spec("(1)")}));
  EXPECT_EQ(code(out), ts::ErrorCode::kOk);
  EXPECT_TRUE(out.completions.empty());
  // Nobody took bob's tuple: the evicted waiter is gone, not served.
  const auto rd = app.execute_read_only(request("carol", 1, ts::Rdp{"jobs", tmpl("(*)")}, true));
  ASSERT_TRUE(rd.has_value());
  EXPECT_EQ(reply_of(*rd), ts::Reply(ts::Found{tup("(1)")}));
}

}  // namespace
}  // namespace bastion::server
