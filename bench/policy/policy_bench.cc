// bastion-policy-bench: the cost of one policy evaluation (numbers, not tests).
//
//   build/bin/bastion-policy-bench [--benchmark_...]
//
// Evaluations of bench/policy/ten_rules.lua for the operations bastion-bench sends, of a policy
// that allows at once, and the whole policy layer (the cache lookup and the request as Lua
// values included), on a space of 1,000 tuples.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "policy/policy_layer.h"
#include "policy/script.h"
#include "tuplespace/engine.h"
#include "tuplespace/layer.h"

namespace bastion::policy {
namespace {

std::string ten_rules() {
  std::ifstream in(std::string(BASTION_SOURCE_DIR) + "/bench/policy/ten_rules.lua");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ts::Tuple bench_tuple(std::int64_t key) {
  return ts::Tuple{ts::Value("bench"), ts::Value(std::int64_t{3}), ts::Value(key),
                   ts::Value(ts::Blob{std::string(64, 'x')})};
}

struct Space {
  Space() {
    engine.execute({"admin", 1, 1, 0}, ts::SpaceCreate{"s", {}});
    for (std::int64_t k = 0; k < 1000; ++k) {
      engine.execute({"bench", 1, static_cast<std::uint64_t>(k + 2), 0},
                     ts::Out{"s", ts::TupleSpec{bench_tuple(k), 0, {}, {}}});
    }
  }
  ts::Engine engine;
};

void evaluate(benchmark::State& state, const std::string& text, const ts::Request& request) {
  Space space;
  auto script = Script::compile(text, Limits{});
  if (!script) {
    state.SkipWithError(script.error().c_str());
    return;
  }
  const std::vector<std::string> groups = {"clients"};
  const EngineSpace view(space.engine, "s", 0);
  const Invocation call{"s", "client1", &groups, 0, &request};
  for (auto _ : state) {
    const Decision d = (*script)->evaluate(call, view);
    if (!d.allowed) state.SkipWithError(d.reason.c_str());
  }
}

void BM_TenRulesOut(benchmark::State& state) {
  evaluate(state, ten_rules(), ts::Out{"s", ts::TupleSpec{bench_tuple(17), 0, {}, {}}});
}
BENCHMARK(BM_TenRulesOut);

void BM_TenRulesRdp(benchmark::State& state) {
  evaluate(state, ten_rules(),
           ts::Rdp{"s", ts::Template{ts::Pattern(ts::Value("bench")),
                                     ts::Pattern(ts::Value(std::int64_t{3})),
                                     ts::Pattern(ts::Value(std::int64_t{5})), ts::Pattern::any()}});
}
BENCHMARK(BM_TenRulesRdp);

void BM_AllowAll(benchmark::State& state) {
  evaluate(state, "function decide(req) return true end",
           ts::Out{"s", ts::TupleSpec{bench_tuple(17), 0, {}, {}}});
}
BENCHMARK(BM_AllowAll);

void BM_ExistsQuery(benchmark::State& state) {
  evaluate(state, "function decide(req) return exists({'bench', 3, req.tuple[3], ANY}) end",
           ts::Out{"s", ts::TupleSpec{bench_tuple(17), 0, {}, {}}});
}
BENCHMARK(BM_ExistsQuery);

// The policy layer as the replica runs it: cached script, request checks, then the engine (a
// read that finds its tuple, so the engine's share is small and constant).
void BM_PolicyLayerRdp(benchmark::State& state) {
  Space space;
  Principals principals({"admin"}, {});
  ts::EngineLayer bottom(space.engine);
  PolicyLayer layer(space.engine, principals, Limits{}, bottom);
  const std::string text = ten_rules();
  layer.execute({"admin", 1, 5000, 0}, ts::SpaceSetPolicy{"s", text});
  const ts::Request rdp = ts::Rdp{
      "s", ts::Template{ts::Pattern(ts::Value("bench")), ts::Pattern(ts::Value(std::int64_t{3})),
                        ts::Pattern(ts::Value(std::int64_t{5})), ts::Pattern::any()}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(layer.execute_read_only({"client1", 1, 1, 0}, rdp));
  }
}
BENCHMARK(BM_PolicyLayerRdp);

void BM_EngineRdpWithoutPolicy(benchmark::State& state) {
  Space space;
  const ts::Request rdp = ts::Rdp{
      "s", ts::Template{ts::Pattern(ts::Value("bench")), ts::Pattern(ts::Value(std::int64_t{3})),
                        ts::Pattern(ts::Value(std::int64_t{5})), ts::Pattern::any()}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(space.engine.execute_read_only({"client1", 1, 1, 0}, rdp));
  }
}
BENCHMARK(BM_EngineRdpWithoutPolicy);

void BM_Compile(benchmark::State& state) {
  const std::string text = ten_rules();
  for (auto _ : state) benchmark::DoNotOptimize(Script::compile(text, Limits{}));
}
BENCHMARK(BM_Compile);

}  // namespace
}  // namespace bastion::policy

BENCHMARK_MAIN();
