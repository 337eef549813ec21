// Tests of the tuple-space simulator application: the sequential model on hand-written histories
// (each rule that lets agreed time stay hidden, and the violations it must still see), the
// model's mirror of the simulator's policy against the real script, the model against the real
// application driven directly (it must accept every history the engine and the policy layer
// produce), planted bugs (a replica app that reads the newest match instead of the oldest; one
// replica that ignores policies) that the checks must catch, both with the application driven
// directly and in full simulated runs, and the mix of forbidden attempts in simulated runs.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bft/sim/linearizability.h"
#include "bft/sim/options.h"
#include "bft/sim/simulation.h"
#include "codec/codec.h"
#include "policy/script.h"
#include "server/tuplespace_app.h"
#include "sim/apps.h"
#include "sim/ts_app.h"
#include "sim/ts_model.h"

namespace bastion::sim {

using bft::ByteView;
using bft::ClientKey;
using bft::Completion;
using bft::Digest;
using bft::ExecuteResult;
using bft::Request;
using bft::TimeUs;
using bft::sim::HistoryOp;
using bft::sim::LinearizabilityReport;
using bft::sim::run_seed;
using bft::sim::RunResult;
using bft::sim::SimOptions;
namespace {

using Verdict = LinearizabilityReport::Verdict;

Bytes req(const ts::Request& r) { return ts::encode_request(r); }
Bytes rep(const ts::Reply& r) { return codec::encode(r); }
ts::Reply err(ts::ErrorCode code) { return ts::make_error(code, "x"); }

ts::TupleSpec spec(ts::Tuple t, std::uint64_t lease_ms = 0, std::vector<std::string> readers = {},
                   std::vector<std::string> removers = {}) {
  return ts::TupleSpec{std::move(t), lease_ms, std::move(readers), std::move(removers)};
}
ts::Template any(const char* key) { return ts::Template{ts::Pattern(ts::Value(key)), {}}; }

constexpr std::uint64_t kDayMs = 86'400'000;

// A history built in real-time order; every operation gets [at, at + length].
class History {
 public:
  History& done(std::uint32_t client, const ts::Request& r, const ts::Reply& result, TimeUs at,
                TimeUs length = 1) {
    ops_.push_back(HistoryOp{client, req(r), at, at + length, rep(result), std::nullopt, false});
    return *this;
  }
  History& pending(std::uint32_t client, const ts::Request& r, TimeUs at,
                   std::optional<std::uint64_t> group = std::nullopt) {
    ops_.push_back(HistoryOp{client, req(r), at, std::nullopt, std::nullopt, group, false});
    return *this;
  }
  // The space exists from the start (created by the admin before everything).
  History& with_space(const std::string& space = "s") {
    ts::SpaceOptions options;
    if (ts_policy_space(space)) options.policy = std::string(kTsPolicy);
    return done(0, ts::SpaceCreate{space, options}, ts::Ack{}, 0);
  }
  Verdict check() const {
    TsModel model;
    const auto report = check_linearizable(model, ops_);
    if (report.verdict != Verdict::kOk) last_explanation_ = report.explanation;
    return report.verdict;
  }
  const std::string& explanation() const { return last_explanation_; }

 private:
  std::vector<HistoryOp> ops_;
  mutable std::string last_explanation_;
};

// ---- the model on hand-written histories -------------------------------------------------------

TEST(TsModel, OldestMatchWins) {
  History h;
  h.done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20);
  History good = h, bad = h;
  good.done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 1}}, 30)
      .done(2, ts::Inp{"s", any("k")}, ts::Found{{"k", 1}}, 40)
      .done(2, ts::Inp{"s", any("k")}, ts::Found{{"k", 2}}, 50)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 60);
  EXPECT_EQ(good.check(), Verdict::kOk) << good.explanation();
  bad.done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 2}}, 30);
  EXPECT_EQ(bad.check(), Verdict::kViolation);
}

TEST(TsModel, ConcurrentInsertionsMayLinearizeEitherWay) {
  History h;
  h.done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10, 100)
      .done(2, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20, 100)
      .done(3, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 2}, {"k", 1}}}, 200);
  EXPECT_EQ(h.check(), Verdict::kOk) << h.explanation();
}

TEST(TsModel, SpaceAppearsOnce) {
  History ok;
  ok.done(1, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNoSuchSpace), 10)
      .done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 20)
      .done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 1}}, 30);
  EXPECT_EQ(ok.check(), Verdict::kOk) << ok.explanation();
  History bad;
  bad.done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNoSuchSpace), 20);
  EXPECT_EQ(bad.check(), Verdict::kViolation);
  History creates;
  creates.done(0, ts::SpaceCreate{"s", {}}, ts::Ack{}, 10)
      .done(1, ts::SpaceCreate{"s", {}}, err(ts::ErrorCode::kDenied), 20)
      .done(0, ts::SpaceCreate{"s", {}}, err(ts::ErrorCode::kSpaceExists), 30);
  EXPECT_EQ(creates.check(), Verdict::kOk) << creates.explanation();
  History twice;
  twice.done(0, ts::SpaceCreate{"s", {}}, ts::Ack{}, 10)
      .done(0, ts::SpaceCreate{"s", {}}, ts::Ack{}, 20);
  EXPECT_EQ(twice.check(), Verdict::kViolation);
  History not_admin;
  not_admin.done(1, ts::SpaceCreate{"s", {}}, ts::Ack{}, 10);
  EXPECT_EQ(not_admin.check(), Verdict::kViolation);
}

