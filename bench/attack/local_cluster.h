// A throw-away local cluster for bastion-attack: `bastion cluster init` in a temp directory
// (4 replicas on 127.0.0.1, ports below the ephemeral range, the cluster file's [test]
// allow_byzantine switched on and [tuplespace] bytes_per_client_max set to the quota asked for),
// one bastiond process per replica with its log beside it, and a sampler of the replicas'
// resident memory.
//
// Every process it started is stopped (SIGTERM, then SIGKILL) and reaped when it is destroyed;
// the directory is removed unless keep_dir is set.
//
// Thread-safety: the cluster's methods on one thread; the MemorySampler runs its own thread and
// is read after stop().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "codec/thread_annotations.h"
#include "tests/support/process.h"

namespace bastion::bench {

class LocalCluster {
 public:
  static constexpr std::uint32_t kReplicas = 4;

  // Writes the cluster with identities admin, client1 and client2. Throws std::runtime_error.
  LocalCluster(std::filesystem::path bin_dir, bool in_memory, std::uint64_t client_quota_bytes);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  std::string cluster_file() const { return (dir_ / "cluster" / "cluster.toml").string(); }
  std::string identity(const std::string& name) const {
    return (dir_ / "cluster" / "identities" / name).string();
  }
  const std::filesystem::path& dir() const { return dir_; }
  std::uint16_t port(std::uint32_t replica) const {
    return static_cast<std::uint16_t>(base_port_ + replica);
  }
  std::string log_path(std::uint32_t replica) const;
  pid_t pid(std::uint32_t replica) const { return replicas_[replica].pid(); }

  // Starts replica `replica` (extra bastiond arguments, e.g. {"--byzantine", "slow-primary"}) and
  // waits until its log says it serves. Throws if it exits or does not serve within 30 s.
  void start(std::uint32_t replica, const std::vector<std::string>& extra = {});
  // SIGTERM, then SIGKILL after 5 s.
  void stop(std::uint32_t replica);
  bool running(std::uint32_t replica);

  bool keep_dir = false;

 private:
  std::filesystem::path bin_dir_;
  std::filesystem::path dir_;
  std::uint16_t base_port_ = 0;
  bool in_memory_ = false;
  std::vector<testing::Process> replicas_;
  std::vector<int> starts_;
};

// Samples VmRSS of a set of processes every 100 ms while running; peak_mib() is the largest
// seen per process (0 for one never read).
class MemorySampler {
 public:
  explicit MemorySampler(std::vector<pid_t> pids);
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;
  void stop();
  std::vector<double> peak_mib();

 private:
  std::vector<pid_t> pids_;
  Mutex mutex_;
  std::vector<std::uint64_t> peak_kib_ BASTION_GUARDED_BY(mutex_);
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "VmRSS" or "VmHWM" of /proc/PID/status in KiB; 0 when unreadable.
std::uint64_t proc_status_kib(pid_t pid, const std::string& field);

}  // namespace bastion::bench
