// Tests of the tuple-space simulator application: the sequential model on hand-written histories
// (each rule that lets agreed time stay hidden, and the violations it must still see), the model
// against the real engine driven directly (it must accept every history the engine produces),
// and planted bugs (a replica app that reads the newest match instead of the oldest) that the
// checker must catch, both with the engine driven directly and in full simulated runs.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/sim/linearizability.h"
#include "bft/sim/options.h"
#include "bft/sim/simulation.h"
#include "bft/sim/ts_app.h"
#include "bft/sim/ts_model.h"
#include "codec/codec.h"
#include "server/tuplespace_app.h"

namespace bastion::bft::sim {
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
    ops_.push_back(HistoryOp{client, req(r), at, at + length, rep(result), std::nullopt});
    return *this;
  }
  History& pending(std::uint32_t client, const ts::Request& r, TimeUs at,
                   std::optional<std::uint64_t> group = std::nullopt) {
    ops_.push_back(HistoryOp{client, req(r), at, std::nullopt, std::nullopt, group});
    return *this;
  }
  // The space exists from the start (created by the admin before everything).
  History& with_space(const std::string& space = "s") {
    return done(0, ts::SpaceCreate{space, {}}, ts::Ack{}, 0);
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

// ---- the model against the real engine ---------------------------------------------------------

// Replies with the newest match to rdp (ordered or read-only): a planted bug.
class NewestMatchApp final : public StateMachine {
 public:
  NewestMatchApp() : inner_(std::vector<std::string>{kTsAdminPrincipal}) {}
  std::vector<Completion> begin_batch(TimeUs now_us) override { return inner_.begin_batch(now_us); }
  ExecuteResult execute(const Request& request) override {
    if (auto r = newest(request)) return ExecuteResult{std::move(*r), {}};
    return inner_.execute(request);
  }
  std::optional<Bytes> execute_read_only(const Request& request) override {
    if (auto r = newest(request)) return r;
    return inner_.execute_read_only(request);
  }
  std::optional<TimeUs> next_deadline_us() const override { return inner_.next_deadline_us(); }
  void session_evicted(const ClientKey& client) override { inner_.session_evicted(client); }
  Bytes snapshot() const override { return inner_.snapshot(); }
  Digest digest() const override { return inner_.digest(); }
  bool restore(ByteView snapshot) override { return inner_.restore(snapshot); }

 private:
  std::optional<Bytes> newest(const Request& request) {
    auto op = ts::decode_request(request.payload);
    if (!op || !std::holds_alternative<ts::Rdp>(*op)) return std::nullopt;
    const auto& rdp = std::get<ts::Rdp>(*op);
    Request all = request;
    all.payload = ts::encode_request(ts::RdAll{rdp.space, rdp.tmpl, 0});
    auto bytes = inner_.execute_read_only(all);
    if (!bytes) return std::nullopt;
    auto reply = codec::decode<ts::Reply>(*bytes);
    if (!reply || !std::holds_alternative<ts::FoundAll>(*reply)) return bytes;
    const auto& tuples = std::get<ts::FoundAll>(*reply).tuples;
    if (tuples.empty()) return rep(err(ts::ErrorCode::kNotFound));
    return rep(ts::Found{tuples.back()});
  }

  server::TupleSpaceApp inner_;
};

// Drives one application directly with the workload: one request per batch, random gaps of
// agreed time (leases expire, waits time out), several clients with one operation each in
// flight (a waiting rd/in completes in a later batch). Returns the clients' history.
std::vector<HistoryOp> drive(StateMachine& app, std::uint64_t seed, std::uint32_t clients,
                             std::size_t ops) {
  Rng rng(seed);
  TsWorkload workload(rng.fork(), clients + 1);
  std::vector<HistoryOp> history;
  std::vector<std::optional<std::size_t>> waiting(clients);  // history index
  std::vector<std::uint64_t> numbers(clients, 0);
  std::vector<WorkloadOp> current(clients);
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
      const std::uint32_t c =
          static_cast<std::uint32_t>(std::stoul(done.client.principal.substr(7)));
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
    if (idle.empty()) continue;
    const std::uint32_t c = rng.pick(idle);
    current[c] = workload.next_op(c);
    const Request request{ClientKey{ts_sim_principal(c), 1}, ++numbers[c], false,
                          current[c].payload};
    history.push_back(HistoryOp{c, request.payload, ++t, std::nullopt, std::nullopt, std::nullopt});
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
  for (std::uint32_t c = 0; c < clients; ++c) EXPECT_FALSE(waiting[c].has_value()) << c;
  return history;
}

TEST(TsModel, AcceptsEveryHistoryOfTheRealEngine) {
  TsModel model;
  std::uint64_t steps = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    server::TupleSpaceApp app(std::vector<std::string>{kTsAdminPrincipal});
    const auto history = drive(app, seed, 1 + seed % 4, 150);
    const auto report = check_linearizable(model, history);
    steps += report.steps;
    ASSERT_EQ(report.verdict, Verdict::kOk) << "seed " << seed << "\n" << report.explanation;
  }
  std::cout << "checker steps over 300 histories: " << steps << "\n";
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

TEST(TsSimulation, PlantedBugIsReportedWithItsSeed) {
  AppPlugin buggy = ts_app_plugin();
  buggy.name = "tuplespace-newest-match";
  buggy.make_state_machine = [] { return std::make_unique<NewestMatchApp>(); };
  std::optional<std::uint64_t> caught;
  std::string failure;
  for (std::uint64_t seed = 1; seed <= 20 && !caught; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.app = "tuplespace";
    o.plugin = &buggy;
    const RunResult r = run_seed(o);
    for (const std::string& f : r.failures) {
      if (f.find("linearizability") != std::string::npos) {
        caught = seed;
        failure = f;
      }
    }
  }
  ASSERT_TRUE(caught.has_value()) << "no seed in 1..20 caught the planted bug";
  std::cout << "planted bug caught at seed " << *caught << ":\n" << failure << "\n";
}

TEST(TsSimulation, CorrectRunsPass) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.app = "tuplespace";
    o.byzantine = seed % 2 == 0;
    const RunResult r = run_seed(o);
    EXPECT_TRUE(r.passed()) << "seed " << seed << ": " << r.failures.front()
                            << "\nreproduce: bastion-sim " << o.repro_args();
    EXPECT_GT(r.stats.ops_completed, 0u);
  }
}

}  // namespace
}  // namespace bastion::bft::sim