TEST(TsModel, ShortLeasesExpireOnceAndForever) {
  History h;
  h.with_space().done(1, ts::Out{"s", spec({"k", 1}, 100)}, ts::Ack{}, 10);
  History gone = h, back = h;
  gone.done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 1}}, 20)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 30)
      .done(2, ts::Cas{"s", any("k"), spec({"k", 2})}, ts::CasResult{true, {}}, 40);
  EXPECT_EQ(gone.check(), Verdict::kOk) << gone.explanation();
  back.done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 20)
      .done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 1}}, 30);
  EXPECT_EQ(back.check(), Verdict::kViolation);
}

TEST(TsModel, LongLeasesAndNoLeasesNeverExpire) {
  for (std::uint64_t lease : {std::uint64_t{0}, kDayMs}) {
    History h;
    h.with_space()
        .done(1, ts::Out{"s", spec({"k", 1}, lease)}, ts::Ack{}, 10)
        .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 20);
    EXPECT_EQ(h.check(), Verdict::kViolation) << lease;
  }
}

TEST(TsModel, RenewChangesWhatMayExpire) {
  History h;
  h.with_space()
      .done(1, ts::Out{"s", spec({"k", 1}, 100)}, ts::Ack{}, 10)
      .done(1, ts::Renew{"s", any("k"), kDayMs}, ts::Found{{"k", 1}}, 20);
  History bad = h;
  bad.done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 30);
  EXPECT_EQ(bad.check(), Verdict::kViolation);
  History shortened = h;
  shortened.done(1, ts::Renew{"s", any("k"), 50}, ts::Found{{"k", 1}}, 30)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 40);
  EXPECT_EQ(shortened.check(), Verdict::kOk) << shortened.explanation();
  History untimed;
  untimed.with_space()
      .done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10)
      .done(1, ts::Renew{"s", any("k"), 50}, err(ts::ErrorCode::kNotFound), 20);
  EXPECT_EQ(untimed.check(), Verdict::kOk) << untimed.explanation();
}

TEST(TsModel, AccessLists) {
  History h;
  h.with_space().done(1, ts::Out{"s", spec({"k", 1}, 0, {"client-1"}, {"client-1"})}, ts::Ack{},
                      10);
  History others = h;
  others.done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 20)
      .done(1, ts::Inp{"s", any("k")}, ts::Found{{"k", 1}}, 30);
  EXPECT_EQ(others.check(), Verdict::kOk) << others.explanation();
  History owner = h;
  owner.done(1, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 20);
  EXPECT_EQ(owner.check(), Verdict::kViolation);

  History deny;
  deny.with_space()
      .done(1, ts::Out{"s", spec({"k", 1}, 0, {}, {"client-1"})}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20)
      .done(2, ts::Inp{"s", any("k")}, err(ts::ErrorCode::kDenied), 30)
      .done(2, ts::InAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 2}}}, 40)
      .done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 1}}}, 50);
  EXPECT_EQ(deny.check(), Verdict::kOk) << deny.explanation();
  History wrong_take;
  wrong_take.with_space()
      .done(1, ts::Out{"s", spec({"k", 1}, 0, {}, {"client-1"})}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20)
      .done(2, ts::Inp{"s", any("k")}, ts::Found{{"k", 2}}, 30);
  EXPECT_EQ(wrong_take.check(), Verdict::kViolation);
}

TEST(TsModel, WaitingInTakesTheInsertionThatWokeIt) {
  // Client 2 waits; (k, 1), which it may read but not remove, arrives and is skipped; (k, 2)
  // arrives and is taken.
  History h;
  h.with_space()
      .done(2, ts::In{"s", any("k"), 500}, ts::Found{{"k", 2}}, 20, 100)
      .done(1, ts::Out{"s", spec({"k", 1}, 0, {}, {"client-1"})}, ts::Ack{}, 40)
      .done(3, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 60);
  EXPECT_EQ(h.check(), Verdict::kOk) << h.explanation();
  // An `in` that found both stored chooses the oldest: it is denied.
  History late;
  late.with_space()
      .done(1, ts::Out{"s", spec({"k", 1}, 0, {}, {"client-1"})}, ts::Ack{}, 10)
      .done(3, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20)
      .done(3, ts::Out{"s", spec({"k", 3})}, ts::Ack{}, 30)
      .done(2, ts::In{"s", any("k"), 500}, ts::Found{{"k", 2}}, 40, 100);
  EXPECT_EQ(late.check(), Verdict::kViolation);
}

TEST(TsModel, TimedOutWaitsFoundNothingSometimeInTheirInterval) {
  History concurrent;
  concurrent.with_space()
      .done(1, ts::Rd{"s", any("k"), 100}, err(ts::ErrorCode::kTimedOut), 10, 100)
      .done(2, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 50);
  EXPECT_EQ(concurrent.check(), Verdict::kOk) << concurrent.explanation();
  History after;
  after.with_space()
      .done(2, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 5)
      .done(1, ts::In{"s", any("k"), 100}, err(ts::ErrorCode::kTimedOut), 10, 100);
  EXPECT_EQ(after.check(), Verdict::kViolation);
}

TEST(TsModel, CasDecidesOnce) {
  History h;
  h.with_space()
      .done(1, ts::Cas{"s", any("k"), spec({"k", 1})}, ts::CasResult{true, {}}, 10, 50)
      .done(2, ts::Cas{"s", any("k"), spec({"k", 2})}, ts::CasResult{false, {"k", 1}}, 20, 50);
  EXPECT_EQ(h.check(), Verdict::kOk) << h.explanation();
  History both;
  both.with_space()
      .done(1, ts::Cas{"s", any("k"), spec({"k", 1})}, ts::CasResult{true, {}}, 10, 50)
      .done(2, ts::Cas{"s", any("k"), spec({"k", 2})}, ts::CasResult{true, {}}, 20, 50);
  EXPECT_EQ(both.check(), Verdict::kViolation);
}

