// Compaction: what survives it, and disk use that stays bounded over a long run.
#include <gtest/gtest.h>

#include <cstdio>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/log_entry.h"
#include "bft/storage/replica_storage.h"
#include "tests/unit/storage/test_records.h"

namespace bastion::bft::storage {
namespace {

using testing::all_bytes;
using testing::keys_of;
using testing::RecordGen;
using testing::reference_fold;

constexpr const char* kDir = "/data/replica";

TEST(StorageCompaction, KeepsEverythingAboveTheStableCheckpoint) {
  FaultFileSystem fs(1);
  RecordGen gen(1);
  std::vector<PersistRecord> appended;
  appended.push_back(gen.view_record());
  for (SeqNum s = 1; s <= 20; ++s) {
    appended.push_back(gen.pre_prepared(s));
    appended.push_back(gen.prepared(s));
    appended.push_back(gen.committed(s));
    if (s % 8 == 0) appended.push_back(gen.checkpoint(s, 1000 + s));
  }
  appended.push_back(gen.stable(8));
  {
    auto opened = ReplicaStorage::open(fs, kDir);
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(opened->storage->append(appended).ok());
    ASSERT_TRUE(opened->storage->sync().ok());
    EXPECT_EQ(opened->storage->stats().compactions, 1u);
    EXPECT_EQ(opened->storage->stats().segments, 1u);
  }
  fs.crash(FaultFileSystem::CrashMode::kTornGarbage);
  auto reopened = ReplicaStorage::open(fs, kDir);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  std::vector<PersistRecord> expected;
  for (const auto& r : appended) {
    const SeqNum seq = testing::record_seq(r);
    const bool log_record = r.index() >= 1 && r.index() <= 3;
    if (log_record && seq <= 8) continue;
    expected.push_back(r);
  }
  EXPECT_EQ(all_bytes(reopened->records), all_bytes(expected));
  // The stable checkpoint's state and the one above it are kept; nothing below.
  int state_files = 0;
  for (const auto& name : fs.files(kDir)) state_files += is_checkpoint_file_name(name) ? 1 : 0;
  EXPECT_EQ(state_files, 2);
}

// A replica's steady state: three records per batch, a checkpoint every 16, which becomes stable
// one interval later. Disk use must not grow with the length of the run.
TEST(StorageCompaction, DiskUseStaysBoundedOverALongRun) {
  FaultFileSystem fs(2);
  RecordGen gen(2);
  StorageOptions options;
  options.segment_bytes_target = 16 * 1024;
  // Page packs rewritten once their dead pages outweigh the live ones, however few.
  options.page_rewrite_min_bytes = 0;
  auto opened = ReplicaStorage::open(fs, kDir, options);
  ASSERT_TRUE(opened.ok());
  ReplicaStorage& storage = *opened->storage;
  constexpr SeqNum kInterval = 16;
  constexpr SeqNum kBatches = 8000;
  std::uint64_t max_bytes_early = 0, max_bytes_late = 0;
  std::size_t max_files = 0;
  std::vector<PersistRecord> all;
  for (SeqNum s = 1; s <= kBatches; ++s) {
    std::vector<PersistRecord> turn = {gen.pre_prepared(s), gen.prepared(s), gen.committed(s)};
    if (s % kInterval == 0) turn.push_back(gen.checkpoint(s, 8192));
    if (s % kInterval == 0 && s > kInterval) turn.push_back(gen.stable(s - kInterval));
    if (s % 1000 == 0) turn.push_back(gen.view_record());
    ASSERT_TRUE(storage.append(turn).ok());
    ASSERT_TRUE(storage.sync().ok());
    all.insert(all.end(), turn.begin(), turn.end());
    const std::uint64_t bytes = fs.bytes_in(kDir);
    (s <= kBatches / 4 ? max_bytes_early : max_bytes_late) =
        std::max(s <= kBatches / 4 ? max_bytes_early : max_bytes_late, bytes);
    max_files = std::max(max_files, fs.files(kDir).size());
  }
  const StorageStats stats = storage.stats();
  std::printf(
      "long run: %llu batches, %llu compactions, max %zu files, max bytes %llu early %llu "
      "late\n",
      static_cast<unsigned long long>(kBatches), static_cast<unsigned long long>(stats.compactions),
      max_files, static_cast<unsigned long long>(max_bytes_early),
      static_cast<unsigned long long>(max_bytes_late));
  EXPECT_GE(stats.compactions, kBatches / kInterval - 1);
  EXPECT_LE(max_files, 8u);
  // The late maximum is no larger than the early one: nothing accumulates.
  EXPECT_LE(max_bytes_late, max_bytes_early + max_bytes_early / 10)
      << "early " << max_bytes_early << " late " << max_bytes_late;
  // Two checkpoint states and about two intervals of records, far below the ~2.5 MB written.
  EXPECT_LT(max_bytes_late, 160u * 1024u);
  opened->storage.reset();

  auto reopened = ReplicaStorage::open(fs, kDir, options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  const auto got = all_bytes(reopened->records);
  EXPECT_EQ(reference_fold(got, keys_of(reopened->records), got.size()),
            reference_fold(all_bytes(all), keys_of(all), all.size()));
}

TEST(StorageCompaction, CompactsWithoutStableCheckpointsOnceObsoleteBytesPileUp) {
  FaultFileSystem fs(3);
  RecordGen gen(3);
  StorageOptions options;
  options.segment_bytes_target = 4096;
  auto opened = ReplicaStorage::open(fs, kDir, options);
  ASSERT_TRUE(opened.ok());
  // A replica that cannot make progress keeps changing views: each record replaces the last.
  PersistRecord last;
  for (int i = 0; i < 5000; ++i) {
    last = ViewRecord{static_cast<ViewNum>(i), true};
    ASSERT_TRUE(opened->storage->append(last).ok());
    ASSERT_TRUE(opened->storage->sync().ok());
    ASSERT_LT(fs.bytes_in(kDir), 3u * 4096u) << "after " << i;
  }
  EXPECT_GT(opened->storage->stats().compactions, 0u);
  opened->storage.reset();
  auto reopened = ReplicaStorage::open(fs, kDir, options);
  ASSERT_TRUE(reopened.ok());
  // The raw log holds the compacted base and what followed it; it folds to the last view.
  EXPECT_LT(reopened->records.size(), 200u);
  const auto got = all_bytes(reopened->records);
  EXPECT_EQ(reference_fold(got, keys_of(reopened->records), got.size()),
            std::vector<Bytes>{testing::record_bytes(last)});
}

TEST(StorageCompaction, InterruptedCompactionIsFinishedAtOpen) {
  // A crash right after the stable record became durable but before compaction finished: open
  // compacts, and the result is the same.
  int completed = 0, undone = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FaultFileSystem fs(seed);
    RecordGen gen(seed);
    std::vector<PersistRecord> appended;
    {
      auto opened = ReplicaStorage::open(fs, kDir);
      ASSERT_TRUE(opened.ok());
      for (SeqNum s = 1; s <= 24; ++s) appended.push_back(gen.committed(s));
      appended.push_back(gen.checkpoint(16, 100));
      ASSERT_TRUE(opened->storage->append(appended).ok());
      ASSERT_TRUE(opened->storage->sync().ok());
      appended.push_back(gen.stable(16));
      ASSERT_TRUE(opened->storage->append(appended.back()).ok());
      // Fail in the sync of the stable record (0, 1) or inside the compaction that follows it.
      fs.fail_after(seed % 6);
      (void)opened->storage->sync();
    }
    fs.heal();
    fs.crash(static_cast<FaultFileSystem::CrashMode>(seed % 3));
    auto reopened = ReplicaStorage::open(fs, kDir);
    ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
    const auto got = all_bytes(reopened->records);
    const auto want = all_bytes(appended);
    const auto got_folded = reference_fold(got, keys_of(reopened->records), got.size());
    const bool as_synced = got_folded == reference_fold(want, keys_of(appended), want.size());
    const bool before_stable =
        got_folded == reference_fold(want, keys_of(appended), want.size() - 1);
    EXPECT_TRUE(as_synced || before_stable);
    (as_synced ? completed : undone) += 1;
    if (as_synced) {
      EXPECT_EQ(reopened->storage->stats().segments, 1u);
    }
  }
  // Both outcomes happen across the seeds.
  EXPECT_GT(completed, 0);
  EXPECT_GT(undone, 0);
}

}  // namespace
}  // namespace bastion::bft::storage
