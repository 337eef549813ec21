// The compacted log folds, through bft/core's PersistedStateBuilder, to exactly the state the
// whole log folds to: compaction never changes what a restarted replica starts from.
#include <gtest/gtest.h>

#include <random>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/fold.h"
#include "bft/storage/replica_storage.h"
#include "tests/unit/storage/test_records.h"

namespace bastion::bft::storage {
namespace {

using testing::RecordGen;

Bytes state_bytes(const PersistedState& s) {
  Bytes out;
  codec::encode_into(out, s.view);
  codec::encode_into(out, s.stable);
  codec::encode_into(out, s.stable_state.has_value());
  if (s.stable_state) testing::append_checkpoint(out, *s.stable_state);
  codec::encode_into(out, s.pre_prepared);
  codec::encode_into(out, s.prepared);
  codec::encode_into(out, s.committed);
  for (const CheckpointRecord& c : s.checkpoints) testing::append_checkpoint(out, c);
  return out;
}

void run_seed(std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  FaultFileSystem fs(seed);
  RecordGen gen(seed);
  std::mt19937_64 rng(seed);
  StorageOptions options;
  options.segment_bytes_target = 512 + rng() % 8192;
  std::vector<PersistRecord> synced;  // every record made durable, in order
  std::uint64_t compactions = 0;
  for (int life = 0; life < 6; ++life) {
    auto opened = ReplicaStorage::open(fs, "/r", options);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    ASSERT_EQ(state_bytes(fold(opened->records)), state_bytes(fold(synced))) << "life " << life;
    std::vector<PersistRecord> unsynced;
    const int steps = 20 + static_cast<int>(rng() % 80);
    for (int i = 0; i < steps; ++i) {
      unsynced.push_back(gen.next());
      ASSERT_TRUE(opened->storage->append(unsynced.back()).ok());
      if (rng() % 4 == 0) {
        ASSERT_TRUE(opened->storage->sync().ok());
        synced.insert(synced.end(), unsynced.begin(), unsynced.end());
        unsynced.clear();
      }
    }
    compactions += opened->storage->stats().compactions;
    opened->storage.reset();
    fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  }
  EXPECT_GT(compactions, 0u);
}

TEST(StorageFold, CompactedLogFoldsToTheSameStateAsTheWholeLog) {
  const std::uint64_t seeds = testing::seed_count(200);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    run_seed(seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace bastion::bft::storage