TEST(TsModel, BoundedBulkReads) {
  History h;
  h.with_space()
      .done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2}, 100)}, ts::Ack{}, 20)
      .done(1, ts::Out{"s", spec({"k", 3})}, ts::Ack{}, 30)
      .done(2, ts::RdAll{"s", any("k"), 2}, ts::FoundAll{{{"k", 1}, {"k", 2}}}, 40)
      .done(2, ts::RdAll{"s", any("k"), 2}, ts::FoundAll{{{"k", 1}, {"k", 3}}}, 50)
      .done(2, ts::InAll{"s", any("k"), 1}, ts::FoundAll{{{"k", 1}}}, 60)
      .done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 3}}}, 70);
  EXPECT_EQ(h.check(), Verdict::kOk) << h.explanation();
  History skipped;
  skipped.with_space()
      .done(1, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20)
      .done(2, ts::RdAll{"s", any("k"), 1}, ts::FoundAll{{{"k", 2}}}, 30);
  EXPECT_EQ(skipped.check(), Verdict::kViolation);
}

TEST(TsModel, PendingAlternativesTakeEffectAtMostOnce) {
  History h;
  h.with_space()
      .pending(9, ts::Out{"s", spec({"k", 1})}, 10, 1)
      .pending(9, ts::Out{"s", spec({"k", 2})}, 10, 1);
  History one = h, both = h;
  one.done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 2}}}, 20);
  EXPECT_EQ(one.check(), Verdict::kOk) << one.explanation();
  both.done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 1}, {"k", 2}}}, 20);
  EXPECT_EQ(both.check(), Verdict::kViolation);
}

TEST(TsModel, PendingInsertionsTakeEffectWhenSeenAndStay) {
  History h;
  h.with_space()
      .pending(9, ts::Out{"s", spec({"k", 1})}, 10)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 20)
      .done(2, ts::Rdp{"s", any("k")}, ts::Found{{"k", 1}}, 30);
  History stays = h;
  stays.done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 1}}}, 40);
  EXPECT_EQ(stays.check(), Verdict::kOk) << stays.explanation();
  History lost = h;
  lost.done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 40);
  EXPECT_EQ(lost.check(), Verdict::kViolation);
}

TEST(TsModel, PendingRemovalsMayHaveTakenAnyCandidate) {
  History h;
  h.with_space()
      .done(1, ts::Out{"s", spec({"k", 1}, 100)}, ts::Ack{}, 10)
      .done(1, ts::Out{"s", spec({"k", 2})}, ts::Ack{}, 20)
      .done(1, ts::Out{"s", spec({"k", 3})}, ts::Ack{}, 30)
      .pending(9, ts::Inp{"s", any("k")}, 40);
  // Either (k, 1) expired and the inp took (k, 2), or it took (k, 1); (k, 3) stays.
  History took2 = h;
  took2.done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 3}}}, 50);
  EXPECT_EQ(took2.check(), Verdict::kOk) << took2.explanation();
  History took3 = h;
  took3.done(2, ts::RdAll{"s", any("k"), 0}, ts::FoundAll{{{"k", 2}}}, 50);
  EXPECT_EQ(took3.check(), Verdict::kViolation);
}

TEST(TsModel, PendingInMayTakeALaterInsertion) {
  History h;
  h.with_space()
      .pending(1, ts::In{"s", any("k"), 500}, 10)
      .done(2, ts::Out{"s", spec({"k", 1})}, ts::Ack{}, 20)
      .done(2, ts::Rdp{"s", any("k")}, err(ts::ErrorCode::kNotFound), 30);
  EXPECT_EQ(h.check(), Verdict::kOk) << h.explanation();
}

// ---- the policy --------------------------------------------------------------------------------

// The model's mirror decides as the real script, for the workload's requests and edge cases.
TEST(TsPolicy, MirrorDecidesAsTheScript) {
  auto compiled = policy::Script::compile(kTsPolicy, policy::Limits{});
  ASSERT_TRUE(compiled) << compiled.error();
  policy::Script& script = **compiled;
  const ts::Engine engine;
  const std::vector<std::string> invokers = {"client-0",  "client-1",  "client-2", "client-3",
                                             "client-10", "client-11", "client-",  "client-1x",
                                             "xclient-1", "client--1", "nobody",   "client-byz-0"};
  std::vector<ts::Request> requests;
  const ts::Template k0{ts::Pattern(ts::Value("k0")), {}};
  requests.push_back(ts::OutAll{"p", {spec({"k0", 1}), spec({"k1", 7})}});
  requests.push_back(ts::Out{"p", spec({"k0"})});
  requests.push_back(ts::Out{"p", spec({"k1", 14.0})});
  requests.push_back(ts::Out{"p", spec({"k1", -21})});
  requests.push_back(ts::Out{"p", spec({ts::Value(ts::Blob{"k0"}), 1})});
  requests.push_back(ts::Inp{"p", ts::Template{{}, {}}});
  requests.push_back(ts::Inp{"p", ts::Template{ts::Pattern::typed(ts::Type::kString), {}}});
  requests.push_back(ts::Cas{"p", any("k1"), spec({"k0", 3})});
  requests.push_back(ts::Cas{"p", k0, spec({"k1", 3})});
  requests.push_back(ts::Replace{"p", any("k2"), spec({"k2", 49, true})});
  requests.push_back(ts::Renew{"p", k0, 100});
  requests.push_back(ts::RdAll{"p", k0, 0});
  requests.push_back(ts::InAll{"p", any("k1"), 0});
  requests.push_back(ts::SpaceCreate{"p", {}});
  Rng rng(7);
  TsWorkload workload(rng.fork(), 4);
  for (int i = 0; i < 2000; ++i) {
    const Bytes payload = i % 4 == 3
                              ? rng.pick(workload.equivocation(3))
                              : workload.next_op(1 + static_cast<std::uint32_t>(i % 3)).payload;
    requests.push_back(*ts::decode_request(payload));
  }
  std::map<bool, std::uint64_t> decisions;
  for (const ts::Request& request : requests) {
    for (const std::string& invoker : invokers) {
      const bool mirror = ts_policy_allows(request, invoker);
      if (!policy::governed(request)) {
        EXPECT_TRUE(mirror) << ts::op_name(request);
        continue;
      }
      const policy::EngineSpace view(engine, ts::space_of(request), 0);
      const policy::Decision d = script.evaluate(
          policy::Invocation{ts::space_of(request), invoker, nullptr, 0, &request}, view);
      EXPECT_FALSE(d.failed) << d.reason;
      EXPECT_EQ(d.allowed, mirror)
          << invoker << ": " << TsModel().describe_op(req(request)) << ": " << d.reason;
      ++decisions[d.allowed];
    }
  }
  EXPECT_GT(decisions[false], 1000u);
  EXPECT_GT(decisions[true], 1000u);
}

