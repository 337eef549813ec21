// An in-memory FileSystem that simulates power loss and disk errors, for tests and the simulator.
//
// Model (what a crash keeps; the pessimistic side of the contract in file_system.h):
//   - Each file has its live bytes (what reads see) and its durable bytes (what sync() made
//     durable). On crash() a file keeps its durable bytes; in the torn modes it also keeps a
//     random prefix of the bytes appended after the last sync, and with kTornGarbage some of
//     those kept bytes are overwritten (sectors that reached the disk out of order or half
//     written).
//   - Creations, renames and removals are pending per directory until sync_dir(); a crash keeps a
//     random prefix of each directory's pending operations (none with kDropUnsynced), as a
//     journaling file system does.
//   - Directories themselves (create_dir) are durable at once; truncate() is durable at once.
//   - After a crash every WritableFile and FileLock handed out earlier is dead: its calls fail.
// Fault injection: fail_after(n) makes every mutating call after the next n fail (until heal());
// set_failure_probability(p) fails each mutating call with probability p. A failed append
// writes a random prefix of its bytes (a short write); a failed sync makes nothing durable.
// set_sync_delay(d) makes every file sync() sleep for d first (a slow disk).
// Randomness comes from the seed given at construction, so a run is reproducible.
//
// Thread-safety: one thread uses the file system and everything it hands out, and the
// FaultFileSystem outlives them; fail_after(), set_failure_probability(),
// set_sync_delay() and heal() may be called from any thread (a test arms faults while a replica's
// storage thread writes).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bft/storage/file_system.h"
#include "codec/thread_annotations.h"

namespace bastion::bft::storage {

class FaultFileSystem final : public FileSystem {
 public:
  enum class CrashMode {
    kDropUnsynced,  // keep only what was synced
    kTorn,          // also a random prefix of unsynced appends and directory operations
    kTornGarbage,   // kTorn, and some kept unsynced bytes are overwritten with garbage
  };

  explicit FaultFileSystem(std::uint64_t seed);
  ~FaultFileSystem() override;

  // Power loss: see the model above.
  void crash(CrashMode mode);

  // Every mutating call after the next `ok_calls` fails with kIo, until heal().
  void fail_after(std::uint64_t ok_calls);
  void set_failure_probability(double p);
  void set_sync_delay(std::chrono::milliseconds delay);
  void heal();  // ends injected failures (not the sync delay)

  // Inspection and tampering, for tests.
  std::optional<Bytes> file(const std::string& path) const;
  // Replaces a file's contents durably (creating it durably if missing): simulates bit rot.
  void put_durable(const std::string& path, Bytes data);
  std::vector<std::string> files(const std::string& dir) const;
  std::uint64_t bytes_in(const std::string& dir) const;
  std::uint64_t syncs() const { return syncs_; }
  std::uint64_t dir_syncs() const { return dir_syncs_; }

  // FileSystem.
  Result<std::unique_ptr<WritableFile>, StorageError> create(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>, StorageError> open_append(const std::string& path) override;
  Result<Bytes, StorageError> read_all(const std::string& path, std::uint64_t bytes_max) override;
  Result<std::vector<std::string>, StorageError> list(const std::string& dir) override;
  Result<Done, StorageError> rename(const std::string& from, const std::string& to) override;
  Result<Done, StorageError> remove(const std::string& path) override;
  Result<Done, StorageError> truncate(const std::string& path, std::uint64_t size) override;
  Result<Done, StorageError> sync_dir(const std::string& dir) override;
  Result<Done, StorageError> create_dir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>, StorageError> lock(const std::string& path) override;

 private:
  // Bytes only ever change by appending (truncate and put_durable are durable at once), so the
  // durable contents are always a prefix of the live ones.
  struct Inode {
    Bytes data;                    // live
    std::size_t durable_size = 0;  // data[0, durable_size) survives a crash
  };
  struct DirOp {
    enum class Kind { kLink, kUnlink, kRename };
    Kind kind = Kind::kLink;
    std::string path;     // link / unlink target, rename source
    std::string to_path;  // rename target
    std::shared_ptr<Inode> inode;
  };
  class File;
  class Lock;
  friend class File;
  friend class Lock;

  // A failure to inject into the next mutating call, if any.
  std::optional<StorageError> injected_failure(const char* what, const std::string& path);
  std::chrono::milliseconds sync_delay();
  Result<Done, StorageError> check_dir_of(const std::string& path) const;
  void tear(Inode& inode, CrashMode mode);

  std::mt19937_64 rng_;
  std::uint64_t generation_ = 0;                        // bumped by crash(): older handles are dead
  std::map<std::string, std::shared_ptr<Inode>> live_;  // path -> file
  std::map<std::string, std::shared_ptr<Inode>> durable_;  // what a crash starts from
  std::map<std::string, std::vector<DirOp>> pending_;      // dir -> unsynced operations
  std::set<std::string> dirs_;
  std::set<std::string> locks_;
  Mutex fault_mutex_;  // the fault settings can be changed from another thread
  std::optional<std::uint64_t> ok_calls_left_ BASTION_GUARDED_BY(fault_mutex_);
  double failure_probability_ BASTION_GUARDED_BY(fault_mutex_) = 0;
  std::chrono::milliseconds sync_delay_ BASTION_GUARDED_BY(fault_mutex_){0};
  std::uint64_t syncs_ = 0;
  std::uint64_t dir_syncs_ = 0;
};

}  // namespace bastion::bft::storage
