// FaultFileSystem: the crash and failure model the storage tests rely on.
#include <gtest/gtest.h>

#include <algorithm>

#include "bft/storage/fault_file_system.h"

namespace bastion::bft::storage {
namespace {

using Mode = FaultFileSystem::CrashMode;

Bytes b(std::initializer_list<std::uint8_t> v) { return Bytes(v); }

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(FaultFileSystem, SyncedBytesSurviveACrashUnsyncedDoNot) {
  FaultFileSystem fs(1);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  auto f = std::move(fs.create("/d/a")).value();
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(f->append(b({1, 2, 3})).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->append(b({4, 5})).ok());
  EXPECT_EQ(*fs.file("/d/a"), b({1, 2, 3, 4, 5}));
  fs.crash(Mode::kDropUnsynced);
  EXPECT_EQ(*fs.file("/d/a"), b({1, 2, 3}));
  // The old handle died with the crash.
  EXPECT_FALSE(f->append(b({6})).ok());
  EXPECT_FALSE(f->sync().ok());
}

TEST(FaultFileSystem, NamesNeedADirectorySync) {
  FaultFileSystem fs(2);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  auto f = std::move(fs.create("/d/a")).value();
  ASSERT_TRUE(f->append(b({1})).ok());
  ASSERT_TRUE(f->sync().ok());
  fs.crash(Mode::kDropUnsynced);
  EXPECT_FALSE(fs.file("/d/a").has_value());

  auto g = std::move(fs.create("/d/b")).value();
  ASSERT_TRUE(g->append(b({7})).ok());
  ASSERT_TRUE(g->sync().ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(fs.rename("/d/b", "/d/c").ok());
  fs.crash(Mode::kDropUnsynced);
  EXPECT_EQ(*fs.file("/d/b"), b({7}));  // the rename was not synced
  EXPECT_FALSE(fs.file("/d/c").has_value());

  ASSERT_TRUE(fs.rename("/d/b", "/d/c").ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(fs.remove("/d/c").ok());
  fs.crash(Mode::kDropUnsynced);
  EXPECT_EQ(*fs.file("/d/c"), b({7}));  // the removal was not synced
  EXPECT_FALSE(fs.file("/d/b").has_value());
}

TEST(FaultFileSystem, TornCrashKeepsAPrefixOfUnsyncedBytes) {
  bool saw_partial = false;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    FaultFileSystem fs(seed);
    ASSERT_TRUE(fs.create_dir("/d").ok());
    auto f = std::move(fs.create("/d/a")).value();
    ASSERT_TRUE(fs.sync_dir("/d").ok());
    ASSERT_TRUE(f->append(b({1, 2})).ok());
    ASSERT_TRUE(f->sync().ok());
    const Bytes tail = {3, 4, 5, 6, 7, 8, 9, 10};
    ASSERT_TRUE(f->append(tail).ok());
    fs.crash(Mode::kTorn);
    const Bytes after = *fs.file("/d/a");
    ASSERT_GE(after.size(), 2u) << "seed " << seed;
    ASSERT_LE(after.size(), 10u) << "seed " << seed;
    Bytes expected = {1, 2};
    expected.insert(expected.end(), tail.begin(), tail.begin() + (after.size() - 2));
    ASSERT_EQ(after, expected) << "seed " << seed;
    saw_partial |= after.size() > 2 && after.size() < 10;
  }
  EXPECT_TRUE(saw_partial);
}

TEST(FaultFileSystem, GarbageCrashNeverTouchesSyncedBytes) {
  bool saw_garbage = false;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    FaultFileSystem fs(seed);
    ASSERT_TRUE(fs.create_dir("/d").ok());
    auto f = std::move(fs.create("/d/a")).value();
    ASSERT_TRUE(fs.sync_dir("/d").ok());
    const Bytes synced(100, 0xaa);
    ASSERT_TRUE(f->append(synced).ok());
    ASSERT_TRUE(f->sync().ok());
    ASSERT_TRUE(f->append(Bytes(100, 0x55)).ok());
    fs.crash(Mode::kTornGarbage);
    const Bytes after = *fs.file("/d/a");
    ASSERT_GE(after.size(), 100u);
    ASSERT_TRUE(std::equal(synced.begin(), synced.end(), after.begin())) << "seed " << seed;
    saw_garbage |= std::any_of(after.begin() + 100, after.end(), [](auto x) { return x != 0x55; });
  }
  EXPECT_TRUE(saw_garbage);
}

TEST(FaultFileSystem, TornCrashKeepsAPrefixOfDirectoryOperations) {
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    FaultFileSystem fs(seed);
    ASSERT_TRUE(fs.create_dir("/d").ok());
    for (const char* name : {"/d/1", "/d/2", "/d/3", "/d/4"}) {
      ASSERT_TRUE(fs.create(name).ok());
    }
    fs.crash(Mode::kTorn);
    const auto names = fs.files("/d");
    // Created in order 1..4: whatever survived is 1..k.
    for (std::size_t i = 0; i < names.size(); ++i) {
      EXPECT_TRUE(has(names, std::to_string(i + 1))) << "seed " << seed;
    }
  }
}

TEST(FaultFileSystem, InjectedFailures) {
  FaultFileSystem fs(3);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  auto f = std::move(fs.create("/d/a")).value();
  fs.fail_after(1);
  EXPECT_TRUE(f->append(b({1})).ok());
  auto r = f->append(Bytes(100, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, StorageErrc::kIo);
  EXPECT_LT(fs.file("/d/a")->size(), 101u);  // a short write at most
  EXPECT_FALSE(f->sync().ok());
  EXPECT_FALSE(fs.sync_dir("/d").ok());
  fs.heal();
  EXPECT_TRUE(f->sync().ok());
  fs.set_failure_probability(1.0);
  EXPECT_FALSE(fs.rename("/d/a", "/d/b").ok());
  EXPECT_TRUE(fs.file("/d/a").has_value());
}

TEST(FaultFileSystem, TruncateIsDurableAndLocksAreExclusive) {
  FaultFileSystem fs(4);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  fs.put_durable("/d/a", Bytes{1, 2, 3, 4});
  ASSERT_TRUE(fs.truncate("/d/a", 2).ok());
  fs.crash(Mode::kTorn);
  EXPECT_EQ(*fs.file("/d/a"), b({1, 2}));

  auto lock = fs.lock("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(fs.lock("/d/LOCK").error().code, StorageErrc::kLocked);
  lock.value().reset();
  auto again = fs.lock("/d/LOCK");
  ASSERT_TRUE(again.ok());
  fs.crash(Mode::kDropUnsynced);  // the holder died
  EXPECT_TRUE(fs.lock("/d/LOCK").ok());
}

TEST(FaultFileSystem, ReadAllRespectsItsBound) {
  FaultFileSystem fs(5);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  fs.put_durable("/d/a", Bytes(10, 1));
  EXPECT_EQ(fs.read_all("/d/a", 9).error().code, StorageErrc::kInvalidArgument);
  EXPECT_EQ(fs.read_all("/d/a", 10)->size(), 10u);
  EXPECT_EQ(fs.read_all("/d/missing", 10).error().code, StorageErrc::kNotFound);
}

}  // namespace
}  // namespace bastion::bft::storage