TEST(TsPolicy, PolicySpaceNames) {
  EXPECT_EQ(ts_policy_space_name(1, 3), "p1-c3");
  EXPECT_EQ(ts_policy_space_clients("p1-c3"), 3u);
  EXPECT_EQ(ts_policy_space_clients("p0-c12"), 12u);
  EXPECT_FALSE(ts_policy_space_clients("s1-c3").has_value());
  EXPECT_FALSE(ts_policy_space_clients("p").has_value());
  EXPECT_FALSE(ts_policy_space_clients("p1-c").has_value());
  EXPECT_TRUE(ts_policy_space("p"));
  EXPECT_FALSE(ts_policy_space("s0"));
  EXPECT_EQ(ts_sim_principal(2, 3), "client-2");
  EXPECT_EQ(ts_sim_principal(3, 3), "client-byz-0");
}

constexpr const char* kP = "p0-c3";  // a policy space of a run with 3 correct clients

TEST(TsModel, PolicyDeniesForbiddenOperations) {
  // Client 1 (odd) may not change k0; no one inserts a multiple of 7; denials have no effect.
  History denied;
  denied.with_space(kP)
      .done(1, ts::Out{kP, spec({"k0", 1})}, err(ts::ErrorCode::kDenied), 10)
      .done(2, ts::Out{kP, spec({"k1", 7})}, err(ts::ErrorCode::kDenied), 20)
      .done(1, ts::Out{kP, spec({"k1", 8})}, ts::Ack{}, 30)
      .done(1, ts::Inp{kP, any("k0")}, err(ts::ErrorCode::kDenied), 40)
      .done(1, ts::RdAll{kP, any("k1"), 0}, err(ts::ErrorCode::kDenied), 50)
      .done(1, ts::RdAll{kP, any("k1"), 2}, ts::FoundAll{{{"k1", 8}}}, 60)
      .done(2, ts::Rdp{kP, any("k0")}, err(ts::ErrorCode::kNotFound), 70)
      .done(2, ts::RdAll{kP, any("k1"), 0}, ts::FoundAll{{{"k1", 8}}}, 80);
  EXPECT_EQ(denied.check(), Verdict::kOk) << denied.explanation();
  // A denial shows the space exists; before it exists, no_such_space (the policy comes with it).
  History early;
  early.done(1, ts::Out{kP, spec({"k0", 1})}, err(ts::ErrorCode::kNoSuchSpace), 10)
      .done(1, ts::Out{kP, spec({"k0", 2})}, err(ts::ErrorCode::kDenied), 20);
  EXPECT_EQ(early.check(), Verdict::kOk) << early.explanation();
  History late;
  late.done(1, ts::Out{kP, spec({"k0", 1})}, err(ts::ErrorCode::kDenied), 10)
      .done(1, ts::Out{kP, spec({"k0", 2})}, err(ts::ErrorCode::kNoSuchSpace), 20);
  EXPECT_EQ(late.check(), Verdict::kViolation);
}

TEST(TsModel, PolicyRejectsAForbiddenOperationThatSucceeded) {
  History odd_k0;
  odd_k0.with_space(kP).done(1, ts::Out{kP, spec({"k0", 1})}, ts::Ack{}, 10);
  EXPECT_EQ(odd_k0.check(), Verdict::kViolation);
  History seven;
  seven.with_space(kP).done(2, ts::Cas{kP, any("k1"), spec({"k1", 14})}, ts::CasResult{true, {}},
                            10);
  EXPECT_EQ(seven.check(), Verdict::kViolation);
  History unbounded;
  unbounded.with_space(kP).done(1, ts::RdAll{kP, any("k1"), 0}, ts::FoundAll{}, 10);
  EXPECT_EQ(unbounded.check(), Verdict::kViolation);
  // Found by another client: the forbidden insertion took effect.
  History seen;
  seen.with_space(kP)
      .done(1, ts::Out{kP, spec({"k0", 1})}, err(ts::ErrorCode::kDenied), 10)
      .done(2, ts::Rdp{kP, any("k0")}, ts::Found{{"k0", 1}}, 20);
  EXPECT_EQ(seen.check(), Verdict::kViolation);
  // The same on a space without a policy is fine.
  History plain;
  plain.with_space("s0")
      .done(1, ts::Out{"s0", spec({"k0", 7})}, ts::Ack{}, 10)
      .done(1, ts::RdAll{"s0", any("k0"), 0}, ts::FoundAll{{{"k0", 7}}}, 20);
  EXPECT_EQ(plain.check(), Verdict::kOk) << plain.explanation();
}

