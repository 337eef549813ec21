// Seeded crash injection: random sequences of append / sync / I/O failure / crash on the fault
// file system. After every crash, recovery must return what was made durable and nothing else:
//   - without compaction, exactly a prefix of what was appended that holds every synced record;
//   - with compaction, a log that folds to the same state as such a prefix.
// A failure prints its seed; rerun one seed with --gtest_filter and BASTION_STORAGE_SEED=<seed>,
// or more seeds with BASTION_STORAGE_SEEDS=<count>.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/replica_storage.h"
#include "tests/unit/storage/test_records.h"

namespace bastion::bft::storage {
namespace {

using testing::all_bytes;
using testing::keys_of;
using testing::RecordGen;
using testing::reference_fold;

constexpr const char* kDir = "/data/replica";

struct CrashRun {
  bool compaction = false;  // records that replace one another, stable checkpoints
  bool failures = false;    // inject I/O errors while writing and while recovering
  int lives = 8;
};

std::string describe(std::uint64_t seed, const CrashRun& run) {
  return "seed " + std::to_string(seed) + (run.compaction ? " compaction" : " prefix") +
         (run.failures ? " failures" : "");
}

// Checks the recovered records against what was appended; returns "" or what is wrong.
std::string check_recovered(const std::vector<PersistRecord>& recovered,
                            const std::vector<PersistRecord>& history, std::size_t synced,
                            bool compaction) {
  const auto got = all_bytes(recovered);
  const auto want = all_bytes(history);
  if (!compaction) {
    if (got.size() < synced) {
      return "lost synced records: recovered " + std::to_string(got.size()) + ", synced " +
             std::to_string(synced);
    }
    if (got.size() > want.size()) return "recovered more records than were appended";
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i]) return "record " + std::to_string(i) + " differs";
    }
    return "";
  }
  const auto got_folded = reference_fold(got, keys_of(recovered), got.size());
  const auto keys = keys_of(history);
  for (std::size_t k = synced; k <= want.size(); ++k) {
    if (reference_fold(want, keys, k) == got_folded) return "";
  }
  return "recovered log folds to no prefix that holds the " + std::to_string(synced) +
         " synced records (of " + std::to_string(want.size()) + " appended)";
}

void run_seed(std::uint64_t seed, const CrashRun& run) {
  SCOPED_TRACE(describe(seed, run));
  FaultFileSystem fs(seed);
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + 1);
  RecordGen gen(seed);
  StorageOptions options;
  options.segment_bytes_target = 256 + rng() % 4096;
  // In half the seeds the page packs are rewritten as soon as dead pages outweigh live ones, so
  // that rewrites meet crashes and I/O failures too.
  if (rng() % 2 == 0) options.page_rewrite_min_bytes = 0;

  std::vector<PersistRecord> history;  // what the log may hold: recovered, then appended
  std::size_t synced = 0;              // history[0, synced) is durable
  for (int life = 0; life < run.lives; ++life) {
    SCOPED_TRACE("life " + std::to_string(life));
    if (run.failures && rng() % 5 == 0) fs.fail_after(rng() % 12);
    auto opened = ReplicaStorage::open(fs, kDir, options);
    if (!opened && run.failures) {
      ASSERT_EQ(opened.error().code, StorageErrc::kIo) << opened.error().to_string();
      fs.heal();
      opened = ReplicaStorage::open(fs, kDir, options);
    }
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    fs.heal();
    const std::string problem = check_recovered(opened->records, history, synced, run.compaction);
    ASSERT_EQ(problem, "");
    history = std::move(opened->records);
    synced = history.size();

    ReplicaStorage& storage = *opened->storage;
    const int steps = 5 + static_cast<int>(rng() % 60);
    bool failed = false;
    for (int step = 0; step < steps && !failed; ++step) {
      if (run.failures && rng() % 40 == 0) fs.fail_after(rng() % 6);
      if (rng() % 3 != 0) {
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n && !failed; ++i) {
          PersistRecord r = run.compaction ? gen.next() : gen.next_unique();
          auto res = storage.append(r);
          if (res) {
            history.push_back(std::move(r));
          } else {
            ASSERT_TRUE(run.failures) << res.error().to_string();
            ASSERT_TRUE(storage.failed());
            failed = true;
          }
        }
      } else {
        auto res = storage.sync();
        if (res) {
          synced = history.size();
        } else {
          ASSERT_TRUE(run.failures) << res.error().to_string();
          ASSERT_TRUE(storage.failed());
          failed = true;
        }
      }
    }
    opened->storage.reset();
    fs.heal();
    fs.crash(static_cast<FaultFileSystem::CrashMode>(rng() % 3));
  }
  auto last = ReplicaStorage::open(fs, kDir, options);
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  ASSERT_EQ(check_recovered(last->records, history, synced, run.compaction), "");
}

// Seeds [first, first + count), or the one seed in BASTION_STORAGE_SEED.
void run_seeds(std::uint64_t first, std::uint64_t count, const CrashRun& run) {
  if (const char* one = std::getenv("BASTION_STORAGE_SEED")) {
    run_seed(std::strtoull(one, nullptr, 10), run);
    return;
  }
  count = testing::seed_count(count);
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    run_seed(seed, run);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(StorageCrash, RecoversAPrefixHoldingEverySyncedRecord) {
  run_seeds(1, 300, CrashRun{false, false});
}

TEST(StorageCrash, RecoversAPrefixDespiteIoErrors) { run_seeds(1001, 300, CrashRun{false, true}); }

TEST(StorageCrash, CompactedLogFoldsLikeAPrefixHoldingEverySyncedRecord) {
  run_seeds(2001, 300, CrashRun{true, false});
}

TEST(StorageCrash, CompactedLogDespiteIoErrors) { run_seeds(3001, 300, CrashRun{true, true}); }

}  // namespace
}  // namespace bastion::bft::storage
