// Seeded randomized differential test: Engine against the naive Model (model.h) on long random
// call sequences (several clients and sessions, leases, waits with timeouts, access lists, limits,
// cancels, session evictions, irregular and sometimes backwards time), plus snapshot/restore at
// random points: the restored twin must then behave byte-for-byte like the original. A mirror
// engine fed the same calls must keep byte-identical snapshots (determinism).
//
// Environment:
//   BASTION_TS_SEED=S    first seed (default 1)
//   BASTION_TS_SEEDS=N   number of seeds (default 16)
//   BASTION_TS_STEPS=K   calls per seed (default 2500)
//   BASTION_TS_STATS=1   print how often each operation/reply pair occurred
// A failure prints its seed; rerun it alone with BASTION_TS_SEED=S BASTION_TS_SEEDS=1.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "tests/unit/tuplespace/model.h"
#include "tuplespace/engine.h"

namespace bastion::ts::testing {
namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

bool has_messages(const Outcome& o) {
  auto ok = [](const Reply& r) {
    const auto* e = std::get_if<Error>(&r);
    return e == nullptr || !e->message.empty();
  };
  if (!ok(o.reply)) return false;
  for (const Completion& c : o.completions) {
    if (!ok(c.reply)) return false;
  }
  return true;
}

class RandomRun {
 public:
  explicit RandomRun(std::uint64_t seed) : seed_(seed), rng_(seed) {}

  // Executes `steps` random calls; stops at the first divergence (reported through gtest).
  void go(std::uint64_t steps) {
    for (const char* name : {"s", "t"}) {
      const Context ctx{"admin", 0, ++admin_request_, now_};
      const Request create = SpaceCreate{name, random_options()};
      ASSERT_EQ(without_messages(engine_.execute(ctx, create)), model_.execute(ctx, create));
      mirror_.execute(ctx, create);
    }
    std::vector<std::unique_ptr<int>> garbage;  // so that the mirror's addresses differ
    for (step_ = 0; step_ < steps; ++step_) {
      if (chance(10)) garbage.push_back(std::make_unique<int>(0));
      advance_time();
      const unsigned pick = below(100);
      if (pick < 4) {
        check_advance();
      } else if (pick < 7) {
        check_cancel_session();
      } else if (pick < 9) {
        take_snapshot();
      } else {
        check_request();
      }
      if (::testing::Test::HasFatalFailure()) return;
      ASSERT_EQ(engine_.next_deadline(), model_.next_deadline()) << where("next_deadline");
      if (step_ % 64 == 0 || step_ + 1 == steps) {
        // Same history, same bytes: the mirror never went through a snapshot.
        ASSERT_EQ(mirror_.snapshot(), engine_.snapshot()) << where("mirror snapshot");
      }
      if (twin_) {
        ASSERT_EQ(twin_->digest(), engine_.digest()) << where("twin digest");
      }
    }
  }

 private:
  std::string where(std::string_view what) const {
    return "seed " + std::to_string(seed_) + ", step " + std::to_string(step_) + ", " +
           std::string(what) + " (rerun: BASTION_TS_SEED=" + std::to_string(seed_) +
           " BASTION_TS_SEEDS=1)";
  }

