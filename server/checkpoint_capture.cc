#include "server/checkpoint_capture.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "bft/core/state_digest.h"
#include "bft/storage/replica_storage.h"

namespace bastion::server {
namespace {

// The child's output: state length (8 bytes, little-endian), the state's leaf digests (32 bytes
// each, bft::state_leaf_count(length) of them), the state. The parent computes the digest from the
// leaves.
constexpr std::size_t kHeaderBytes = 8;
static_assert(sizeof(bft::Digest) == 32);
constexpr int kChildPipeFd = 3;
constexpr std::uint64_t kRateSampleMinBytes = 256 << 10;

bool write_all(int fd, const std::uint8_t* data, std::size_t len) {
  while (len > 0) {
    const ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads `len` bytes unless end of file, an error or `deadline` comes first.
bool read_all(int fd, std::uint8_t* data, std::size_t len,
              std::chrono::steady_clock::time_point deadline) {
  while (len > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;  // an error, or the deadline passed
    const ssize_t n = ::read(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// In the child: encode, hash, write the state file (if `dir` is set), write the pipe, exit.
[[noreturn]] void run_child(int fd, pid_t parent, const std::string& dir, bft::SeqNum seq,
                            const std::function<bft::Bytes()>& encode) {
  // Keep only stdio and the pipe: a child must not hold the replica's listening socket or its
  // connections (a replica restarted after a SIGKILL could not bind its port while the child
  // runs), and it dies with the thread that forked it.
  if (::dup2(fd, kChildPipeFd) < 0 || ::close_range(kChildPipeFd + 1, ~0U, 0) != 0) ::_exit(1);
  fd = kChildPipeFd;
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);  // the parent died before the line above
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGPIPE, SIG_DFL);
  int status = 1;
  try {
    const bft::Bytes state = encode();
    const std::vector<bft::Digest> leaves = bft::state_leaves(state);
    const bft::Digest digest = bft::state_root(state.size(), leaves);
    if (!dir.empty() && !bft::storage::ReplicaStorage::write_checkpoint_file(
                            bft::storage::posix_file_system(), dir, seq, digest, state)) {
      ::_exit(1);
    }
    std::array<std::uint8_t, kHeaderBytes> header{};
    const std::uint64_t size = state.size();
    for (std::size_t i = 0; i < 8; ++i) header[i] = static_cast<std::uint8_t>(size >> (8 * i));
    if (write_all(fd, header.data(), header.size()) &&
        write_all(fd, reinterpret_cast<const std::uint8_t*>(leaves.data()),
                  leaves.size() * sizeof(bft::Digest)) &&
        write_all(fd, state.data(), state.size())) {
      status = 0;
    }
  } catch (...) {
    status = 1;
  }
  ::_exit(status);  // no destructors or atexit handlers of the parent's copy
}

double thread_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ForkCapture::ForkCapture(boost::asio::io_context& io, Options options, Done done)
    : io_(io), options_(options), done_(std::move(done)), alive_(std::make_shared<bool>(true)) {
  stats_.last_bytes = options_.initial_state_bytes;
  reader_ = std::thread([this] { read_children(); });
}

ForkCapture::~ForkCapture() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    for (const Child& c : children_) ::kill(c.pid, SIGKILL);  // its pipe closes: the read ends
  }
  wake_.notify_all();
  reader_.join();
}

std::optional<bft::CapturedState> ForkCapture::capture(std::uint64_t id, bft::SeqNum seq,
                                                       const std::function<bft::Bytes()>& encode) {
  const std::uint64_t hint = options_.state_bytes_hint ? options_.state_bytes_hint() : 0;
  const std::uint64_t expected = std::max(stats_.last_bytes, hint);
  const bool small =
      options_.fork_min_bytes != 0 &&
      (expected < options_.fork_min_bytes ||
       static_cast<double>(expected) <= stats_.spot_bytes_per_ms * options_.stall_max_ms);
  if (small || fallback_next_ || running_ >= options_.children_max ||
      !fork_child(id, seq, expected, encode)) {
    fallback_next_ = false;
    return on_the_spot(encode);
  }
  return std::nullopt;
}

bft::CapturedState ForkCapture::on_the_spot(const std::function<bft::Bytes()>& encode) {
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_ms();
  bft::CapturedState result = bft::CapturedState::of(std::make_shared<const bft::Bytes>(encode()));
  const double cpu_ms = thread_cpu_ms() - cpu_started;
  ++stats_.on_the_spot;
  stats_.last_bytes = result.state->size();
  stats_.last_ms = ms_since(started);
  // The rate of this machine's CPU (not of the wall clock, which other processes stretch), from
  // captures large enough that fixed costs do not dominate.
  if (stats_.last_bytes >= kRateSampleMinBytes && cpu_ms > 0) {
    stats_.spot_bytes_per_ms =
        (stats_.spot_bytes_per_ms + static_cast<double>(stats_.last_bytes) / cpu_ms) / 2;
  }
  return result;
}

bool ForkCapture::fork_child(std::uint64_t id, bft::SeqNum seq, std::uint64_t expected_bytes,
                             const std::function<bft::Bytes()>& encode) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  const auto started = std::chrono::steady_clock::now();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], parent, options_.checkpoint_dir, seq, encode);
  }
  ::close(fds[1]);
  stats_.last_fork_ms = ms_since(started);
  ++running_;
  ++stats_.forked;
  {
    MutexLock lock(mutex_);
    const auto allowed =
        options_.child_time_base +
        std::chrono::milliseconds(expected_bytes /
                                  std::max<std::uint64_t>(1, options_.child_bytes_per_s / 1000));
    children_.push_back(Child{id, pid, fds[0], started, started + allowed});
  }
  wake_.notify_one();
  return true;
}

