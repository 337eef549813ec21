// ReplicaStorage: the crash-safe store of a replica's PersistRecords (write-ahead log plus
// checkpoint state files), and the only public entry point of bft/storage.
//
// Use (the daemon's event loop; see docs/storage.md):
//   auto opened = ReplicaStorage::open(posix_file_system(), dir, options);  // recovers
//   replica.start(now, fold(opened->records));                             // fold.h
//   loop: Output out = replica.take_output();
//         for (auto& r : out.persist) storage.append(r);
//         storage.sync();          // one fdatasync for the whole turn (group commit)
//         ...only now send out.messages and out.replies
//
// Guarantees:
//   - sync() returns Done only when every record appended before it is durable; records open()
//     returns are exactly what was made durable, in order, possibly followed by records appended
//     but not yet synced when the process died (never garbage, never a gap), and possibly in
//     compacted form (see below).
//   - A checkpoint's state is written to its own file, durably, by append(); the log record that
//     refers to it is durable after the next sync(). open() verifies each state against its
//     digest before returning it.
//   - Damage that is not a torn write at the end of the log stops open() with kCorruption and a
//     message naming the file and byte offset: the replica must not start on a log it cannot
//     trust (fail closed). A torn tail is cut off and reported.
//   - Disk use stays proportional to the log window: after a sync that made a new stable
//     checkpoint durable (or once obsolete bytes outweigh live ones), the log is compacted into a
//     fresh segment holding only what recovery needs (retained.h) and older segments and
//     checkpoint files below the stable one are deleted.
//   - After any write or sync error the storage is failed: every later call returns kFailed (a
//     failed fdatasync may have dropped data the kernel had, so retrying is not safe). The
//     replica must stop; a restart recovers what was durable.
// Destroying a ReplicaStorage does not sync: what was appended and not synced may be lost, as in
// a crash. The directory is locked while a ReplicaStorage has it open.
//
// in_memory() gives the same API with no durability, for in-memory clusters: nothing is written,
// sync() returns at once.
//
// Thread-safety: none; the thread that owns the replica owns its storage.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bft/core/persist.h"
#include "bft/storage/error.h"
#include "bft/storage/file_system.h"

namespace bastion::bft::storage {

struct StorageOptions {
  // A sync starts a new segment once the current one holds at least this many bytes.
  std::uint64_t segment_bytes_target = std::uint64_t{64} << 20;
  // Largest log record (a pre-prepare or a committed record carrying its batch). Appending a
  // larger one fails with kInvalidArgument; reading back a larger length is damage, so a corrupt
  // length never drives an allocation.
  std::uint32_t record_bytes_max = std::uint32_t{64} << 20;
  // Largest checkpoint state (Config::snapshot_bytes_max), on append and on read back.
  std::uint64_t checkpoint_bytes_max = std::uint64_t{4} << 30;
  // The page packs are rewritten with their live pages only once the pages that no retained
  // checkpoint lists outweigh the live ones and this (page_store.h).
  std::uint64_t page_rewrite_min_bytes = std::uint64_t{64} << 20;
};

struct StorageStats {
  std::uint64_t records_appended = 0;
  std::uint64_t syncs = 0;               // syncs that wrote something: one log fdatasync each
  std::uint64_t bytes_synced = 0;        // log bytes written by those syncs
  std::uint64_t segments = 0;            // live segment files
  std::uint64_t log_bytes = 0;           // bytes in live segment files
  std::uint64_t checkpoint_files = 0;    // checkpoint page lists
  std::uint64_t page_packs = 0;          // files holding the checkpoints' pages (page_store.h)
  std::uint64_t page_pack_bytes = 0;     // in them, pages no checkpoint lists any more included
  std::uint64_t page_bytes_written = 0;  // to them since open, rewrites included
  std::uint64_t page_rewrites = 0;       // of the packs with their live pages, since open
  std::uint64_t retained_records = 0;    // what a compaction would keep
  std::uint64_t retained_bytes = 0;
  std::uint64_t compactions = 0;
  std::uint64_t cleanup_errors = 0;  // obsolete files that could not be deleted (retried at open)
};

struct RecoveryReport {
  std::uint64_t segments = 0;          // live segments read
  std::uint64_t records = 0;           // records returned
  std::uint64_t checkpoint_bytes = 0;  // state bytes read and verified
  std::string torn_file;               // the segment whose torn tail was cut, if any
  std::uint64_t torn_offset = 0;       // where the log now ends in it
  std::uint64_t torn_bytes = 0;        // bytes cut
  std::uint64_t files_removed = 0;     // leftovers: superseded segments, temp and orphan files
  // The previous user called mark_clean_stop(): every record it appended was durable.
  bool clean_stop = false;
};

class ReplicaStorage;

struct OpenedStorage {
  std::unique_ptr<ReplicaStorage> storage;
  // Durable records in the order they were written (or their compacted form); feed them to
  // PersistedStateBuilder (fold.h).
  std::vector<PersistRecord> records;
  RecoveryReport report;
};

class ReplicaStorage {
 public:
  // Opens (creating if missing) and recovers the storage in `dir`. `fs` must outlive the storage.
  static Result<OpenedStorage, StorageError> open(FileSystem& fs, const std::string& dir,
                                                  StorageOptions options = {});
  // No durability: nothing is written or read.
  static std::unique_ptr<ReplicaStorage> in_memory();

  ~ReplicaStorage();
  ReplicaStorage(const ReplicaStorage&) = delete;
  ReplicaStorage& operator=(const ReplicaStorage&) = delete;

  // Buffers a record for the next sync(). A CheckpointRecord's state is written now: the pages
  // that no earlier checkpoint wrote to the page packs, then its page list to a file of its own
  // (page_store.h). Nothing is hashed again: a digest that does not match is found at open().
  // kInvalidArgument leaves the storage usable; an I/O error fails it.
  Result<Done, StorageError> append(const PersistRecord& record);
  Result<Done, StorageError> append(std::span<const PersistRecord> records);
  // Makes every appended record durable with one fdatasync of the log (a segment roll or a
  // compaction adds their own syncs); then compacts if due. No-op when nothing is pending.
  Result<Done, StorageError> sync();
  // Syncs, then records durably that the storage was closed with nothing left unsynced: the next
  // open() reports it (RecoveryReport::clean_stop) and removes the mark before returning, so a
  // later crash is never mistaken for a clean stop. The last call before destruction.
  Result<Done, StorageError> mark_clean_stop();

  bool durable() const;
  bool failed() const;
  StorageStats stats() const;

  class Impl;

 private:
  explicit ReplicaStorage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bastion::bft::storage
