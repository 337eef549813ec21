// The file-system seam of the replica storage: the few operations the write-ahead log and the
// checkpoint files need, behind an interface (LevelDB's Env idea).
//
// Two implementations: posix_file_system() (the real disk, used by the daemon) and
// FaultFileSystem (fault_file_system.h: in memory, loses what was not synced on a simulated
// crash, tears writes, fails operations on demand; used by tests and usable by the simulator).
//
// Durability contract every implementation keeps, and the storage relies on:
//   - WritableFile::append() makes bytes visible to readers of this process only; they survive
//     a crash only after WritableFile::sync() (fdatasync) returns.
//   - A created, renamed or removed name survives a crash only after sync_dir() of its directory
//     returns. Until then a crash may keep or undo it (in order: a later directory operation is
//     never kept when an earlier one on the same directory is lost).
//   - truncate() is durable when it returns.
//   - rename() replaces the target atomically (readers see the old or the new file, never a mix).
// Paths are plain strings joined with '/'; a directory's entries are names without the directory.
// Privacy (the real file system; the in-memory one has no modes): files are created 0600 and
// directories 0700 whatever the umask, and read_all()/open_append() refuse a file the group or
// others may access, naming the file and the chmod that fixes it (kIo).
//
// Thread-safety: posix_file_system() is safe to share between threads; a WritableFile is used by
// one thread at a time; FaultFileSystem is single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bft/storage/error.h"
#include "codec/archive.h"
#include "codec/result.h"

namespace bastion::bft::storage {

using codec::Bytes;
using codec::ByteView;

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends at the end of the file. After a failure the file's length is unknown.
  virtual Result<Done, StorageError> append(ByteView data) = 0;
  // fdatasync: everything appended so far (and the length) is durable when it returns Done.
  virtual Result<Done, StorageError> sync() = 0;
  // Bytes in the file, as far as this handle knows (appends included).
  virtual std::uint64_t size() const = 0;
};

// Held while a directory is in use; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // A new empty file at `path`, replacing any file of that name.
  virtual Result<std::unique_ptr<WritableFile>, StorageError> create(const std::string& path) = 0;
  // An existing file, positioned at its end.
  virtual Result<std::unique_ptr<WritableFile>, StorageError> open_append(
      const std::string& path) = 0;
  // The whole file; kInvalidArgument (before reading anything) if it is larger than bytes_max.
  virtual Result<Bytes, StorageError> read_all(const std::string& path,
                                               std::uint64_t bytes_max) = 0;
  // Names of the regular files in `dir`, in no particular order.
  virtual Result<std::vector<std::string>, StorageError> list(const std::string& dir) = 0;
  // Atomically replaces `to` by `from`; both in the same directory.
  virtual Result<Done, StorageError> rename(const std::string& from, const std::string& to) = 0;
  virtual Result<Done, StorageError> remove(const std::string& path) = 0;
  // Shortens a file to `size` bytes, durably (ftruncate + fsync).
  virtual Result<Done, StorageError> truncate(const std::string& path, std::uint64_t size) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Result<Done, StorageError> sync_dir(const std::string& dir) = 0;
  // Creates the directory and its parents if missing.
  virtual Result<Done, StorageError> create_dir(const std::string& dir) = 0;
  // An exclusive lock on `path` (created if missing), held until the FileLock is destroyed;
  // kLocked if another holder has it.
  virtual Result<std::unique_ptr<FileLock>, StorageError> lock(const std::string& path) = 0;
};

// The real file system (POSIX calls). One shared instance.
FileSystem& posix_file_system();

// "dir/name".
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace bastion::bft::storage