void ForkCapture::read_children() {
  MutexLock lock(mutex_);
  for (;;) {
    while (!stopping_ && children_.empty()) wake_.wait(lock);
    if (children_.empty()) return;  // stopping, nothing left to reap
    const Child child = children_.front();
    lock.unlock();
    std::optional<bft::CapturedState> result = collect(child);
    const double ms = ms_since(child.started);
    lock.lock();
    children_.pop_front();
    if (stopping_) continue;  // reap the others too; nobody takes results any more
    boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), id = child.id,
                            result = std::move(result), ms]() mutable {
      if (alive.lock()) finished(id, std::move(result), ms);
    });
  }
}

std::optional<bft::CapturedState> ForkCapture::collect(const Child& child) {
  std::optional<bft::CapturedState> result;
  std::array<std::uint8_t, kHeaderBytes> header{};
  if (read_all(child.fd, header.data(), header.size(), child.deadline)) {
    std::uint64_t size = 0;
    for (std::size_t i = 0; i < 8; ++i) size |= std::uint64_t{header[i]} << (8 * i);
    if (size <= options_.state_bytes_max) {
      std::vector<bft::Digest> leaves(bft::state_leaf_count(size));
      bft::Bytes state(size);
      std::uint8_t end = 0;
      // The leaves, exactly `size` bytes, then end of file.
      if (read_all(child.fd, reinterpret_cast<std::uint8_t*>(leaves.data()),
                   leaves.size() * sizeof(bft::Digest), child.deadline) &&
          read_all(child.fd, state.data(), state.size(), child.deadline) &&
          ::read(child.fd, &end, 1) == 0) {
        const bft::Digest digest = bft::state_root(size, leaves);
        result = bft::CapturedState{digest, std::move(leaves),
                                    std::make_shared<const bft::Bytes>(std::move(state))};
      }
    }
  }
  ::close(child.fd);
  if (!result) ::kill(child.pid, SIGKILL);
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result.reset();
  return result;
}

void ForkCapture::finished(std::uint64_t id, std::optional<bft::CapturedState> result, double ms) {
  --running_;
  stats_.last_ms = ms;
  if (result) {
    stats_.last_bytes = result->state->size();
  } else {
    ++stats_.failed;
    fallback_next_ = true;
  }
  done_(id, std::move(result));
}

}  // namespace bastion::server
