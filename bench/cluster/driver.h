// Closed-loop drivers: each bench client has exactly one request outstanding; when its reply is
// accepted (or fails), the client sends its next request at once.
//
// A Driver serves the bench clients (lanes) that share one Client. Each lane's next request is
// started from the completion callback of its previous one (Client::execute_then), on that
// Client's I/O thread: a reply is timestamped the moment the client library accepts it, and no
// thread hands anything to another (with futures, every reply woke a driver thread and every
// request woke the I/O thread: about a third of the tool's CPU went to those wake-ups).
//
// Recording: an operation counts if its reply is observed inside the measuring window [start,
// end); its latency is send-to-observed. Operations that failed count as errors by name and are
// left out of the latency figures (an `unavailable` takes the whole call timeout). Refills are
// counted apart. After `end` a lane sends nothing new.
//
// Thread-safety: start() and wait() on one thread; the lanes and the Recorder are then used by
// the Client's I/O thread alone, until wait() returns. The Window is shared (end_now() from any
// thread).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/cluster/workload.h"
#include "client/client.h"
#include "codec/thread_annotations.h"

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
  // (client, key) of every out and cas acknowledged, whole run: what must never be lost.
  std::vector<std::pair<std::int64_t, std::int64_t>> acked_writes;

  void merge(const Recorder& other);
};

struct Lane {
  ClientState* state = nullptr;
  Step step;
  Clock::time_point sent_at;
};

class Driver {
 public:
  // Every lane's requests go through `client`. `window` must outlive wait().
  Driver(Client& client, std::vector<ClientState*> states, const Window& window, CallOptions call);

  // Sends every lane's first request and returns.
  void start();
  // Blocks until every lane has stopped (the window ended and its last reply came back).
  void wait();
  const Recorder& recorder() const { return recorder_; }  // after wait()

 private:
  void send(std::size_t lane);
  void on_reply(std::size_t lane, Expected<ts::Reply> reply);

  Client* client_;
  std::vector<Lane> lanes_;
  const Window* window_;
  CallOptions call_;
  Recorder recorder_;
  Mutex mutex_;
  CondVar stopped_;
  std::size_t running_ BASTION_GUARDED_BY(mutex_) = 0;  // lanes with a request outstanding
};

}  // namespace bastion::bench