TEST(TsModel, PolicyRejectsADenialOfAnAllowedOperation) {
  for (const ts::Request& op : std::vector<ts::Request>{
           ts::Out{kP, spec({"k0", 2})}, ts::Inp{kP, any("k0")}, ts::RdAll{kP, any("k0"), 0},
           ts::Rdp{kP, any("k0")}, ts::Renew{kP, any("k0"), 100}}) {
    History h;
    h.with_space(kP).done(2, op, err(ts::ErrorCode::kDenied), 10);
    EXPECT_EQ(h.check(), Verdict::kViolation) << TsModel().describe_op(req(op));
  }
  // Client 1 may change k1.
  History odd;
  odd.with_space(kP).done(1, ts::Out{kP, spec({"k1", 1})}, err(ts::ErrorCode::kDenied), 10);
  EXPECT_EQ(odd.check(), Verdict::kViolation);
}

TEST(TsModel, PolicyMakesTheByzantineClientAStranger) {
  // Client 3 of a run with 3 correct clients is the Byzantine one ("client-byz-0"): it only
  // reads, so its pending insertion never takes effect in a policy space; in a space without a
  // policy it may.
  History byz;
  byz.with_space(kP)
      .pending(3, ts::Out{kP, spec({"k1", 1})}, 10, 1)
      .pending(3, ts::Out{kP, spec({"k1", 2})}, 10, 1)
      .done(2, ts::Rdp{kP, any("k1")}, ts::Found{{"k1", 1}}, 20);
  EXPECT_EQ(byz.check(), Verdict::kViolation);
  History plain;
  plain.with_space("s0")
      .pending(3, ts::Out{"s0", spec({"k1", 1})}, 10, 1)
      .done(2, ts::Rdp{"s0", any("k1")}, ts::Found{{"k1", 1}}, 20);
  EXPECT_EQ(plain.check(), Verdict::kOk) << plain.explanation();
  // With 4 correct clients, client 3 is correct (odd): it may insert into k1.
  History correct;
  correct.with_space("p0-c4")
      .pending(3, ts::Out{"p0-c4", spec({"k1", 1})}, 10)
      .done(2, ts::Rdp{"p0-c4", any("k1")}, ts::Found{{"k1", 1}}, 20);
  EXPECT_EQ(correct.check(), Verdict::kOk) << correct.explanation();
  // Its reads are allowed; a removal is not.
  History reads;
  reads.with_space(kP)
      .done(2, ts::Out{kP, spec({"k1", 1})}, ts::Ack{}, 10)
      .done(3, ts::RdAll{kP, any("k1"), 0}, ts::FoundAll{{{"k1", 1}}}, 20)
      .done(3, ts::Inp{kP, any("k1")}, err(ts::ErrorCode::kDenied), 30);
  EXPECT_EQ(reads.check(), Verdict::kOk) << reads.explanation();
}

TEST(TsModel, PendingDeniedOperationsHaveNoEffect) {
  // A pending `in` of client 1 on k0 is denied: it takes nothing, neither now nor later.
  History in;
  in.with_space(kP)
      .pending(1, ts::In{kP, any("k0"), 500}, 10)
      .done(2, ts::Out{kP, spec({"k0", 2})}, ts::Ack{}, 20)
      .done(2, ts::Rdp{kP, any("k0")}, err(ts::ErrorCode::kNotFound), 30);
  EXPECT_EQ(in.check(), Verdict::kViolation);
  History inp;
  inp.with_space(kP)
      .done(2, ts::Out{kP, spec({"k0", 2})}, ts::Ack{}, 10)
      .pending(1, ts::Inp{kP, any("k0")}, 20)
      .done(2, ts::Rdp{kP, any("k0")}, err(ts::ErrorCode::kNotFound), 30);
  EXPECT_EQ(inp.check(), Verdict::kViolation);
}

// ---- the model against the real engine ---------------------------------------------------------

// Replies with the newest match to rdp (ordered or read-only): a planted bug.
// The real replica app, to which tests of planted bugs delegate what they do not change.
class DelegatingApp : public StateMachine {
 public:
  DelegatingApp() : inner_(std::vector<std::string>{kTsAdminPrincipal}) {}
  std::vector<Completion> begin_batch(TimeUs now_us) override { return inner_.begin_batch(now_us); }
  ExecuteResult execute(const Request& request) override { return inner_.execute(request); }
  std::optional<Bytes> execute_read_only(const Request& request) override {
    return inner_.execute_read_only(request);
  }
  std::optional<TimeUs> next_deadline_us() const override { return inner_.next_deadline_us(); }
  void session_evicted(const ClientKey& client) override { inner_.session_evicted(client); }
  Bytes snapshot() const override { return inner_.snapshot(); }
  Digest digest() const override { return inner_.digest(); }
  bool restore(ByteView snapshot) override { return inner_.restore(snapshot); }

 protected:
  server::TupleSpaceApp inner_;
};

class NewestMatchApp final : public DelegatingApp {
 public:
  ExecuteResult execute(const Request& request) override {
    if (auto r = newest(request)) return ExecuteResult{std::move(*r), {}};
    return inner_.execute(request);
  }
  std::optional<Bytes> execute_read_only(const Request& request) override {
    if (auto r = newest(request)) return r;
    return inner_.execute_read_only(request);
  }

