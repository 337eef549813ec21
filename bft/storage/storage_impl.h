// Internal state of a ReplicaStorage, shared by the writer (replica_storage.cc) and recovery
// (recovery.cc). Not part of the public API.
//
// Invariants between calls:
//   - `active` is the last live segment; live_segments lists the live segments in order, the
//     first a base; log_bytes is the sum of their sizes.
//   - `pending`, if any, holds the frames of the next group, already laid out for the offsets
//     where they will land (in `active`, or at the start of the new segment pending.number).
//   - `retained` holds every record appended (pending ones included) under the folding rule, and
//     checkpoint_files every checkpoint file (a state's page list) in the directory that the live
//     log may need, with its state; `pages` holds every page of those states durably.
//   - once `failed` is set, nothing more is written.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bft/storage/page_store.h"
#include "bft/storage/replica_storage.h"
#include "bft/storage/retained.h"
#include "bft/storage/segment.h"

namespace bastion::bft::storage {

class ReplicaStorage::Impl {
 public:
  struct ActiveSegment {
    std::uint64_t number = 0;
    Salt salt{};
    std::string path;
    std::unique_ptr<WritableFile> file;
  };
  struct PendingGroup {
    std::uint64_t number = 0;  // the segment it goes to
    Salt salt{};
    std::uint64_t file_offset = 0;              // where bytes() lands in that segment
    std::uint64_t group_offset = 0;             // where the group starts in that segment
    std::optional<SegmentBuilder> new_segment;  // set when the group starts a new segment
    Bytes appended;                             // otherwise the frames go here
    std::uint64_t frames = 0;
    Bytes& bytes() { return new_segment ? new_segment->bytes() : appended; }
  };

  // Durable storage in `dir` (the caller recovers and fills in the rest).
  Impl(FileSystem& fs, std::string dir, StorageOptions options);
  // No durability.
  Impl();

  Result<Done, StorageError> append(const PersistRecord& record);
  Result<Done, StorageError> sync();
  StorageStats stats() const;

  // Rewrites the retained records into a new base segment and deletes what it supersedes.
  Result<Done, StorageError> compact();
  bool compaction_due() const;
  // Writes a complete segment (temp file, fdatasync, rename, directory fsync) and returns a
  // handle positioned at its end.
  Result<std::unique_ptr<WritableFile>, StorageError> write_new_segment(std::uint64_t number,
                                                                        ByteView bytes);
  std::string path_of(const std::string& name) const { return join_path(dir, name); }
  // Lets the page store drop the pages that no retained checkpoint lists any more.
  Result<Done, StorageError> collect_pages();
  bool file_exists(const std::string& name) const;
  Salt new_salt() const;

  FileSystem* fs = nullptr;
  std::string dir;
  StorageOptions options;
  bool durable = false;
  bool failed = false;
  std::unique_ptr<FileLock> lock;
  ActiveSegment active;
  std::vector<std::uint64_t> live_segments;
  std::uint64_t log_bytes = 0;
  std::uint64_t next_number = 1;
  std::optional<PendingGroup> pending;
  // The buffer of the last group appended to the active segment, emptied, its capacity kept for
  // the next group: a new buffer for every group grows anew, and with large records (512 KiB
  // tuples) the page faults of that growth were most of the storage thread's time.
  Bytes spare_group_buffer;
  RetainedLog retained;
  // A checkpoint file's state, kept (shared with the replica) while the live log may need it.
  std::map<std::string, PagedState> checkpoint_files;
  PageStore pages;
  std::optional<SeqNum> compacted_stable;  // stable seq of the newest base segment
  StorageStats counters;

 private:
  Result<Done, StorageError> fail_storage(StorageError e);
  void start_group();
};

}  // namespace bastion::bft::storage
