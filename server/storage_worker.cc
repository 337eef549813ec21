#include "server/storage_worker.h"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "bft/storage/log_entry.h"

namespace bastion::server {

namespace asio = boost::asio;
using bft::storage::StorageError;

std::uint64_t encoded_bytes(const std::vector<bft::PersistRecord>& records) {
  std::uint64_t bytes = 0;
  bft::Bytes scratch;
  for (const bft::PersistRecord& r : records) {
    scratch.clear();
    bft::storage::encode_entry(r, scratch);
    bytes += scratch.size();
  }
  return bytes;
}

StorageWorker::StorageWorker(asio::io_context& io,
                             std::unique_ptr<bft::storage::ReplicaStorage> storage,
                             DurableHandler on_durable, FailedHandler on_failed)
    : io_(io),
      storage_(std::move(storage)),
      on_durable_(std::move(on_durable)),
      on_failed_(std::move(on_failed)),
      threaded_(storage_->durable()),
      stats_(storage_->stats()) {
  if (threaded_) thread_ = std::thread([this] { run(); });
}

StorageWorker::~StorageWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t StorageWorker::submit(std::vector<bft::PersistRecord> records, bool urgent) {
  if (!threaded_) {
    (void)storage_->append(records);  // in memory: nothing to fail, nothing to wait for
    return 0;
  }
  if (records.empty()) return 0;
  const std::uint64_t ticket = next_ticket_++;
  {
    std::lock_guard lock(mutex_);
    if (failed_ || stopping_) return ticket;
    urgent_ = urgent_ || urgent;
    if (queue_.empty()) {
      lazy_since_ = std::chrono::steady_clock::now();
      queue_ = std::move(records);
    } else {
      queue_.insert(queue_.end(), std::make_move_iterator(records.begin()),
                    std::make_move_iterator(records.end()));
    }
    queued_ticket_ = ticket;
  }
  wake_.notify_one();
  return ticket;
}

void StorageWorker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || (!queue_.empty() && !failed_); });
    if (stopping_) return;
    // Nobody waits for these records yet: give them a while to join a sync someone waits for.
    wake_.wait_until(lock, lazy_since_ + kLazyDelay,
                     [this] { return stopping_ || urgent_ || draining_; });
    if (stopping_) return;
    write_queued(lock);
  }
}

void StorageWorker::write_queued(std::unique_lock<std::mutex>& lock) {
  std::vector<bft::PersistRecord> records = std::move(queue_);
  queue_.clear();
  urgent_ = false;
  const std::uint64_t ticket = queued_ticket_;
  busy_ = true;
  lock.unlock();

  const auto start = std::chrono::steady_clock::now();
  auto appended = storage_->append(records);
  auto synced = appended ? storage_->sync() : Result<Done, StorageError>(Done{});
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  const bft::storage::StorageStats stats = storage_->stats();

  lock.lock();
  busy_ = false;
  stats_ = stats;
  if (!appended || !synced) {
    failed_ = true;
    error_ = !appended ? appended.error() : synced.error();
    if (!draining_) {
      asio::post(io_, [handler = on_failed_, error = *error_] { handler(error); });
    }
    idle_.notify_all();
    return;
  }
  if (!draining_) {
    asio::post(io_, [handler = on_durable_, done = SyncDone{ticket, ns}] { handler(done); });
  }
  idle_.notify_all();
}

Result<Done, StorageError> StorageWorker::drain() {
  if (!threaded_) return Done{};
  std::unique_lock lock(mutex_);
  draining_ = true;
  wake_.notify_all();
  idle_.wait(lock, [this] { return failed_ || (queue_.empty() && !busy_); });
  stopping_ = true;
  lock.unlock();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  lock.lock();
  if (failed_) return fail(*error_);
  return storage_->mark_clean_stop();
}

bft::storage::StorageStats StorageWorker::stats() const {
  if (!threaded_) return storage_->stats();
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace bastion::server