 private:
  std::optional<Bytes> newest(const Request& request) {
    auto op = ts::decode_request(request.payload);
    if (!op || !std::holds_alternative<ts::Rdp>(*op)) return std::nullopt;
    const auto& rdp = std::get<ts::Rdp>(*op);
    Request all = request;
    // With a bound that no run reaches: the simulator's policy refuses odd clients an unbounded
    // rdAll, never an rdp.
    all.payload = ts::encode_request(ts::RdAll{rdp.space, rdp.tmpl, 1'000'000});
    auto bytes = inner_.execute_read_only(all);
    if (!bytes) return std::nullopt;
    auto reply = codec::decode<ts::Reply>(*bytes);
    if (!reply || !std::holds_alternative<ts::FoundAll>(*reply)) return bytes;
    const auto& tuples = std::get<ts::FoundAll>(*reply).tuples;
    if (tuples.empty()) return rep(err(ts::ErrorCode::kNotFound));
    return rep(ts::Found{tuples.back()});
  }
};

// Drives one application directly with the workload: one request per batch, random gaps of
// agreed time (leases expire, waits time out), several clients with one operation each in
// flight (a waiting rd/in completes in a later batch), and now and then an operation of a
// stranger ("client-byz-0", one of the Byzantine client's alternatives, with its result: the
// model names it so in policy spaces). Returns the clients' history.
std::vector<HistoryOp> drive(StateMachine& app, std::uint64_t seed, std::uint32_t clients,
                             std::size_t ops) {
  Rng rng(seed);
  TsWorkload workload(rng.fork(), clients + 1);
  const std::uint32_t slots = clients + 1;  // the correct clients, then the stranger
  const std::uint32_t stranger = clients;
  std::map<std::string, std::uint32_t> by_principal;
  for (std::uint32_t c = 0; c < slots; ++c) by_principal[ts_sim_principal(c, clients)] = c;
  std::vector<HistoryOp> history;
  std::vector<std::optional<std::size_t>> waiting(slots);  // history index
  std::vector<std::uint64_t> numbers(slots, 0);
  std::vector<WorkloadOp> current(slots);
  TimeUs agreed_us = 5'000'000;
  TimeUs t = 0;  // history time: one tick per event
  auto finish = [&](std::uint32_t c, const Bytes& result) {
    HistoryOp& h = history[*waiting[c]];
    h.response_us = ++t;
    h.result = result;
    workload.observe(c, current[c], result);
    waiting[c].reset();
  };
  auto complete = [&](const std::vector<Completion>& completions) {
    for (const Completion& done : completions) {
      const std::uint32_t c = by_principal.at(done.client.principal);
      ASSERT_TRUE(waiting[c].has_value());
      ASSERT_EQ(done.number, numbers[c]);
      finish(c, done.result);
    }
  };
  for (std::size_t i = 0; i < ops; ++i) {
    agreed_us += static_cast<TimeUs>(rng.chance(0.2) ? rng.uniform(100'000, 1'000'000)
                                                     : rng.uniform(0, 60'000));
    complete(app.begin_batch(agreed_us));
    std::vector<std::uint32_t> idle;
    for (std::uint32_t c = 0; c < clients; ++c) {
      if (!waiting[c]) idle.push_back(c);
    }
    // The stranger takes about one turn in ten (its operations never wait).
    const bool strange = !waiting[stranger] && rng.chance(0.1);
    if (idle.empty() && !strange) continue;
    const std::uint32_t c = strange ? stranger : rng.pick(idle);
    current[c] =
        strange ? WorkloadOp{rng.pick(workload.equivocation(c)), false} : workload.next_op(c);
    const Request request{ClientKey{ts_sim_principal(c, clients), 1}, ++numbers[c], false,
                          current[c].payload};
    history.push_back(
        HistoryOp{c, request.payload, ++t, std::nullopt, std::nullopt, std::nullopt, false});
    waiting[c] = history.size() - 1;
    if (current[c].read_only) {
      if (auto r = app.execute_read_only(request)) {
        finish(c, *r);
        continue;
      }
    }
    ExecuteResult r = app.execute(request);
    if (r.result) finish(c, *r.result);
    complete(r.completions);
  }
  // Let every wait time out.
  complete(app.begin_batch(agreed_us + 10'000'000));
  for (std::uint32_t c = 0; c < slots; ++c) EXPECT_FALSE(waiting[c].has_value()) << c;
  return history;
}

// What the policy decided in a history: results in policy spaces, by who asked.
struct PolicyTally {
  std::uint64_t correct_ops = 0, correct_denied = 0, stranger_ops = 0, stranger_denied = 0;
  void add(const std::vector<HistoryOp>& history, std::uint32_t correct_clients) {
    for (const HistoryOp& h : history) {
      auto op = ts::decode_request(h.op);
      if (!h.result || !op || !ts_policy_space(ts::space_of(*op)) || !policy::governed(*op)) {
        continue;
      }
      const auto reply = codec::decode<ts::Reply>(*h.result);
      if (reply && ts::code_of(*reply) == ts::ErrorCode::kNoSuchSpace) continue;  // not created yet
      const bool denied = reply && ts::code_of(*reply) == ts::ErrorCode::kDenied;
      const bool stranger = h.client >= correct_clients;
      ++(stranger ? stranger_ops : correct_ops);
      if (denied) ++(stranger ? stranger_denied : correct_denied);
    }
  }
};

// The real application: engine and layer stack, policies included (the model must agree with the
// script's every decision).
TEST(TsModel, AcceptsEveryHistoryOfTheRealEngine) {
  TsModel model;
  std::uint64_t steps = 0;
  PolicyTally tally;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    server::TupleSpaceApp app(std::vector<std::string>{kTsAdminPrincipal});
    const std::uint32_t clients = 1 + static_cast<std::uint32_t>(seed % 4);
    const auto history = drive(app, seed, clients, 150);
    tally.add(history, clients);
    const auto report = check_linearizable(model, history);
    steps += report.steps;
    ASSERT_EQ(report.verdict, Verdict::kOk) << "seed " << seed << "\n" << report.explanation;
  }
  std::cout << "checker steps over 300 histories: " << steps << "\n"
            << "in policy spaces: " << tally.correct_denied << " of " << tally.correct_ops
            << " operations of correct clients denied, " << tally.stranger_denied << " of "
            << tally.stranger_ops << " of the stranger\n";
  EXPECT_GT(tally.correct_denied, 100u);
  EXPECT_GT(tally.stranger_denied, 100u);
  EXPECT_EQ(tally.stranger_denied, tally.stranger_ops);  // it only writes
}

TEST(TsModel, CatchesTheNewestMatchBugInTheEngine) {
  TsModel model;
  std::vector<std::uint64_t> caught;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    NewestMatchApp app;
    const auto history = drive(app, seed, 3, 150);
    if (check_linearizable(model, history).verdict == Verdict::kViolation) caught.push_back(seed);
  }
  std::cout << "newest-match bug caught in " << caught.size() << " of 50 seeds\n";
  EXPECT_GE(caught.size(), 25u);
}

// ---- full simulated runs -----------------------------------------------------------------------

// The first seed in 1..20 whose run with the plugin `make_plugin` gives reports a failure of
// `kind` ("linearizability", "agreement"), with that failure; nullopt if none does.
std::optional<std::pair<std::uint64_t, std::string>> first_seed_failing(
    const std::function<AppPlugin()>& make_plugin, const std::string& kind) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const AppPlugin plugin = make_plugin();
    SimOptions o;
    o.seed = seed;
    o.plugin = &plugin;
    for (const std::string& f : run_seed(o).failures) {
      if (f.find(kind) != std::string::npos) return std::pair{seed, f};
    }
  }
  return std::nullopt;
}

