// ReplicaStorage: round trips, recovery after a clean close, error paths that must fail closed,
// the no-durability mode, and the POSIX file system end to end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/log_entry.h"
#include "bft/storage/replica_storage.h"
#include "bft/storage/segment.h"
#include "codec/digest.h"
#include "tests/unit/storage/test_records.h"

namespace bastion::bft::storage {
namespace {

using testing::all_bytes;
using testing::record_bytes;
using testing::RecordGen;

constexpr const char* kDir = "/data/replica";

std::vector<PersistRecord> one_of_each(RecordGen& gen) {
  return {gen.view_record(),       gen.pre_prepared(1), gen.prepared(1),     gen.committed(1),
          gen.checkpoint(8, 5000), gen.stable(8),       gen.pre_prepared(9), gen.checkpoint(16, 0)};
}

OpenedStorage open_ok(FileSystem& fs, StorageOptions options = {}) {
  auto opened = ReplicaStorage::open(fs, kDir, options);
  EXPECT_TRUE(opened.ok()) << opened.error().to_string();
  return std::move(opened).value();
}

std::string segment_path(std::uint64_t n) { return join_path(kDir, segment_file_name(n)); }

TEST(ReplicaStorage, FreshDirectoryRecoversNothing) {
  FaultFileSystem fs(1);
  auto opened = open_ok(fs);
  EXPECT_TRUE(opened.records.empty());
  EXPECT_TRUE(opened.storage->durable());
  EXPECT_EQ(opened.storage->stats().segments, 1u);
  EXPECT_TRUE(fs.file(segment_path(1)).has_value());
}

TEST(ReplicaStorage, RoundTripsEveryRecordKind) {
  FaultFileSystem fs(2);
  RecordGen gen(2);
  // No stable record here, so no compaction: the log holds exactly what was appended.
  std::vector<PersistRecord> records = {
      gen.view_record(),        gen.pre_prepared(1), gen.prepared(1),      gen.committed(1),
      gen.checkpoint(8, 70000), gen.committed(2),    gen.checkpoint(16, 0)};
  {
    auto opened = open_ok(fs);
    ASSERT_TRUE(opened.storage->append(records).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto reopened = open_ok(fs);
  EXPECT_EQ(all_bytes(reopened.records), all_bytes(records));
  EXPECT_EQ(reopened.report.records, records.size());
  EXPECT_EQ(reopened.report.checkpoint_bytes, 70000u);
  EXPECT_EQ(reopened.report.torn_bytes, 0u);
}

TEST(ReplicaStorage, StableRecordKindRoundTripsThroughCompaction) {
  FaultFileSystem fs(3);
  RecordGen gen(3);
  const auto records = one_of_each(gen);
  {
    auto opened = open_ok(fs);
    ASSERT_TRUE(opened.storage->append(records).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
    EXPECT_EQ(opened.storage->stats().compactions, 1u);
  }
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto reopened = open_ok(fs);
  // The stable checkpoint at 8 makes the records at seq 1 obsolete.
  const std::vector<PersistRecord> kept = {records[0], records[4], records[5], records[6],
                                           records[7]};
  EXPECT_EQ(all_bytes(reopened.records), all_bytes(kept));
}

TEST(ReplicaStorage, RecoversAfterCleanCloseAndKeepsAppending) {
  FaultFileSystem fs(4);
  RecordGen gen(4);
  std::vector<PersistRecord> all;
  StorageOptions options;
  options.segment_bytes_target = 1024;  // several segments
  for (int life = 0; life < 4; ++life) {
    auto opened = open_ok(fs, options);
    EXPECT_EQ(all_bytes(opened.records), all_bytes(all)) << "life " << life;
    for (int i = 0; i < 20; ++i) {
      all.push_back(gen.next_unique());
      ASSERT_TRUE(opened.storage->append(all.back()).ok());
      if (i % 3 == 0) {
        ASSERT_TRUE(opened.storage->sync().ok());
      }
    }
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  auto opened = open_ok(fs, options);
  EXPECT_GT(opened.storage->stats().segments, 3u);
  EXPECT_EQ(all_bytes(opened.records), all_bytes(all));
}

TEST(ReplicaStorage, CleanStopIsReportedOnceAndNeverSurvivesACrash) {
  FaultFileSystem fs(14);
  RecordGen gen(14);
  std::vector<PersistRecord> all;
  {
    auto opened = open_ok(fs);
    EXPECT_FALSE(opened.report.clean_stop);
    all.push_back(gen.next_unique());
    ASSERT_TRUE(opened.storage->append(all.back()).ok());
    ASSERT_TRUE(opened.storage->mark_clean_stop().ok());  // syncs what is pending
  }
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  {
    auto opened = open_ok(fs);
    EXPECT_TRUE(opened.report.clean_stop);
    EXPECT_EQ(all_bytes(opened.records), all_bytes(all));
    all.push_back(gen.next_unique());
    ASSERT_TRUE(opened.storage->append(all.back()).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  // Crashed after that open: its removal of the mark was durable, so this is no clean stop.
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto opened = open_ok(fs);
  EXPECT_FALSE(opened.report.clean_stop);
  EXPECT_EQ(all_bytes(opened.records), all_bytes(all));
}

TEST(ReplicaStorage, UnsyncedAppendsAreLostOnCrashButNothingElse) {
  FaultFileSystem fs(5);
  RecordGen gen(5);
  std::vector<PersistRecord> synced;
  {
    auto opened = open_ok(fs);
    for (int i = 0; i < 5; ++i) {
      synced.push_back(gen.next_unique());
      ASSERT_TRUE(opened.storage->append(synced.back()).ok());
    }
    ASSERT_TRUE(opened.storage->sync().ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(opened.storage->append(gen.next_unique()).ok());
  }
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto reopened = open_ok(fs);
  EXPECT_EQ(all_bytes(reopened.records), all_bytes(synced));
}

TEST(ReplicaStorage, SyncWithNothingPendingDoesNotTouchTheDisk) {
  FaultFileSystem fs(6);
  auto opened = open_ok(fs);
  const auto syncs = fs.syncs();
  ASSERT_TRUE(opened.storage->sync().ok());
  ASSERT_TRUE(opened.storage->sync().ok());
  EXPECT_EQ(fs.syncs(), syncs);
  EXPECT_EQ(opened.storage->stats().syncs, 0u);
}

TEST(ReplicaStorage, OneDataSyncPerGroupCommit) {
  FaultFileSystem fs(7);
  RecordGen gen(7);
  auto opened = open_ok(fs);
  const auto syncs = fs.syncs();
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(opened.storage->append(gen.pre_prepared(i + 1)).ok());
  ASSERT_TRUE(opened.storage->sync().ok());
  EXPECT_EQ(fs.syncs(), syncs + 1);
  EXPECT_EQ(opened.storage->stats().syncs, 1u);
  EXPECT_EQ(opened.storage->stats().records_appended, 64u);
}

TEST(ReplicaStorage, InMemoryModeWritesNothing) {
  auto storage = ReplicaStorage::in_memory();
  RecordGen gen(8);
  EXPECT_FALSE(storage->durable());
  for (const auto& r : one_of_each(gen)) ASSERT_TRUE(storage->append(r).ok());
  ASSERT_TRUE(storage->sync().ok());
  EXPECT_EQ(storage->stats().records_appended, 8u);
  EXPECT_EQ(storage->stats().syncs, 0u);
  EXPECT_EQ(storage->stats().log_bytes, 0u);
}

// append() does not hash a checkpoint's state again (the core hashed those very pieces): a state
// whose digest is wrong is found when the storage is opened.
TEST(ReplicaStorage, ACheckpointWhoseDigestIsWrongIsFoundAtOpen) {
  FaultFileSystem fs(9);
  RecordGen gen(9);
  {
    auto opened = open_ok(fs);
    CheckpointRecord bad = gen.checkpoint(8, 100);
    bad.state_digest[0] ^= 1;
    ASSERT_TRUE(opened.storage->append(PersistRecord(bad)).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  auto r = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
  EXPECT_NE(r.error().message.find("digest"), std::string::npos) << r.error().message;
}

TEST(ReplicaStorage, RejectsRecordLargerThanTheLimit) {
  FaultFileSystem fs(10);
  RecordGen gen(10);
  StorageOptions options;
  options.record_bytes_max = 1000;
  auto opened = open_ok(fs, options);
  PrePreparedRecord big = gen.pre_prepared(1);
  big.pre_prepare.batch.push_back(gen.request(2000));
  auto r = opened.storage->append(PersistRecord(big));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kInvalidArgument);
  const PersistRecord small = gen.committed(1);
  ASSERT_TRUE(opened.storage->append(small).ok());
  ASSERT_TRUE(opened.storage->sync().ok());
  opened.storage.reset();
  auto reopened = open_ok(fs, options);
  ASSERT_EQ(reopened.records.size(), 1u);
  EXPECT_EQ(record_bytes(reopened.records[0]), record_bytes(small));
}

TEST(ReplicaStorage, SecondOpenOfTheSameDirectoryIsRefused) {
  FaultFileSystem fs(11);
  auto first = open_ok(fs);
  auto second = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, StorageErrc::kLocked);
  first.storage.reset();
  EXPECT_TRUE(ReplicaStorage::open(fs, kDir).ok());
}

TEST(ReplicaStorage, WriteErrorFailsTheStorageForGood) {
  FaultFileSystem fs(12);
  RecordGen gen(12);
  auto opened = open_ok(fs);
  ASSERT_TRUE(opened.storage->append(gen.pre_prepared(1)).ok());
  fs.fail_after(0);
  auto r = opened.storage->sync();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kIo);
  fs.heal();
  EXPECT_TRUE(opened.storage->failed());
  EXPECT_EQ(opened.storage->append(gen.pre_prepared(2)).error().code, StorageErrc::kFailed);
  EXPECT_EQ(opened.storage->sync().error().code, StorageErrc::kFailed);
}

// ---- fail closed -------------------------------------------------------------------------------

// Writes `n` unique records in `groups` syncs with small segments; returns them.
std::vector<PersistRecord> write_log(FaultFileSystem& fs, RecordGen& gen, int groups, int per_group,
                                     StorageOptions options) {
  std::vector<PersistRecord> records;
  auto opened = open_ok(fs, options);
  for (int g = 0; g < groups; ++g) {
    for (int i = 0; i < per_group; ++i) {
      records.push_back(gen.next_unique());
      EXPECT_TRUE(opened.storage->append(records.back()).ok());
    }
    EXPECT_TRUE(opened.storage->sync().ok());
  }
  return records;
}

TEST(ReplicaStorage, CorruptRecordInAnEarlierSegmentIsAnErrorNamingFileAndOffset) {
  FaultFileSystem fs(13);
  RecordGen gen(13);
  StorageOptions options;
  options.segment_bytes_target = 2000;
  write_log(fs, gen, 10, 3, options);
  auto bytes = *fs.file(segment_path(1));
  ASSERT_GT(bytes.size(), kSegmentHeaderBytes + 100);
  const std::size_t at = kSegmentHeaderBytes + kFrameHeaderBytes + 3;  // inside the first payload
  bytes[at] ^= 0x40;
  fs.put_durable(segment_path(1), bytes);
  auto r = ReplicaStorage::open(fs, kDir, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
  EXPECT_NE(r.error().message.find(segment_file_name(1)), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("offset " + std::to_string(kSegmentHeaderBytes)),
            std::string::npos)
      << r.error().message;
}

TEST(ReplicaStorage, SegmentsOfFormerVersionsAreRefusedByName) {
  // Version 1 logged checkpoints under a digest that was the BLAKE2b of the whole state, version 2
  // under a root over 1 MiB leaves of the state, in files of the state alone, version 3 in files
  // of the page list and the pages.
  for (std::uint8_t version : {1, 2, 3}) {
    FaultFileSystem fs(12);
    RecordGen gen(12);
    write_log(fs, gen, 3, 2, {});
    auto bytes = *fs.file(segment_path(1));
    bytes[8] =
        version;  // version u32 at offset 8, then the header checksum over the first 48 bytes
    const codec::Digest sum = codec::blake2b(ByteView(bytes).first(48));
    std::copy_n(sum.begin(), 8, bytes.begin() + 48);
    fs.put_durable(segment_path(1), bytes);
    auto r = ReplicaStorage::open(fs, kDir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
    EXPECT_NE(r.error().message.find("unsupported segment version " + std::to_string(version)),
              std::string::npos)
        << r.error().message;
  }
}

TEST(ReplicaStorage, CorruptRecordFollowedByALaterGroupInTheLastSegmentIsAnError) {
  FaultFileSystem fs(14);
  RecordGen gen(14);
  write_log(fs, gen, 3, 2, {});  // one segment, three groups
  auto bytes = *fs.file(segment_path(1));
  bytes[kSegmentHeaderBytes + kFrameHeaderBytes + 1] ^= 0x01;  // first group, synced long ago
  fs.put_durable(segment_path(1), bytes);
  auto r = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
  EXPECT_NE(r.error().message.find("not a torn write"), std::string::npos) << r.error().message;
}

TEST(ReplicaStorage, TornLastWriteIsCutAndReported) {
  FaultFileSystem fs(15);
  RecordGen gen(15);
  const auto records = write_log(fs, gen, 3, 2, {});
  auto bytes = *fs.file(segment_path(1));
  const std::size_t full = bytes.size();
  bytes.resize(full - 7);  // the last record lost its end
  fs.put_durable(segment_path(1), bytes);
  {
    auto opened = open_ok(fs);
    EXPECT_EQ(all_bytes(opened.records),
              all_bytes(std::vector<PersistRecord>(records.begin(), records.end() - 1)));
    EXPECT_EQ(opened.report.torn_file, segment_path(1));
    EXPECT_GT(opened.report.torn_bytes, 0u);
    EXPECT_EQ(fs.file(segment_path(1))->size(), opened.report.torn_offset);
    // Appending after the cut and recovering again works.
    ASSERT_TRUE(opened.storage->append(records.back()).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  auto again = open_ok(fs);
  EXPECT_EQ(all_bytes(again.records), all_bytes(records));
  EXPECT_EQ(again.report.torn_bytes, 0u);
}

TEST(ReplicaStorage, CorruptCheckpointStateIsAnError) {
  FaultFileSystem fs(16);
  RecordGen gen(16);
  const CheckpointRecord c = gen.checkpoint(8, 4000);
  {
    auto opened = open_ok(fs);
    ASSERT_TRUE(opened.storage->append(PersistRecord(c)).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  const std::string path = join_path(kDir, checkpoint_file_name(c.seq, c.state_digest));
  const std::string pack = join_path(kDir, pack_file_name(1));
  const Bytes good_list = *fs.file(path);
  const Bytes good_pack = *fs.file(pack);
  const auto damaged = [&](const std::string& file, Bytes bytes) {
    fs.put_durable(file, std::move(bytes));
    auto r = ReplicaStorage::open(fs, kDir);
    fs.put_durable(path, good_list);
    fs.put_durable(pack, good_pack);
    if (r.ok()) return std::string("opened");
    EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
    return r.error().message;
  };
  // A byte of the page list (a length, a digest), the list cut short, a byte of a page (which
  // ends the pack there: its pages are missing), the pack cut short.
  for (std::size_t at : {std::size_t{3}, std::size_t{12}}) {
    Bytes list = good_list;
    list[at] ^= 0x10;
    const std::string message = damaged(path, list);
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("digest"), std::string::npos) << message;
  }
  EXPECT_NE(damaged(path, Bytes(good_list.begin(), good_list.end() - 1)).find(path),
            std::string::npos);
  Bytes pack_bytes = good_pack;
  pack_bytes[pack_bytes.size() / 2] ^= 0x10;
  EXPECT_NE(damaged(pack, pack_bytes).find("no page pack holds"), std::string::npos);
  EXPECT_NE(damaged(pack, Bytes(good_pack.begin(), good_pack.end() - 1)).find("no page pack holds"),
            std::string::npos);
  EXPECT_TRUE(ReplicaStorage::open(fs, kDir).ok());
}

// A checkpoint of `sizes` pages of fresh bytes, then `shared` pages of `from` after them.
CheckpointRecord checkpoint_of(RecordGen& gen, SeqNum seq, std::vector<std::size_t> sizes,
                               const StateBytes& from = {}, std::size_t shared = 0) {
  StateBytes state;
  for (std::size_t size : sizes) state.append(std::make_shared<const Bytes>(gen.bytes(size)));
  for (std::size_t i = 0; i < shared; ++i) state.append(from.pieces()[i]);
  const CapturedState captured = CapturedState::of(state);
  return CheckpointRecord{seq, captured.digest, captured.page_list, state};
}

// The bytes a pack holds for `pieces`: per page its list entry, then its bytes.
std::uint64_t pack_bytes_of(const StateBytes& state) {
  return state.pieces().size() * kStatePageEntryBytes + state.size();
}

TEST(ReplicaStorage, ACheckpointWritesItsPageListAndThePagesNoEarlierOneWrote) {
  FaultFileSystem fs(20);
  RecordGen gen(20);
  // Small pages gathered into larger writes, and pages of a MiB and more written on their own.
  const CheckpointRecord first = checkpoint_of(
      gen, 8,
      {1, 5000, std::size_t{3} << 20, 700, std::size_t{1} << 20, (std::size_t{1} << 20) - 1, 2});
  // Three new pages (one twice), and the first's pages but its last.
  const CheckpointRecord second = [&] {
    CheckpointRecord c = checkpoint_of(gen, 16, {10, 20}, first.state, 6);
    StateBytes state = c.state;
    state.append(state.pieces()[0]);
    const CapturedState captured = CapturedState::of(state);
    return CheckpointRecord{16, captured.digest, captured.page_list, state};
  }();
  {
    auto opened = open_ok(fs);
    ASSERT_TRUE(opened.storage->append(PersistRecord(first)).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
    EXPECT_EQ(fs.file(join_path(kDir, checkpoint_file_name(8, first.state_digest))),
              *first.page_list);
    Bytes pack;
    for (std::size_t i = 0; i < first.state.pieces().size(); ++i) {
      const Bytes& page = *first.state.pieces()[i];
      pack.insert(pack.end(), first.page_list->begin() + static_cast<std::ptrdiff_t>(40 * i),
                  first.page_list->begin() + static_cast<std::ptrdiff_t>(40 * (i + 1)));
      pack.insert(pack.end(), page.begin(), page.end());
    }
    EXPECT_EQ(fs.file(join_path(kDir, pack_file_name(1))), pack);
    EXPECT_EQ(opened.storage->stats().page_bytes_written, pack.size());

    ASSERT_TRUE(opened.storage->append(PersistRecord(second)).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
    const StorageStats st = opened.storage->stats();
    EXPECT_EQ(st.page_bytes_written, pack.size() + 2 * kStatePageEntryBytes + 30);
    EXPECT_EQ(st.page_pack_bytes, st.page_bytes_written);
    EXPECT_EQ(st.page_packs, 1u);
    EXPECT_EQ(st.checkpoint_files, 2u);
  }
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto reopened = open_ok(fs);
  ASSERT_EQ(reopened.records.size(), 2u);
  EXPECT_EQ(record_bytes(reopened.records[0]), record_bytes(first));
  EXPECT_EQ(record_bytes(reopened.records[1]), record_bytes(second));
  // Read back as shared pages: a page both states list is one buffer.
  const auto& back1 = std::get<CheckpointRecord>(reopened.records[0]);
  const auto& back2 = std::get<CheckpointRecord>(reopened.records[1]);
  EXPECT_EQ(back1.state.pieces()[1], back2.state.pieces()[3]);
}

TEST(ReplicaStorage, PagesNoRetainedCheckpointListsAreRewrittenAway) {
  FaultFileSystem fs(21);
  RecordGen gen(21);
  StorageOptions options;
  options.page_rewrite_min_bytes = 0;
  const std::vector<std::size_t> ten(10, 1000);
  const CheckpointRecord a = checkpoint_of(gen, 8, ten);
  const CheckpointRecord b = checkpoint_of(gen, 16, ten);
  const CheckpointRecord c = checkpoint_of(gen, 24, {500}, b.state, 5);
  const std::uint64_t page_bytes = 10 * (kStatePageEntryBytes + 1000);
  {
    auto opened = open_ok(fs, options);
    ReplicaStorage& st = *opened.storage;
    ASSERT_TRUE(st.append(std::vector<PersistRecord>{a, gen.stable(8)}).ok());
    ASSERT_TRUE(st.sync().ok());
    // c shares five of b's pages; a's are dead once 16 is stable, but not more than the live ones.
    ASSERT_TRUE(st.append(std::vector<PersistRecord>{b, c, gen.stable(16)}).ok());
    ASSERT_TRUE(st.sync().ok());
    EXPECT_EQ(st.stats().page_rewrites, 0u);
    EXPECT_EQ(st.stats().page_pack_bytes, 2 * page_bytes + kStatePageEntryBytes + 500);
    // With 24 stable, a's pages and b's last five are dead, outweighing c's and d's: rewritten.
    const CheckpointRecord d = checkpoint_of(gen, 32, {3000});
    ASSERT_TRUE(st.append(std::vector<PersistRecord>{d, gen.stable(24)}).ok());
    ASSERT_TRUE(st.sync().ok());
    EXPECT_EQ(st.stats().page_rewrites, 1u);
    EXPECT_EQ(st.stats().page_packs, 1u);
    EXPECT_EQ(st.stats().page_pack_bytes, pack_bytes_of(c.state) + kStatePageEntryBytes + 3000);
  }
  std::size_t packs = 0;
  const auto names = fs.list(kDir);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) packs += parse_pack_file_name(name) ? 1 : 0;
  EXPECT_EQ(packs, 1u);
  auto reopened = open_ok(fs, options);
  std::size_t checkpoints = 0;
  for (const PersistRecord& r : reopened.records) {
    if (const auto* ck = std::get_if<CheckpointRecord>(&r)) {
      ++checkpoints;
      EXPECT_TRUE(ck->seq == 24 || ck->seq == 32) << ck->seq;
      EXPECT_EQ(CapturedState::of(ck->state).digest, ck->state_digest);
    }
  }
  EXPECT_EQ(checkpoints, 2u);
}

TEST(ReplicaStorage, MissingCheckpointStateIsAnError) {
  FaultFileSystem fs(17);
  RecordGen gen(17);
  const CheckpointRecord c = gen.checkpoint(8, 10);
  {
    auto opened = open_ok(fs);
    ASSERT_TRUE(opened.storage->append(PersistRecord(c)).ok());
    ASSERT_TRUE(opened.storage->sync().ok());
  }
  ASSERT_TRUE(fs.remove(join_path(kDir, checkpoint_file_name(c.seq, c.state_digest))).ok());
  auto r = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
  EXPECT_NE(r.error().message.find("missing"), std::string::npos) << r.error().message;
}

TEST(ReplicaStorage, MissingMiddleSegmentIsAnError) {
  FaultFileSystem fs(18);
  RecordGen gen(18);
  StorageOptions options;
  options.segment_bytes_target = 500;
  write_log(fs, gen, 10, 2, options);
  ASSERT_TRUE(fs.file(segment_path(3)).has_value());
  ASSERT_TRUE(fs.remove(segment_path(3)).ok());
  auto r = ReplicaStorage::open(fs, kDir, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
  EXPECT_NE(r.error().message.find(segment_file_name(3)), std::string::npos) << r.error().message;
}

TEST(ReplicaStorage, DamagedSegmentHeaderIsAnError) {
  FaultFileSystem fs(19);
  RecordGen gen(19);
  write_log(fs, gen, 2, 2, {});
  auto bytes = *fs.file(segment_path(1));
  bytes[20] ^= 0xff;
  fs.put_durable(segment_path(1), bytes);
  auto r = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
}

TEST(ReplicaStorage, CheckpointFilesWithoutALogAreAnError) {
  FaultFileSystem fs(20);
  ASSERT_TRUE(fs.create_dir(kDir).ok());
  fs.put_durable(join_path(kDir, checkpoint_file_name(8, Digest{})), Bytes{1, 2, 3});
  auto r = ReplicaStorage::open(fs, kDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kCorruption);
}

TEST(ReplicaStorage, LeftoverTempAndOrphanFilesAreRemoved) {
  FaultFileSystem fs(21);
  RecordGen gen(21);
  write_log(fs, gen, 1, 1, {});
  fs.put_durable(join_path(kDir, segment_file_name(2) + ".tmp"), Bytes{9, 9});
  fs.put_durable(join_path(kDir, checkpoint_file_name(64, Digest{})), Bytes{1});
  fs.put_durable(join_path(kDir, "NOTES"), Bytes{1});
  auto opened = open_ok(fs);
  EXPECT_EQ(opened.report.files_removed, 2u);
  EXPECT_TRUE(fs.file(join_path(kDir, "NOTES")).has_value());  // not ours: left alone
  EXPECT_FALSE(fs.file(join_path(kDir, segment_file_name(2) + ".tmp")).has_value());
}

// ---- the real file system -----------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/bastion-storage-XXXXXX";
    path_ = ::mkdtemp(templ.data()) ? templ : std::string();
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ReplicaStorage, PosixRoundTripRollsCompactsAndLocks) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string dir = tmp.path() + "/replica-0";
  FileSystem& fs = posix_file_system();
  StorageOptions options;
  options.segment_bytes_target = 4096;
  RecordGen gen(22);
  std::vector<PersistRecord> records;
  {
    auto opened = ReplicaStorage::open(fs, dir, options);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    auto again = ReplicaStorage::open(fs, dir, options);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, StorageErrc::kLocked);
    for (int i = 0; i < 200; ++i) {
      records.push_back(gen.next_unique());
      ASSERT_TRUE(opened->storage->append(records.back()).ok());
      if (i % 10 == 9) {
        ASSERT_TRUE(opened->storage->sync().ok());
      }
    }
    EXPECT_GT(opened->storage->stats().segments, 2u);
  }
  {
    auto opened = ReplicaStorage::open(fs, dir, options);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    EXPECT_EQ(all_bytes(opened->records), all_bytes(records));
    // A stable checkpoint above everything: compaction leaves one small segment.
    ASSERT_TRUE(opened->storage->append(PersistRecord(gen.stable(1000))).ok());
    ASSERT_TRUE(opened->storage->sync().ok());
    EXPECT_EQ(opened->storage->stats().segments, 1u);
    EXPECT_EQ(opened->storage->stats().checkpoint_files, 0u);
  }
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2u);  // the segment and LOCK
  auto opened = ReplicaStorage::open(fs, dir, options);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->records.size(), 1u);
}

}  // namespace
}  // namespace bastion::bft::storage
