// Replica data is private on the real file system: files 0600 and directories 0700 whatever the
// umask, and a data file that the group or others may access is refused when the storage reads
// or reopens it, with a message that names the file and the chmod that fixes it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "bft/storage/log_entry.h"
#include "bft/storage/replica_storage.h"
#include "tests/unit/config/temp_dir.h"
#include "tests/unit/storage/test_records.h"

namespace bastion::bft::storage {
namespace {

// Sets the process umask for the scope of a test (tests in this binary run one at a time).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(previous_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t previous_;
};

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// A loose umask (022: the usual default, 0: nothing masked) must not widen what is created.
class FileModes : public ::testing::TestWithParam<mode_t> {};

TEST_P(FileModes, CreatedFilesAre0600AndDirectories0700) {
  ScopedUmask mask(GetParam());
  bastion::testing::TempDir tmp;
  FileSystem& fs = posix_file_system();
  const std::string dir = (tmp.path() / "data" / "replica-0").string();
  ASSERT_TRUE(fs.create_dir(dir).ok());
  EXPECT_EQ(mode_of(tmp.path() / "data"), 0700u);
  EXPECT_EQ(mode_of(dir), 0700u);
  // A directory that exists keeps its mode: it is the operator's.
  std::filesystem::permissions(tmp.path() / "data", std::filesystem::perms(0750));
  ASSERT_TRUE(fs.create_dir(dir + "/sub").ok());
  EXPECT_EQ(mode_of(tmp.path() / "data"), 0750u);
  EXPECT_EQ(mode_of(dir + "/sub"), 0700u);

  const std::string file = join_path(dir, "f");
  {
    auto w = fs.create(file);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    const Bytes data{1, 2, 3};
    ASSERT_TRUE((*w)->append(data).ok());
  }
  EXPECT_EQ(mode_of(file), 0600u);
  // create() of an existing, too wide file narrows it.
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  ASSERT_TRUE(fs.create(file).ok());
  EXPECT_EQ(mode_of(file), 0600u);
  {
    auto lock = fs.lock(join_path(dir, "LOCK"));
    ASSERT_TRUE(lock.ok()) << lock.error().to_string();
  }
  EXPECT_EQ(mode_of(join_path(dir, "LOCK")), 0600u);
}

TEST_P(FileModes, TheStorageCreatesOnlyPrivateFiles) {
  ScopedUmask mask(GetParam());
  bastion::testing::TempDir tmp;
  const std::string dir = (tmp.path() / "replica-1").string();
  testing::RecordGen gen(7);
  {
    auto opened = ReplicaStorage::open(posix_file_system(), dir);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    ASSERT_TRUE(opened->storage->append(gen.view_record()).ok());
    ASSERT_TRUE(opened->storage->append(gen.checkpoint(8, 3000)).ok());
    ASSERT_TRUE(opened->storage->sync().ok());
    ASSERT_TRUE(opened->storage->mark_clean_stop().ok());
  }
  EXPECT_EQ(mode_of(dir), 0700u);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
    ++files;
  }
  EXPECT_GE(files, 4u);  // the lock, a segment, the clean-stop mark, a checkpoint file
}

INSTANTIATE_TEST_SUITE_P(Umask, FileModes, ::testing::Values(mode_t{022}, mode_t{0}));

// Opens the storage in `dir`, logs one record and one checkpoint, and closes it.
void write_storage(const std::string& dir) {
  testing::RecordGen gen(9);
  auto opened = ReplicaStorage::open(posix_file_system(), dir);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  ASSERT_TRUE(opened->storage->append(gen.view_record()).ok());
  ASSERT_TRUE(opened->storage->append(gen.checkpoint(8, 500)).ok());
  ASSERT_TRUE(opened->storage->sync().ok());
}

std::string first_file(const std::string& dir, bool checkpoint) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (checkpoint ? is_checkpoint_file_name(name) : parse_segment_file_name(name).has_value()) {
      return e.path().string();
    }
  }
  ADD_FAILURE() << "no " << (checkpoint ? "checkpoint" : "segment") << " file in " << dir;
  return {};
}

void expect_refused(const std::string& dir, const std::string& file, const char* mode) {
  auto reopened = ReplicaStorage::open(posix_file_system(), dir);
  ASSERT_FALSE(reopened.ok()) << file << " was accepted with mode " << mode;
  const std::string& message = reopened.error().message;
  EXPECT_NE(message.find(file + ": mode " + mode), std::string::npos) << message;
  EXPECT_NE(message.find("chmod 600 " + file), std::string::npos) << message;
}

TEST(FileModes, ASegmentOthersMayReadIsRefused) {
  bastion::testing::TempDir tmp;
  const std::string dir = (tmp.path() / "r").string();
  write_storage(dir);
  const std::string segment = first_file(dir, false);
  std::filesystem::permissions(segment, std::filesystem::perms(0644));
  expect_refused(dir, segment, "0644");
  // The fix the message gives works.
  std::filesystem::permissions(segment, std::filesystem::perms(0600));
  auto reopened = ReplicaStorage::open(posix_file_system(), dir);
  EXPECT_TRUE(reopened.ok()) << reopened.error().to_string();
}

TEST(FileModes, ACheckpointFileTheGroupMayReadIsRefused) {
  bastion::testing::TempDir tmp;
  const std::string dir = (tmp.path() / "r").string();
  write_storage(dir);
  const std::string checkpoint = first_file(dir, true);
  std::filesystem::permissions(checkpoint, std::filesystem::perms(0640));
  expect_refused(dir, checkpoint, "0640");
}

TEST(FileModes, ReadAllAndOpenAppendRefuseWideFiles) {
  bastion::testing::TempDir tmp;
  FileSystem& fs = posix_file_system();
  const std::string file = (tmp.path() / "f").string();
  ASSERT_TRUE(fs.create(file).ok());
  EXPECT_TRUE(fs.read_all(file, 100).ok());
  EXPECT_TRUE(fs.open_append(file).ok());
  std::filesystem::permissions(file, std::filesystem::perms(0602));
  auto read = fs.read_all(file, 100);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, StorageErrc::kIo);
  EXPECT_NE(read.error().message.find("chmod 600 " + file), std::string::npos);
  EXPECT_FALSE(fs.open_append(file).ok());
}

}  // namespace
}  // namespace bastion::bft::storage
