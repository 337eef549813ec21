// Throughput of the replica storage's group commit: records of 200 bytes appended, one sync per
// `records_per_sync` records (the daemon syncs once per event-loop turn).
//
// Real disk (POSIX, a fresh directory under $BASTION_BENCH_DIR or /tmp) and the in-memory fault
// file system (the CPU cost alone: encoding, checksums, buffering). Reports records/s.
//
//   build/bin/storage_bench [--benchmark_filter=Posix]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/log_entry.h"
#include "bft/storage/replica_storage.h"

namespace bastion::bft::storage {
namespace {

constexpr std::size_t kRecordBytes = 200;

// A committed record carrying one request, whose log payload is exactly kRecordBytes.
PersistRecord record_of_size(std::size_t bytes, SeqNum seq) {
  for (std::size_t payload = 0; payload < bytes; ++payload) {
    CommittedRecord c;
    c.header.seq = seq;
    c.header.view = 1;
    c.header.timestamp_us = 1'700'000'000'000'000;
    c.batch = std::vector<Request>{Request{ClientKey{"bench", 1}, seq, false, Bytes(payload, 7)}};
    Bytes encoded;
    encode_entry(c, encoded);
    if (encoded.size() == bytes) return c;
  }
  std::abort();
}

std::string bench_dir() {
  const char* base = std::getenv("BASTION_BENCH_DIR");
  std::string templ = std::string(base ? base : "/tmp") + "/bastion-storage-bench-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) std::abort();
  return templ;
}

// The same record every time: it replaces itself in the retained log, so obsolete bytes pile up
// and compaction runs every segment_bytes_target bytes, which keeps the directory small.
void run(benchmark::State& state, FileSystem& fs, const std::string& dir, StorageOptions options) {
  const auto per_sync = static_cast<std::size_t>(state.range(0));
  auto opened = ReplicaStorage::open(fs, dir, options);
  if (!opened.ok()) {
    state.SkipWithError(opened.error().to_string().c_str());
    return;
  }
  ReplicaStorage& storage = *opened->storage;
  const PersistRecord record = record_of_size(kRecordBytes, 1);
  std::uint64_t records = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < per_sync; ++i) {
      if (!storage.append(record).ok()) state.SkipWithError("append failed");
    }
    if (!storage.sync().ok()) state.SkipWithError("sync failed");
    records += per_sync;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.SetBytesProcessed(static_cast<std::int64_t>(records * kRecordBytes));
  state.counters["compactions"] = static_cast<double>(storage.stats().compactions);
  state.counters["syncs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_PosixAppendSync(benchmark::State& state) {
  const std::string dir = bench_dir();
  run(state, posix_file_system(), dir, StorageOptions{});
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PosixAppendSync)->Arg(1)->Arg(64)->Arg(512)->UseRealTime()->MinTime(2.0);

void BM_MemoryAppendSync(benchmark::State& state) {
  FaultFileSystem fs(1);
  StorageOptions options;
  options.segment_bytes_target = 1 << 20;
  run(state, fs, "/bench", options);
}
BENCHMARK(BM_MemoryAppendSync)->Arg(64)->MinTime(0.5);

}  // namespace
}  // namespace bastion::bft::storage

BENCHMARK_MAIN();
