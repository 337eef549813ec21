// bastion-ts-bench: costs of the tuple-space engine on one space of 1,000,000 tuples of 4 fields
// and 64 bytes each (canonical encoding): ("key-NNNNNNN", i, 30-byte string, i % 16).
//
// Reports (goals from the issue, not asserted): out, rdp with a concrete first field, rdp with
// only wildcards, inp with a concrete first field, inp of the oldest tuple, and memory per tuple
// beyond its payload (mallinfo2 delta over the build, divided by the tuple count, minus the mean
// encoded tuple size). Every operation goes through Engine::execute() with a prebuilt Request, as
// the server would call it after decoding.
//
//   bastion-ts-bench [--benchmark_filter=...]   (BASTION_TS_BENCH_TUPLES overrides 1,000,000)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bft/core/state_capture.h"
#include "tuplespace/engine.h"

namespace bastion::ts {
namespace {

constexpr std::int64_t kNow = 1'000'000;
constexpr const char* kSpace = "bench";

std::size_t tuple_count() {
  const char* v = std::getenv("BASTION_TS_BENCH_TUPLES");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

std::string key(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key-%07zu", i);
  return buf;
}

Tuple make_tuple(std::size_t i) {
  std::string payload(30, 'p');
  std::snprintf(payload.data(), payload.size(), "payload-%zu-", i);
  payload[29] = 'p';
  return Tuple{Value(key(i)), Value(static_cast<std::int64_t>(i)), Value(std::move(payload)),
               Value(static_cast<std::int64_t>(i % 16))};
}

std::size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct World {
  Engine engine;
  std::size_t tuples = 0;
  double payload_bytes_mean = 0;
  double heap_bytes_per_tuple = 0;
  std::uint64_t request = 0;

  Outcome run(const Request& r) { return engine.execute({"bench", 1, ++request, kNow}, r); }
};

World& world() {
  static World* w = [] {
    auto* created = new World();
    SpaceOptions o;
    o.tuples_max = kTuplesCap;
    o.tuples_per_client_max = kTuplesCap;
    created->run(SpaceCreate{kSpace, o});
    created->tuples = tuple_count();
    // Build the requests first so that only the engine's own memory is in the delta.
    std::vector<Request> outs;
    outs.reserve(created->tuples);
    double payload = 0;
    for (std::size_t i = 0; i < created->tuples; ++i) {
      Tuple t = make_tuple(i);
      payload += static_cast<double>(encoded_size(t));
      outs.push_back(Out{kSpace, TupleSpec{std::move(t), 0, {}, {}}});
    }
    const std::size_t before = heap_bytes();
    for (const Request& r : outs) created->run(r);
    const std::size_t after = heap_bytes();
    created->payload_bytes_mean = payload / static_cast<double>(created->tuples);
    created->heap_bytes_per_tuple =
        static_cast<double>(after - before) / static_cast<double>(created->tuples);
    return created;
  }();
  return *w;
}

void BM_Memory(benchmark::State& state) {
  World& w = world();
  for (auto _ : state) benchmark::DoNotOptimize(w.tuples);
  state.counters["tuples"] = static_cast<double>(w.tuples);
  state.counters["payload_B"] = w.payload_bytes_mean;
  state.counters["heap_B_per_tuple"] = w.heap_bytes_per_tuple;
  state.counters["overhead_B_per_tuple"] = w.heap_bytes_per_tuple - w.payload_bytes_mean;
  // The snapshot pages the engine keeps once a snapshot was taken.
  const std::size_t before = heap_bytes();
  w.engine.snapshot_pieces([](const Engine::Piece&) {});
  state.counters["snapshot_pages_B_per_tuple"] =
      static_cast<double>(heap_bytes() - before) / static_cast<double>(w.tuples);
}
BENCHMARK(BM_Memory)->Iterations(1);

void BM_Out(benchmark::State& state) {
  World& w = world();
  const std::size_t n = static_cast<std::size_t>(state.max_iterations);
  std::vector<Request> outs;
  outs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    outs.push_back(Out{kSpace, TupleSpec{make_tuple(w.tuples + i), 0, {}, {}}});
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.run(outs[i++]));
  // The timed loop is over: restore the space for the next benchmark.
  // Put the space back to its size: remove what was added.
  for (std::size_t k = 0; k < i; ++k) {
    w.run(Inp{kSpace,
              {Pattern(Value(key(w.tuples + k))), Pattern::any(), Pattern::any(), Pattern::any()}});
  }
}
BENCHMARK(BM_Out)->Iterations(200'000);

std::vector<std::size_t> shuffled_indexes(std::size_t n, std::size_t count) {
  std::mt19937_64 rng(42);
  std::vector<std::size_t> v(count);
  for (auto& x : v) x = rng() % n;
  return v;
}

void BM_RdpConcreteFirstField(benchmark::State& state) {
  World& w = world();
  std::vector<Request> reads;
  for (std::size_t i : shuffled_indexes(w.tuples, 4096)) {
    reads.push_back(
        Rdp{kSpace, {Pattern(Value(key(i))), Pattern::any(), Pattern::any(), Pattern::any()}});
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.run(reads[i++ & 4095]));
}
BENCHMARK(BM_RdpConcreteFirstField);

void BM_RdpConcreteFirstFieldReadOnly(benchmark::State& state) {
  World& w = world();
  std::vector<Request> reads;
  for (std::size_t i : shuffled_indexes(w.tuples, 4096)) {
    reads.push_back(
        Rdp{kSpace, {Pattern(Value(key(i))), Pattern::any(), Pattern::any(), Pattern::any()}});
  }
  const Context ctx{"bench", 1, 0, kNow};
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.engine.execute_read_only(ctx, reads[i++ & 4095]));
}
BENCHMARK(BM_RdpConcreteFirstFieldReadOnly);

void BM_RdpWildcardsOnly(benchmark::State& state) {
  World& w = world();
  const Request r = Rdp{kSpace, Template(4, Pattern::any())};
  for (auto _ : state) benchmark::DoNotOptimize(w.run(r));
}
BENCHMARK(BM_RdpWildcardsOnly);

// Worst case: no concrete field and nothing matches, so every tuple of arity 4 is examined.
void BM_RdpFullScanMiss(benchmark::State& state) {
  World& w = world();
  const Request r =
      Rdp{kSpace, {Pattern::any(), Pattern::any(), Pattern::any(), Pattern::typed(Type::kFloat)}};
  for (auto _ : state) benchmark::DoNotOptimize(w.run(r));
}
BENCHMARK(BM_RdpFullScanMiss)->Iterations(10)->Unit(benchmark::kMillisecond);

// A concrete field whose value is shared by 1/16 of the space (the 4th), combined with a unique
// one: the engine must pick the selective field.
void BM_RdpPicksTheSelectiveField(benchmark::State& state) {
  World& w = world();
  std::vector<Request> reads;
  for (std::size_t i : shuffled_indexes(w.tuples, 4096)) {
    reads.push_back(Rdp{kSpace,
                        {Pattern::any(), Pattern(Value(static_cast<std::int64_t>(i))),
                         Pattern::any(), Pattern(Value(static_cast<std::int64_t>(i % 16)))}});
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.run(reads[i++ & 4095]));
}
BENCHMARK(BM_RdpPicksTheSelectiveField);

void BM_InpConcreteFirstField(benchmark::State& state) {
  World& w = world();
  const std::size_t n = static_cast<std::size_t>(state.max_iterations);
  std::vector<std::size_t> victims = shuffled_indexes(w.tuples, n);
  std::sort(victims.begin(), victims.end());
  victims.erase(std::unique(victims.begin(), victims.end()), victims.end());
  std::shuffle(victims.begin(), victims.end(), std::mt19937_64(7));
  victims.resize(std::min(victims.size(), n));
  std::vector<Request> takes;
  for (std::size_t i : victims) {
    takes.push_back(
        Inp{kSpace, {Pattern(Value(key(i))), Pattern::any(), Pattern::any(), Pattern::any()}});
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.run(takes[i % takes.size()]));
    ++i;
  }
  // The timed loop is over: restore the space for the next benchmark.
  for (std::size_t k = 0; k < std::min(i, victims.size()); ++k) {
    w.run(Out{kSpace, TupleSpec{make_tuple(victims[k]), 0, {}, {}}});
  }
}
BENCHMARK(BM_InpConcreteFirstField)->Iterations(100'000);

void BM_InpOldest(benchmark::State& state) {
  World& w = world();
  const Request r = Inp{kSpace, Template(4, Pattern::any())};
  std::vector<Tuple> removed;
  removed.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    Outcome o = w.run(r);
    removed.push_back(std::move(std::get<Found>(o.reply).tuple));
  }
  // The timed loop is over: restore the space for the next benchmark.
  for (Tuple& t : removed) w.run(Out{kSpace, TupleSpec{std::move(t), 0, {}, {}}});
}
BENCHMARK(BM_InpOldest)->Iterations(100'000);

void BM_Digest(benchmark::State& state) {
  World& w = world();
  for (auto _ : state) benchmark::DoNotOptimize(w.engine.digest());
}
BENCHMARK(BM_Digest)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_Snapshot(benchmark::State& state) {
  World& w = world();
  for (auto _ : state) benchmark::DoNotOptimize(w.engine.snapshot());
}
BENCHMARK(BM_Snapshot)->Iterations(3)->Unit(benchmark::kMillisecond);

// A checkpoint's capture after 1,000 insertions and 1,000 removals since the previous one (not
// timed): the pages they touched are encoded again, the others shared.
void BM_SnapshotAfterChanges(benchmark::State& state) {
  World& w = world();
  w.engine.snapshot_pieces([](const Engine::Piece&) {});
  std::size_t next = w.tuples;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 1000; ++i) {
      w.run(Out{kSpace, TupleSpec{make_tuple(next++), 0, {}, {}}});
      w.run(Inp{kSpace, Template(4, Pattern::any())});
    }
    state.ResumeTiming();
    std::size_t pieces = 0;
    w.engine.snapshot_pieces([&pieces](const Engine::Piece&) { ++pieces; });
    benchmark::DoNotOptimize(pieces);
  }
}
BENCHMARK(BM_SnapshotAfterChanges)->Iterations(3)->Unit(benchmark::kMillisecond);

