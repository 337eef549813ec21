// ForkCapture: how the daemon answers a checkpoint's capture request (bft/core/state_capture.h).
// A large checkpoint state is encoded and hashed in a forked child process, on the copy-on-write
// image of the moment the checkpoint was due, while the replica goes on with later batches; a
// small one is encoded on the spot.
//
// Encoding and hashing take time in proportion to the state (0.2-0.5 s for 300,000 small tuples
// here), during which a replica doing it inline would stall its io thread (no messages, no
// batches). fork() copies page tables only; pages the parent modifies meanwhile are copied by the
// kernel. The child encodes (Replica::checkpoint_state(), on its frozen copy of the replica),
// hashes, writes the digest and the bytes to a pipe (and the state file to the data directory),
// and exits; a reader thread collects them and posts the result to the io thread, which hands it
// to Replica::on_checkpoint_captured().
//
// On the spot instead when the state is below `fork_min_bytes`, or its capture on the spot is
// expected to take at most `stall_max_ms` of the io thread's CPU (at the rate measured on earlier
// captures on the spot), the state's size being the larger of the previous state's and the
// application's own count of the bytes it holds now (`state_bytes_hint`: a state that grew by tens
// of MB within one checkpoint interval, say by large tuples, must not be encoded on the io thread).
// A fork is not free: the page tables are copied while the replica waits, and every page it writes
// afterwards faults once and is copied; on the development machines that halved `out` throughput
// against capturing a few MB on the spot (docs/benchmarks.md). Also on the spot when:
// `children_max` children are still running; fork() or pipe() fail; or the previous child failed. A
// child that dies, whose output is short, or that is late (Options::child_time_base) is reported
// as a failure (the core captures again if nothing executed since, or fetches the proven bytes;
// see bft/core/state_capture.h).
//
// The child keeps only stdio and its pipe open (never the replica's sockets: a replica restarted
// after a SIGKILL must be able to bind its port), ignores SIGINT and SIGTERM (a Ctrl-C to the
// process group must not kill it halfway) and is killed when the thread that forked it dies.
// Destruction kills children still running and joins the reader thread.
//
// Thread-safety: capture() and stats() on the io thread; results are posted to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <sys/types.h>

#include "bft/core/state_capture.h"
#include "bft/core/types.h"
#include "codec/thread_annotations.h"

namespace boost::asio {
class io_context;
}

namespace bastion::server {

struct CaptureStats {
  std::uint64_t forked = 0;       // captures done in a child process
  std::uint64_t on_the_spot = 0;  // captures done on the io thread
  std::uint64_t failed = 0;       // children that died or sent short output
  std::uint64_t last_bytes = 0;   // size of the last state captured
  double last_ms = 0;             // wall time of the last capture (for a child: fork to result)
  double last_fork_ms = 0;        // wall time the io thread spent in the last fork()
  // Bytes encoded and hashed per ms of the io thread's CPU on the spot: each capture of 256 KiB or
  // more moves it halfway to its own rate, from a conservative 100 MB/s before the first.
  double spot_bytes_per_ms = 100'000;
};

class ForkCapture {
 public:
  struct Options {
    std::uint64_t fork_min_bytes = std::uint64_t{1} << 20;  // 0: always fork
    // Larger states are still captured on the spot while that is expected to take at most this
    // much of the io thread's CPU (at CaptureStats::spot_bytes_per_ms; where other processes
    // compete for the CPU, the stall lasts longer).
    double stall_max_ms = 50;
    // Size of the state before the first capture (a replica restarted from a large state forks
    // from its first checkpoint on).
    std::uint64_t initial_state_bytes = 0;
    // The application's estimate of its state's size now, asked on the io thread at each
    // capture (unset: the previous state's size alone decides).
    std::function<std::uint64_t()> state_bytes_hint;
    std::uint32_t children_max = 3;
    std::uint64_t state_bytes_max = std::uint64_t{4} << 30;  // longer output is a failure
    // The replica's data directory: the child also writes the checkpoint's state file there,
    // durably (bft::storage::ReplicaStorage::write_checkpoint_file), so the storage thread
    // adopts it instead of writing it. Empty: in-memory replica, no file.
    std::string checkpoint_dir;
    // A child that has not delivered its state within child_time_base plus the state's
    // estimated size at child_bytes_per_s is killed and reported as failed: one stuck for good
    // (say on a lock another thread of the replica held at fork()) would otherwise hold every
    // later capture, and the replica's stable checkpoint, where they are.
    std::chrono::milliseconds child_time_base{10'000};
    std::uint64_t child_bytes_per_s = std::uint64_t{16} << 20;
  };
  // Called on the io thread with a capture's id and its result (nullopt: failed).
  using Done = std::function<void(std::uint64_t, std::optional<bft::CapturedState>)>;

  ForkCapture(boost::asio::io_context& io, Options options, Done done);
  ~ForkCapture();
  ForkCapture(const ForkCapture&) = delete;
  ForkCapture& operator=(const ForkCapture&) = delete;

  // Captures `encode()`'s bytes for capture `id` of checkpoint `seq`: returns them, hashed, when
  // done on the spot; nullopt when a child took the image (the result goes to `done` later).
  std::optional<bft::CapturedState> capture(std::uint64_t id, bft::SeqNum seq,
                                            const std::function<bft::Bytes()>& encode);
  CaptureStats stats() const { return stats_; }

 private:
  struct Child {
    std::uint64_t id = 0;
    pid_t pid = -1;
    int fd = -1;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point deadline{};
  };
  bft::CapturedState on_the_spot(const std::function<bft::Bytes()>& encode);
  bool fork_child(std::uint64_t id, bft::SeqNum seq, std::uint64_t expected_bytes,
                  const std::function<bft::Bytes()>& encode);
  void read_children() BASTION_EXCLUDES(mutex_);
  std::optional<bft::CapturedState> collect(const Child& child);
  void finished(std::uint64_t id, std::optional<bft::CapturedState> result, double ms);

  boost::asio::io_context& io_;
  const Options options_;
  Done done_;
  // io thread only
  CaptureStats stats_;
  std::uint32_t running_ = 0;
  bool fallback_next_ = false;

  std::shared_ptr<bool> alive_;  // posted results are dropped once the capture is destroyed

  Mutex mutex_;
  CondVar wake_;
  // forked, not collected yet (the reader takes the front)
  std::deque<Child> children_ BASTION_GUARDED_BY(mutex_);
  bool stopping_ BASTION_GUARDED_BY(mutex_) = false;
  std::thread reader_;
};

}  // namespace bastion::server