TEST(TsSimulation, PlantedBugIsReportedWithItsSeed) {
  const auto caught = first_seed_failing(
      [] {
        AppPlugin buggy = ts_app_plugin();
        buggy.name = "tuplespace-newest-match";
        buggy.make_state_machine = [] { return std::make_unique<NewestMatchApp>(); };
        return buggy;
      },
      "linearizability");
  ASSERT_TRUE(caught.has_value()) << "no seed in 1..20 caught the planted bug";
  std::cout << "planted bug caught at seed " << caught->first << ":\n" << caught->second << "\n";
}

// Creates spaces without their policy script, as a replica whose layer stack lacked the policy
// layer would decide: a planted bug, given to one replica only (the first one made).
class PolicyBlindApp final : public DelegatingApp {
 public:
  ExecuteResult execute(const Request& request) override {
    auto op = ts::decode_request(request.payload);
    auto* create = op ? std::get_if<ts::SpaceCreate>(&*op) : nullptr;
    if (create == nullptr || create->options.policy.empty()) return inner_.execute(request);
    create->options.policy.clear();
    Request blind = request;
    blind.payload = ts::encode_request(*op);
    return inner_.execute(blind);
  }
};

TEST(TsSimulation, ReplicaIgnoringPoliciesBreaksAgreement) {
  const auto caught = first_seed_failing(
      [] {
        AppPlugin buggy = ts_app_plugin();
        buggy.name = "tuplespace-policy-blind";
        auto made = std::make_shared<std::uint32_t>(0);
        buggy.make_state_machine = [made]() -> std::unique_ptr<StateMachine> {
          if ((*made)++ == 0) return std::make_unique<PolicyBlindApp>();
          return std::make_unique<server::TupleSpaceApp>(
              std::vector<std::string>{kTsAdminPrincipal});
        };
        return buggy;
      },
      "agreement");
  ASSERT_TRUE(caught.has_value()) << "no seed in 1..20 caught the policy-blind replica";
  std::cout << "policy-blind replica caught at seed " << caught->first << ":\n"
            << caught->second << "\n";
}

// Every replica ignoring policies agrees with the others: the model must see it.
TEST(TsSimulation, PoliciesIgnoredEverywhereAreNotLinearizable) {
  const auto caught = first_seed_failing(
      [] {
        AppPlugin buggy = ts_app_plugin();
        buggy.name = "tuplespace-policy-blind-everywhere";
        buggy.make_state_machine = [] { return std::make_unique<PolicyBlindApp>(); };
        return buggy;
      },
      "linearizability");
  ASSERT_TRUE(caught.has_value()) << "no seed in 1..20 caught replicas that ignore policies";
  std::cout << "policy-blind replicas caught at seed " << caught->first << ":\n"
            << caught->second.substr(0, caught->second.find('\n')) << "\n";
}

// The mix of forbidden attempts in simulated runs, counted where clients see results and where
// replicas decide.
struct Mix {
  std::uint64_t runs = 0, runs_with_policy = 0;
  // Completed operations of correct clients in policy spaces, and why they were denied.
  std::uint64_t policy_ops = 0, denied_k0 = 0, denied_rd_all = 0, denied_seven = 0, denied_acl = 0;
  std::uint64_t byz_requests = 0, byz_in_policy = 0;  // the Byzantine client's requests
  // Every governed request a replica executed in a policy space: by the policy's decision, and
  // how often the replica's decision differed from the mirror's.
  std::uint64_t replica_allowed = 0, replica_denied = 0, replica_byz_denied = 0,
                replica_read_only_denied = 0, mismatches = 0;
};