// The same capture, hashed as a checkpoint's state (the engine's pages as pieces; the core's and
// the application's headers left out): with the previous capture at hand, the pages it shares
// keep their digests (arg 1); without it (arg 0), every page is hashed, as after a restart.
void BM_CaptureDigestAfterChanges(benchmark::State& state) {
  World& w = world();
  const auto take = [&w] {
    bft::StateBytes pieces;
    w.engine.snapshot_pieces([&pieces](Engine::Piece p) { pieces.append(std::move(p)); });
    return pieces;
  };
  bft::CapturedState previous = bft::CapturedState::of(take());
  std::size_t next = w.tuples + 10'000'000;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 1000; ++i) {
      w.run(Out{kSpace, TupleSpec{make_tuple(next++), 0, {}, {}}});
      w.run(Inp{kSpace, Template(4, Pattern::any())});
    }
    bft::StateBytes pieces = take();
    state.ResumeTiming();
    bft::CapturedState captured =
        bft::CapturedState::of(std::move(pieces), state.range(0) == 1 ? &previous : nullptr);
    benchmark::DoNotOptimize(captured.digest);
    state.PauseTiming();
    previous = std::move(captured);
    state.ResumeTiming();
  }
  state.counters["pages"] = static_cast<double>(previous.page_count());
}
BENCHMARK(BM_CaptureDigestAfterChanges)
    ->Arg(1)
    ->Arg(0)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

void BM_SnapshotRestore(benchmark::State& state) {
  World& w = world();
  const codec::Bytes snap = w.engine.snapshot();
  for (auto _ : state) {
    auto restored = Engine::restore(snap);
    benchmark::DoNotOptimize(restored.ok());
  }
  state.counters["snapshot_MB"] = static_cast<double>(snap.size()) / 1e6;
}
BENCHMARK(BM_SnapshotRestore)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bastion::ts

BENCHMARK_MAIN();
