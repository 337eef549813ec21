#include "server/checkpoint_capture.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace bastion::server {
namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

CheckpointCapture::CheckpointCapture(boost::asio::io_context& io, Options options, Done done)
    : io_(io), options_(options), done_(std::move(done)), alive_(std::make_shared<bool>(true)) {
  worker_ = std::thread([this] { run(); });
}

CheckpointCapture::~CheckpointCapture() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::optional<bft::CapturedState> CheckpointCapture::capture(
    std::uint64_t id, const std::function<bft::StateBytes()>& take) {
  const auto started = std::chrono::steady_clock::now();
  bft::StateBytes state = take();
  stats_.last_take_ms = ms_since(started);
  stats_.last_bytes = state.size();
  if (state.size() < options_.thread_min_bytes || queued_ >= options_.queued_max) {
    bft::CapturedState result = hash(std::move(state));
    ++stats_.on_the_spot;
    stats_.last_ms = ms_since(started);
    return result;
  }
  ++queued_;
  ++stats_.threaded;
  {
    MutexLock lock(mutex_);
    jobs_.push_back(Job{id, std::move(state), started});
  }
  wake_.notify_one();
  return std::nullopt;
}

void CheckpointCapture::run() {
  MutexLock lock(mutex_);
  for (;;) {
    while (!stopping_ && jobs_.empty()) wake_.wait(lock);
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    bft::CapturedState result = hash(std::move(job.state));
    const double ms = ms_since(job.started);
    boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), id = job.id,
                            result = std::move(result), ms]() mutable {
      if (alive.lock()) finished(id, std::move(result), ms);
    });
    lock.lock();
  }
}

bft::CapturedState CheckpointCapture::hash(bft::StateBytes state) {
  std::shared_ptr<const bft::CapturedState> last;
  {
    MutexLock lock(mutex_);
    last = last_;
  }
  bft::CapturedState result = bft::CapturedState::of(std::move(state), last.get());
  auto kept = std::make_shared<const bft::CapturedState>(result);
  MutexLock lock(mutex_);
  last_ = std::move(kept);
  return result;
}

void CheckpointCapture::finished(std::uint64_t id, bft::CapturedState result, double ms) {
  --queued_;
  stats_.last_ms = ms;
  done_(id, std::move(result));
}

}  // namespace bastion::server
