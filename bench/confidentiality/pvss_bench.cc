// The CPU each confidentiality step costs, for f = 1, 2, 3 (n = 3f+1, threshold f+1):
//   Deal           the writer: share a fresh secret among n replicas, with proofs
//   Verify         each replica, on insert: check all n shares' proofs
//   Open           each replica, on read: open its own share with a proof
//   VerifyCombine  the reader: check f+1 opened shares and combine them
//   Fingerprint    the client, per comparable field
//   Seal / Unseal  the tuple's encryption (64-byte payload)
// Per operation: an `out` costs Deal + Seal (+ Fingerprint per comparable field) at the client and
// Verify at each replica; a read costs Open at each replica and VerifyCombine + Unseal at the
// reader.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <vector>

#include "confidentiality/fingerprint.h"
#include "confidentiality/pvss.h"
#include "confidentiality/seal.h"
#include "tests/unit/confidentiality/replica_keys.h"

namespace bastion::confidentiality {
namespace {

const std::vector<std::uint8_t> kContext(32, 7);

struct Setup {
  explicit Setup(std::size_t f)
      : keys(3 * f + 1), pvss(keys.publics, f + 1), dealt(pvss.deal(kContext)) {
    for (std::uint32_t i = 0; i < keys.secrets.size(); ++i) {
      opened.push_back(keys.secrets[i].open(i, dealt.sharing.shares[i], kContext));
    }
  }
  ReplicaKeys keys;
  Pvss pvss;
  Pvss::Dealt dealt;
  std::vector<OpenedShare> opened;
};

std::size_t f_of(const benchmark::State& state) { return static_cast<std::size_t>(state.range(0)); }

void BM_Deal(benchmark::State& state) {
  const Setup s(f_of(state));
  for (auto _ : state) benchmark::DoNotOptimize(s.pvss.deal(kContext));
}

void BM_Verify(benchmark::State& state) {
  const Setup s(f_of(state));
  for (auto _ : state) benchmark::DoNotOptimize(s.pvss.verify(s.dealt.sharing, kContext).ok());
}

void BM_Open(benchmark::State& state) {
  const Setup s(f_of(state));
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.keys.secrets[0].open(0, s.dealt.sharing.shares[0], kContext));
  }
}

void BM_VerifyCombine(benchmark::State& state) {
  const Setup s(f_of(state));
  const std::span<const OpenedShare> pick = std::span(s.opened).first(s.pvss.threshold());
  for (auto _ : state) {
    for (const OpenedShare& o : pick) {
      benchmark::DoNotOptimize(s.pvss.verify_opened(s.dealt.sharing.shares[o.index], o, kContext));
    }
    benchmark::DoNotOptimize(s.pvss.combine(pick));
  }
}

void BM_Fingerprint(benchmark::State& state) {
  std::array<std::uint8_t, kFingerprintSecretBytes> secret{};
  const auto key = FingerprintKey::derive(secret, "space", 0);
  const std::vector<std::uint8_t> value(16, 'v');
  for (auto _ : state) benchmark::DoNotOptimize(key.fingerprint(value));
}

void BM_Seal(benchmark::State& state) {
  const Point secret = second_generator() * Scalar::random();
  const std::vector<std::uint8_t> text(64, 't');
  for (auto _ : state) benchmark::DoNotOptimize(seal(secret, kContext, text));
}

void BM_Unseal(benchmark::State& state) {
  const Point secret = second_generator() * Scalar::random();
  const auto sealed = seal(secret, kContext, std::vector<std::uint8_t>(64, 't'));
  for (auto _ : state) benchmark::DoNotOptimize(unseal(secret, kContext, sealed));
}

BENCHMARK(BM_Deal)->DenseRange(1, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify)->DenseRange(1, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Open)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCombine)->DenseRange(1, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fingerprint)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Seal)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unseal)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace bastion::confidentiality

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