  unsigned below(unsigned n) { return static_cast<unsigned>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

  void advance_time() {
    const unsigned p = below(100);
    if (p < 40) return;
    if (p < 85) {
      now_ += 1 + below(10);
    } else if (p < 95) {
      now_ += 11 + below(50);
    } else {
      now_ -= 1 + below(20);  // the engine must treat this as the latest time
    }
  }

  void check_advance() {
    const auto e = engine_.advance(now_);
    ASSERT_EQ(mirror_.advance(now_), e) << where("mirror advance");
    ASSERT_EQ(without_messages(Outcome{Ack{}, e}), (Outcome{Ack{}, model_.advance(now_)}))
        << where("advance");
    if (twin_) {
      ASSERT_EQ(twin_->advance(now_), e) << where("twin advance");
    }
  }

  void check_cancel_session() {
    const std::string client = random_client();
    const std::uint64_t session = 1 + below(2);
    const auto e = engine_.cancel_session(client, session);
    ASSERT_EQ(mirror_.cancel_session(client, session), e) << where("mirror cancel");
    ASSERT_EQ(without_messages(Outcome{Ack{}, e}),
              (Outcome{Ack{}, model_.cancel_session(client, session)}))
        << where("cancel_session");
    if (twin_) {
      ASSERT_EQ(twin_->cancel_session(client, session), e) << where("twin cancel");
    }
  }

  void take_snapshot() {
    const codec::Bytes snap = engine_.snapshot();
    auto restored = Engine::restore(snap);
    ASSERT_TRUE(restored.ok()) << where("restore") << ": " << restored.error().message;
    ASSERT_EQ(restored->snapshot(), snap) << where("snapshot round trip");
    twin_.emplace(std::move(restored).value());
  }

  void check_request() {
    Context ctx;
    ctx.client = random_client();
    ctx.session = 1 + below(2);
    std::uint64_t& counter = requests_[ctx.client + "/" + std::to_string(ctx.session)];
    ctx.request = (chance(3) && counter > 0) ? counter : ++counter;  // sometimes a duplicate
    ctx.now_ms = now_;
    const Request req = random_request(counter);
    const std::string what = where(op_name(req));

    Outcome got;
    Outcome want;
    if (read_only(req) && chance(50)) {
      got = engine_.execute_read_only(ctx, req);
      want = model_.execute_read_only(ctx, req);
      if (twin_) {
        ASSERT_EQ(twin_->execute_read_only(ctx, req), got) << what << " (twin)";
      }
    } else {
      got = engine_.execute(ctx, req);
      ASSERT_EQ(mirror_.execute(ctx, req), got) << what << " (mirror)";
      want = model_.execute(ctx, req);
      if (twin_) {
        ASSERT_EQ(twin_->execute(ctx, req), got) << what << " (twin)";
      }
    }
    ASSERT_TRUE(has_messages(got)) << what << ": an error without a message";
    ASSERT_EQ(without_messages(got), want) << what;
    tally(req, got);
  }

 public:
  // How often each (operation, reply) and each completion kind occurred over all runs: evidence
  // that the random calls reach the interesting paths.
  static std::map<std::string, std::uint64_t>& stats() {
    static std::map<std::string, std::uint64_t> counts;
    return counts;
  }

 private:
  static std::string reply_name(const Reply& r) {
    static const char* const kNames[] = {"error",     "ack", "pending", "found",
                                         "found_all", "cas", "spaces"};
    if (const auto* e = std::get_if<Error>(&r)) return std::string(error_code_name(e->code));
    if (const auto* c = std::get_if<CasResult>(&r)) return c->inserted ? "inserted" : "existing";
    return kNames[r.index()];
  }
  void tally(const Request& req, const Outcome& got) {
    ++stats()[std::string(op_name(req)) + " -> " + reply_name(got.reply)];
    for (const Completion& c : got.completions) ++stats()["completion " + reply_name(c.reply)];
  }

  // ---- random arguments ----

  std::string random_client() {
    static const char* const kClients[] = {"a", "b", "c"};
    return kClients[below(3)];
  }

  std::string random_space() {
    if (chance(4)) return "u";
    return chance(50) ? "s" : "t";
  }

  SpaceOptions random_options() {
    SpaceOptions o;
    o.tuples_max = 1 + below(24);
    o.tuples_per_client_max = 1 + below(12);
    o.waiters_per_client_max = chance(10) ? 0 : 1 + below(4);
    o.fields_max = 2 + below(3);
    o.tuple_bytes_max = 16 + below(40);
    o.confidential = chance(20);
    if (o.confidential || chance(20)) {  // otherwise invalid
      o.protection = {static_cast<std::uint8_t>(below(chance(10) ? 4 : 3))};
      o.fingerprint_key.assign(chance(10) ? 31 : 32, 'k');
    }
    if (chance(20)) o.policy = "p" + std::to_string(below(5));
    if (chance(20)) o.access = random_access();
    if (chance(4)) o.fields_max = 0;  // invalid
    return o;
  }

  std::vector<std::string> random_names() {
    std::vector<std::string> names;
    const unsigned n = below(4);
    for (unsigned i = 0; i < n; ++i)
      names.push_back(chance(5) ? "" : "c" + std::to_string(below(3)));
    return names;
  }

  SpaceAccess random_access() {
    return SpaceAccess{random_names(), random_names(), random_names()};
  }

  Value random_value() {
    switch (below(9)) {
      case 0:
        return Value(0);
      case 1:
        return Value(1);
      case 2:
        return Value(2);
      case 3:
        return Value("x");
      case 4:
        return Value("y");
      case 5:
        return Value(1.5);
      case 6:
        return Value(true);
      case 7:
        return Value(Blob{"x"});
      default:
        if (chance(3)) return Value(std::numeric_limits<double>::quiet_NaN());
        if (chance(10)) return Value(std::string(30, 'z'));  // beyond small byte limits
        return Value(-0.0);
    }
  }

  std::size_t random_arity() {
    const unsigned p = below(100);
    if (p < 2) return 0;
    if (p < 5) return 4 + below(2);
    return 1 + below(3);
  }

  Tuple random_tuple() {
    Tuple t(random_arity());
    for (Value& v : t) v = random_value();
    return t;
  }

  Template random_template() {
    if (!recent_.empty() && chance(50)) {
      // Derived from a tuple inserted lately, so that matches are common.
      const Tuple& base = recent_[below(static_cast<unsigned>(recent_.size()))];
      Template t(base.begin(), base.end());
      for (Pattern& p : t) {
        if (chance(40)) p = chance(70) ? Pattern::any() : Pattern::typed(p.value().type());
      }
      return t;
    }
    Template t(random_arity());
    for (Pattern& p : t) {
      const unsigned k = below(100);
      if (k < 45) {
        p = Pattern(random_value());
      } else if (k < 80) {
        p = Pattern::any();
      } else {
        p = Pattern::typed(static_cast<Type>(below(kTypeCount)));
      }
    }
    return t;
  }

  std::vector<std::string> random_acl() {
    std::vector<std::string> names;
    if (chance(75)) return names;
    for (const char* c : {"c", "a", "b"}) {
      if (chance(50)) names.push_back(c);
    }
    if (chance(10)) names.push_back(names.empty() ? "a" : names.front());  // duplicate
    if (chance(3)) names.push_back("");                                    // invalid
    return names;
  }

  TupleSpec random_spec() {
    TupleSpec s;
    s.tuple = random_tuple();
    if (recent_.size() < 16) {
      recent_.push_back(s.tuple);
    } else {
      recent_[below(16)] = s.tuple;
    }
    s.lease_ms = chance(50) ? 0 : 1 + below(60);
    if (chance(1)) s.lease_ms = std::numeric_limits<std::uint64_t>::max();
    s.readers = random_acl();
    s.removers = random_acl();
    return s;
  }

  std::uint64_t random_timeout() {
    if (chance(1)) return std::numeric_limits<std::uint64_t>::max();
    return chance(30) ? 0 : 1 + below(80);
  }

  std::uint64_t random_max() { return chance(50) ? 0 : 1 + below(3); }

  Request random_request(std::uint64_t last_request) {
    const unsigned p = below(100);
    if (p < 18) return Out{random_space(), random_spec()};
    if (p < 23) {
      OutAll op{random_space(), {}};
      const unsigned n = below(4);
      for (unsigned i = 0; i < n; ++i) op.entries.push_back(random_spec());
      return op;
    }
    if (p < 33) return Rdp{random_space(), random_template()};
    if (p < 41) return Inp{random_space(), random_template()};
    if (p < 50) return Rd{random_space(), random_template(), random_timeout()};
    if (p < 59) return In{random_space(), random_template(), random_timeout()};
    if (p < 66) return Cas{random_space(), random_template(), random_spec()};
    if (p < 71) return Replace{random_space(), random_template(), random_spec()};
    if (p < 76) {
      const std::uint64_t lease = chance(5) ? 0 : 1 + below(60);
      return Renew{random_space(), random_template(), lease};
    }
    if (p < 81) return RdAll{random_space(), random_template(), random_max()};
    if (p < 85) return InAll{random_space(), random_template(), random_max()};
    if (p < 92) return Cancel{last_request > 1 ? last_request - 1 - below(3) : 0};
    if (p < 93) return SpaceList{};
    if (p < 94) return SpaceShow{random_space()};
    if (p < 97) return SpaceCreate{random_space(), random_options()};
    if (p < 98)
      return SpaceSetPolicy{random_space(), chance(50) ? "" : "p" + std::to_string(below(5))};
    if (p < 99) {
      const auto lists = static_cast<std::uint8_t>(below(9));
      SpaceAccess a = random_access();
      if (chance(80)) {  // mostly consistent with the mask
        if ((lists & kAccessInserters) == 0) a.inserters.clear();
        if ((lists & kAccessReaders) == 0) a.readers.clear();
        if ((lists & kAccessRemovers) == 0) a.removers.clear();
      }
      return SpaceSetAccess{random_space(), lists, std::move(a)};
    }
    return SpaceDelete{random_space()};
  }

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  std::uint64_t step_ = 0;
  std::int64_t now_ = 1000;
  std::uint64_t admin_request_ = 0;
  std::map<std::string, std::uint64_t> requests_;
  Engine engine_;
  Engine mirror_;  // fed the same calls as engine_, always in ordered execution
  Model model_;
  std::optional<Engine> twin_;
  std::vector<Tuple> recent_;
};

TEST(Differential, EngineMatchesTheReferenceModel) {
  const std::uint64_t first = env_or("BASTION_TS_SEED", 1);
  const std::uint64_t seeds = env_or("BASTION_TS_SEEDS", 16);
  const std::uint64_t steps = env_or("BASTION_TS_STEPS", 2500);
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    RandomRun run(seed);
    run.go(steps);
    if (::testing::Test::HasFailure()) {
      FAIL() << "diverged with seed " << seed;
    }
  }
  if (std::getenv("BASTION_TS_STATS") != nullptr) {
    for (const auto& [what, n] : RandomRun::stats())
      std::printf("%8llu  %s\n", static_cast<unsigned long long>(n), what.c_str());
  }
}

}  // namespace
}  // namespace bastion::ts::testing
