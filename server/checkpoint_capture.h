// CheckpointCapture: how the daemon answers a checkpoint's capture request
// (bft/core/state_capture.h).
//
// The state is taken on the io thread as shared pieces (Replica::checkpoint_state()), which costs
// what changed since the previous capture: the tuple space encodes again only the snapshot pages
// that a change touched and shares the rest. Hashing costs what changed too: the pages shared with
// the last state hashed here keep their digests (bft::CapturedState::of), and only the others and
// the page list are hashed. But the first capture after a start or a state transfer hashes the
// whole state (BLAKE2b: 138 ms of CPU for 83 MB here), so a state of `thread_min_bytes` or more is
// hashed on a worker thread while the replica goes on with later batches, and a smaller one on the
// spot. The pieces never change once made, so the worker reads them as they are. When `queued_max`
// states already wait for the worker, the next one is hashed on the spot: the replica slows to the
// rate it can hash at rather than hold states without bound.
//
// This replaced captures in forked children: copy-on-write page faults after each fork made a
// write's cost depend on the virtual machine (docs/benchmarks.md).
//
// Thread-safety: capture() and stats() on the io thread; results are posted to it. Destruction
// joins the worker; results not delivered by then are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "bft/core/state_capture.h"
#include "codec/thread_annotations.h"

namespace boost::asio {
class io_context;
}

namespace bastion::server {

struct CaptureStats {
  std::uint64_t threaded = 0;     // captures hashed on the worker thread
  std::uint64_t on_the_spot = 0;  // captures hashed on the io thread
  std::uint64_t last_bytes = 0;   // size of the last state captured
  double last_ms = 0;             // wall time of the last capture, from taking it to its digest
  double last_take_ms = 0;        // wall time the io thread spent taking the last state's pieces
};

class CheckpointCapture {
 public:
  struct Options {
    std::uint64_t thread_min_bytes = std::uint64_t{1} << 20;  // 0: always on the worker
    std::uint32_t queued_max = 2;
  };
  // Called on the io thread with a capture's id and its result.
  using Done = std::function<void(std::uint64_t, bft::CapturedState)>;

  CheckpointCapture(boost::asio::io_context& io, Options options, Done done);
  ~CheckpointCapture();
  CheckpointCapture(const CheckpointCapture&) = delete;
  CheckpointCapture& operator=(const CheckpointCapture&) = delete;

  // Captures `take()`'s state for capture `id`: returns it hashed when done on the spot; nullopt
  // when the worker hashes it (the result goes to `done` later).
  std::optional<bft::CapturedState> capture(std::uint64_t id,
                                            const std::function<bft::StateBytes()>& take);
  CaptureStats stats() const { return stats_; }

 private:
  struct Job {
    std::uint64_t id = 0;
    bft::StateBytes state;
    std::chrono::steady_clock::time_point started{};
  };
  void run() BASTION_EXCLUDES(mutex_);
  // Hashes `state`, with the digests of the pages it shares with the last state hashed.
  bft::CapturedState hash(bft::StateBytes state) BASTION_EXCLUDES(mutex_);
  void finished(std::uint64_t id, bft::CapturedState result, double ms);

  boost::asio::io_context& io_;
  const Options options_;
  Done done_;
  // io thread only
  CaptureStats stats_;
  std::uint32_t queued_ = 0;  // handed to the worker, not finished

  std::shared_ptr<bool> alive_;  // posted results are dropped once the capture is destroyed

  Mutex mutex_;
  CondVar wake_;
  std::deque<Job> jobs_ BASTION_GUARDED_BY(mutex_);
  std::shared_ptr<const bft::CapturedState> last_ BASTION_GUARDED_BY(mutex_);
  bool stopping_ BASTION_GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

}  // namespace bastion::server
