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
    MutexLock lock(mutex_);
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
    MutexLock lock(mutex_);
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
  MutexLock lock(mutex_);
  for (;;) {
    while (!stopping_ && (queue_.empty() || failed_)) wake_.wait(lock);
    if (stopping_) return;
    // Nobody waits for these records yet: give them a while to join a sync someone waits for.
    const auto lazy_until = lazy_since_ + kLazyDelay;
    while (!stopping_ && !urgent_ && !draining_ && std::chrono::steady_clock::now() < lazy_until) {
      wake_.wait_until(lock, lazy_until);
    }
    if (stopping_) return;
    Taken taken = take_queued();
    lock.unlock();
    Written written = write(taken.records);
    lock.lock();
    report(taken.ticket, std::move(written));
  }
}

StorageWorker::Taken StorageWorker::take_queued() {
  Taken taken{std::move(queue_), queued_ticket_};
  queue_.clear();
  urgent_ = false;
  busy_ = true;
  return taken;
}

StorageWorker::Written StorageWorker::write(const std::vector<bft::PersistRecord>& records) {
  const auto start = std::chrono::steady_clock::now();
  Written w;
  w.outcome = storage_->append(records);
  if (w.outcome) w.outcome = storage_->sync();
  w.ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  w.stats = storage_->stats();
  return w;
}

void StorageWorker::report(std::uint64_t ticket, Written written) {
  busy_ = false;
  stats_ = written.stats;
  if (!written.outcome) {
    failed_ = true;
    error_ = written.outcome.error();
    if (!draining_) {
      asio::post(io_, [handler = on_failed_, error = *error_] { handler(error); });
    }
  } else if (!draining_) {
    asio::post(io_,
               [handler = on_durable_, done = SyncDone{ticket, written.ns}] { handler(done); });
  }
  idle_.notify_all();
}

Result<Done, StorageError> StorageWorker::drain() {
  if (!threaded_) return Done{};
  MutexLock lock(mutex_);
  draining_ = true;
  wake_.notify_all();
  while (!failed_ && (!queue_.empty() || busy_)) idle_.wait(lock);
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
  MutexLock lock(mutex_);
  return stats_;
}

}  // namespace bastion::server