class CountingWorkload final : public Workload {
 public:
  CountingWorkload(Rng rng, std::uint32_t clients, Mix& mix)
      : inner_(std::move(rng), clients), mix_(mix) {
    ++mix_.runs;
    for (const std::string& space : inner_.spaces()) {
      if (ts_policy_space(space)) ++mix_.runs_with_policy;
    }
  }
  WorkloadOp next_op(std::uint32_t client) override { return inner_.next_op(client); }
  void observe(std::uint32_t client, const WorkloadOp& op, const Bytes& result) override {
    inner_.observe(client, op, result);
    auto request = ts::decode_request(op.payload);
    auto reply = codec::decode<ts::Reply>(result);
    if (!request || !reply || !ts_policy_space(ts::space_of(*request))) return;
    if (!policy::governed(*request)) return;
    ++mix_.policy_ops;
    if (ts::code_of(*reply) != ts::ErrorCode::kDenied) return;
    if (ts_policy_allows(*request, ts_sim_principal(client))) {
      ++mix_.denied_acl;
    } else if (ts_policy_allows(*request, ts_sim_principal(0))) {
      // Allowed to an even client: a rule on odd clients.
      ++(std::holds_alternative<ts::RdAll>(*request) ? mix_.denied_rd_all : mix_.denied_k0);
    } else {
      ++mix_.denied_seven;
    }
  }
  std::vector<Bytes> equivocation(std::uint32_t client) override {
    std::vector<Bytes> v = inner_.equivocation(client);
    ++mix_.byz_requests;
    auto request = ts::decode_request(v.front());
    if (request && ts_policy_space(ts::space_of(*request))) ++mix_.byz_in_policy;
    return v;
  }

 private:
  TsWorkload inner_;
  Mix& mix_;
};

class CountingApp final : public DelegatingApp {
 public:
  explicit CountingApp(Mix& mix) : mix_(mix) {}
  ExecuteResult execute(const Request& request) override {
    ExecuteResult r = inner_.execute(request);
    if (r.result) tally(request, *r.result, false);
    return r;
  }
  std::optional<Bytes> execute_read_only(const Request& request) override {
    auto r = inner_.execute_read_only(request);
    if (r) tally(request, *r, true);
    return r;
  }

 private:
  void tally(const Request& request, const Bytes& result, bool read_only) {
    auto op = ts::decode_request(request.payload);
    auto reply = codec::decode<ts::Reply>(result);
    if (!op || !reply || !ts_policy_space(ts::space_of(*op)) || !policy::governed(*op)) return;
    if (ts::code_of(*reply) == ts::ErrorCode::kNoSuchSpace) return;
    const auto* e = std::get_if<ts::Error>(&*reply);
    const bool by_policy = e != nullptr && e->code == ts::ErrorCode::kDenied &&
                           e->message.starts_with("denied by the policy");
    ++(by_policy ? mix_.replica_denied : mix_.replica_allowed);
    if (by_policy && request.client.principal.starts_with("client-byz-")) ++mix_.replica_byz_denied;
    if (by_policy && read_only) ++mix_.replica_read_only_denied;
    if (by_policy == ts_policy_allows(*op, request.client.principal)) ++mix_.mismatches;
  }

  Mix& mix_;
};

TEST(TsSimulation, ForbiddenAttemptsAreTriedAndDenied) {
  Mix mix;
  AppPlugin counting = ts_app_plugin();
  counting.name = "tuplespace-counting";
  counting.make_state_machine = [&mix] { return std::make_unique<CountingApp>(mix); };
  counting.make_workload = [&mix](Rng rng, std::uint32_t clients) {
    return std::make_unique<CountingWorkload>(std::move(rng), clients, mix);
  };
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.plugin = &counting;
    o.byzantine = seed % 2 == 0;
    const RunResult r = run_seed(o);
    EXPECT_TRUE(r.passed()) << "seed " << seed << ": " << r.failures.front();
  }
  std::cout << mix.runs_with_policy << " of " << mix.runs << " runs with a policy space; "
            << mix.policy_ops
            << " completed operations of correct clients there, denied: " << mix.denied_k0
            << " changes of k0 by odd clients, " << mix.denied_rd_all
            << " unbounded rdAlls of odd clients, " << mix.denied_seven << " multiples of 7, "
            << mix.denied_acl
            << " by access lists; the Byzantine client's requests: " << mix.byz_in_policy << " of "
            << mix.byz_requests
            << " in a policy space; replicas' decisions there: " << mix.replica_denied
            << " denied (" << mix.replica_byz_denied << " of the Byzantine client, "
            << mix.replica_read_only_denied << " on the read-only path), " << mix.replica_allowed
            << " allowed\n";
  EXPECT_EQ(mix.mismatches, 0u);
  EXPECT_GE(mix.runs_with_policy, 20u);
  EXPECT_GE(mix.denied_k0, 20u);
  EXPECT_GE(mix.denied_rd_all, 5u);
  EXPECT_GE(mix.denied_seven, 20u);
  EXPECT_GE(mix.replica_byz_denied, 20u);
  EXPECT_GE(mix.replica_read_only_denied, 5u);
}

TEST(TsSimulation, CorrectRunsPass) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.plugin = find_app("tuplespace");
    o.byzantine = seed % 2 == 0;
    const RunResult r = run_seed(o);
    EXPECT_TRUE(r.passed()) << "seed " << seed << ": " << r.failures.front()
                            << "\nreproduce: bastion-sim " << o.repro_args();
    EXPECT_GT(r.stats.ops_completed, 0u);
  }
}

}  // namespace
}  // namespace bastion::sim
