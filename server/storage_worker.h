// StorageWorker: a replica's storage on a thread of its own, so that the io thread goes on
// reading and processing while the disk syncs.
//
// The io thread submits the persist records of each turn and gets a ticket; the worker appends
// everything submitted so far and makes it durable with one sync (group commit: the turns that
// arrived during a sync share the next one), then posts `on_durable(ticket)` to the io_context
// for the last ticket covered. Records nobody waits for (submitted with urgent = false) wait up to
// kLazyDelay for a sync that someone waits for, so they cost no sync of their own under load. A
// failure is posted as `on_failed(error)` once, after which the worker takes nothing more (a failed
// fdatasync may have dropped data: the replica must stop).
//
// A storage that is not durable (in-memory clusters) needs no thread: submit() returns ticket 0
// (nothing to wait for) and nothing is posted.
//
// Thread-safety: submit(), drain() and the destructor on the io thread; stats() from any thread.
// The handlers run on the io thread; a handler posted before the worker is destroyed may still
// run after it, so they must not reach the worker through a plain pointer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "bft/core/persist.h"
#include "bft/storage/replica_storage.h"
#include "codec/result.h"
#include "codec/thread_annotations.h"

namespace boost::asio {
class io_context;
}

namespace bastion::server {

struct SyncDone {
  std::uint64_t ticket = 0;   // every ticket up to this one is durable
  std::uint64_t sync_ns = 0;  // time spent appending and syncing them
};

// The bytes `records` take as the log encodes them (encoding them once more); a checkpoint's state
// is not counted (it is shared with the core, never copied), only its reference.
std::uint64_t encoded_bytes(const std::vector<bft::PersistRecord>& records);

class StorageWorker {
 public:
  using DurableHandler = std::function<void(const SyncDone&)>;
  using FailedHandler = std::function<void(const bft::storage::StorageError&)>;

  // The handlers are posted to `io` and must stay callable until the worker is destroyed.
  StorageWorker(boost::asio::io_context& io, std::unique_ptr<bft::storage::ReplicaStorage> storage,
                DurableHandler on_durable, FailedHandler on_failed);
  ~StorageWorker();  // stops the thread; what was not synced may be lost, as in a crash
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  static constexpr std::chrono::milliseconds kLazyDelay{10};

  // Queues records to be made durable; returns their ticket (0 for no records, or a storage that
  // is not durable: nothing to wait for). `urgent`: the caller waits for this ticket, sync as soon
  // as possible. After a failure the records are dropped (the failure was or will be reported).
  std::uint64_t submit(std::vector<bft::PersistRecord> records, bool urgent);
  // Blocks until everything submitted is durable (or the storage failed), stops the thread and
  // marks the storage cleanly stopped (ReplicaStorage::mark_clean_stop). Handlers are not called
  // for what drain() covers.
  Result<Done, bft::storage::StorageError> drain();

  bft::storage::StorageStats stats() const;

 private:
  // What the thread takes from the queue for one append and sync.
  struct Taken {
    std::vector<bft::PersistRecord> records;
    std::uint64_t ticket = 0;
  };
  struct Written {
    Result<Done, bft::storage::StorageError> outcome = Done{};
    std::uint64_t ns = 0;
    bft::storage::StorageStats stats;
  };

  void run() BASTION_EXCLUDES(mutex_);
  Taken take_queued() BASTION_REQUIRES(mutex_);
  Written write(const std::vector<bft::PersistRecord>& records);  // the disk work, unlocked
  void report(std::uint64_t ticket, Written written) BASTION_REQUIRES(mutex_);

  boost::asio::io_context& io_;
  std::unique_ptr<bft::storage::ReplicaStorage> storage_;
  DurableHandler on_durable_;
  FailedHandler on_failed_;
  const bool threaded_;

  std::uint64_t next_ticket_ = 1;  // io thread only

  mutable Mutex mutex_;
  CondVar wake_;
  CondVar idle_;
  // submitted, not yet taken by the thread
  std::vector<bft::PersistRecord> queue_ BASTION_GUARDED_BY(mutex_);
  // ticket of the last record in queue_
  std::uint64_t queued_ticket_ BASTION_GUARDED_BY(mutex_) = 0;
  // someone waits for a ticket in queue_
  bool urgent_ BASTION_GUARDED_BY(mutex_) = false;
  // when queue_ became non-empty
  std::chrono::steady_clock::time_point lazy_since_ BASTION_GUARDED_BY(mutex_);
  bool busy_ BASTION_GUARDED_BY(mutex_) = false;  // the thread is appending or syncing
  bool stopping_ BASTION_GUARDED_BY(mutex_) = false;
  // drain() waits: durability is reported to it, not posted
  bool draining_ BASTION_GUARDED_BY(mutex_) = false;
  bool failed_ BASTION_GUARDED_BY(mutex_) = false;
  std::optional<bft::storage::StorageError> error_ BASTION_GUARDED_BY(mutex_);
  bft::storage::StorageStats stats_ BASTION_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace bastion::server
