// Closed-loop drivers: each bench client has exactly one request outstanding; when its reply is
// accepted (or fails), the client sends its next request at once.
//
// A Driver is one thread serving a set of bench clients (lanes) with the Client's asynchronous
// calls: it sends each lane's request, then repeatedly handles every reply that is ready and,
// when none is, blocks on the oldest outstanding one. No thread per bench client and no busy
// polling: the thread sleeps until the oldest reply arrives. Cost of this: a reply that arrives
// before an older one is noticed only when the older one is, so its latency is overstated by at
// most the older one's remaining time. One session's ordered requests are executed, and their
// replies sent, in the order they were sent, so this is rare; `--threads N` (one driver per
// bench client) measures without it, for comparison.
//
// Recording: an operation counts if its reply is observed inside the measuring window [start,
// end); its latency is send-to-observed. Operations that failed count as errors by name and are
// left out of the latency figures (an `unavailable` takes the whole call timeout). Refills are
// counted apart. After `end` a driver sends nothing new and waits for what it has outstanding.
//
// Thread-safety: a Driver is used by one thread (run()); its lanes' ClientStates belong to it
// alone; Clients are shared (they are thread-safe), and so is the Window (end_now() from any
// thread). Read the Recorder after run() returned.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/cluster/workload.h"
#include "client/client.h"

namespace bastion::bench {

using Clock = std::chrono::steady_clock;

// The measuring window. Its end may be brought forward from another thread (an interrupted run).
class Window {
 public:
  Window(Clock::time_point start, Clock::time_point end)
      : start_(start), end_ticks_(end.time_since_epoch().count()) {}

  Clock::time_point start() const { return start_; }
  Clock::time_point end() const {
    return Clock::time_point(Clock::duration(end_ticks_.load(std::memory_order_relaxed)));
  }
  // Ends the window now: drivers send nothing more. Before start() this leaves it empty.
  void end_now() {
    const Clock::time_point now = Clock::now();
    if (now < end()) end_ticks_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  // How long it measured (zero if it ended before it started).
  Clock::duration length() const { return std::max(end() - start_, Clock::duration::zero()); }

 private:
  Clock::time_point start_;
  std::atomic<Clock::rep> end_ticks_;
};

struct Recorder {
  std::array<std::vector<std::uint64_t>, kStepKinds> latency_ns;  // by StepKind, successful ops
  std::map<std::string, std::uint64_t> errors;                    // by name, in the window
  std::uint64_t refills = 0;                                      // completed in the window
  std::uint64_t sent = 0;                                         // every request, whole run

  void merge(const Recorder& other);
};

struct Lane {
  ClientState* state = nullptr;
  Client* client = nullptr;
};

class Driver {
 public:
  // `window` must outlive run().
  Driver(std::vector<Lane> lanes, const Window& window, CallOptions call);

  void run();
  const Recorder& recorder() const { return recorder_; }

 private:
  std::vector<Lane> lanes_;
  const Window* window_;
  CallOptions call_;
  Recorder recorder_;
};

}  // namespace bastion::bench
