// A throw-away local cluster for bastion-attack; see local_cluster.h.
#include "bench/attack/local_cluster.h"

#include <stdlib.h>

#include <fstream>
#include <iostream>
#include <stdexcept>

#include "tests/support/ports.h"

namespace bastion::bench {
namespace {

using namespace std::chrono_literals;

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-attack-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

LocalCluster::LocalCluster(std::filesystem::path bin_dir, bool in_memory,
                           std::uint64_t client_quota_bytes)
    : bin_dir_(std::move(bin_dir)),
      dir_(make_temp_dir()),
      base_port_(testing::pick_base_port(kReplicas)),
      in_memory_(in_memory),
      replicas_(kReplicas),
      starts_(kReplicas, 0) {
  const testing::CommandResult init = testing::run(
      {(bin_dir_ / "bastion").string(), "cluster", "init", "--replicas", "4", "--base-port",
       std::to_string(base_port_), "--clients", "2", "--out", (dir_ / "cluster").string()},
      60s);
  if (init.exit_code != 0) {
    throw std::runtime_error("bastion cluster init failed: " + init.out + init.err);
  }
  std::ofstream toml(cluster_file(), std::ios::app);
  toml << "\n[test]\nallow_byzantine = true\n\n[tuplespace]\nbytes_per_client_max = "
       << client_quota_bytes << "\n";
  if (!toml) throw std::runtime_error("cannot append [test] to " + cluster_file());
}

LocalCluster::~LocalCluster() {
  for (std::uint32_t i = 0; i < kReplicas; ++i) stop(i);
  if (keep_dir) {
    std::cerr << "bastion-attack: cluster directory kept: " << dir_ << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string LocalCluster::log_path(std::uint32_t replica) const {
  return (dir_ / ("replica-" + std::to_string(replica) + ".log")).string();
}

void LocalCluster::start(std::uint32_t replica, const std::vector<std::string>& extra) {
  stop(replica);
  std::vector<std::string> argv = {(bin_dir_ / "bastiond").string(), "--cluster", cluster_file(),
                                   "--id", std::to_string(replica)};
  if (in_memory_) argv.push_back("--in-memory");
  argv.insert(argv.end(), extra.begin(), extra.end());
  replicas_[replica] = testing::Process::spawn(argv, log_path(replica));
  ++starts_[replica];
  const std::string needle = "replica " + std::to_string(replica) + " serving";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (count(testing::read_file(log_path(replica)), needle) <
         static_cast<std::size_t>(starts_[replica])) {
    if (!running(replica) || std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("replica " + std::to_string(replica) +
                               " did not start serving; its log:\n" +
                               testing::read_file(log_path(replica)));
    }
    std::this_thread::sleep_for(20ms);
  }
}

void LocalCluster::stop(std::uint32_t replica) {
  if (replicas_[replica].running()) replicas_[replica].stop(5s);
}

bool LocalCluster::running(std::uint32_t replica) { return replicas_[replica].running(); }

std::uint64_t proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

MemorySampler::MemorySampler(std::vector<pid_t> pids)
    : pids_(std::move(pids)), peak_kib_(pids_.size(), 0) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      for (std::size_t i = 0; i < pids_.size(); ++i) {
        const std::uint64_t kib = pids_[i] > 0 ? proc_status_kib(pids_[i], "VmRSS") : 0;
        MutexLock lock(mutex_);
        peak_kib_[i] = std::max(peak_kib_[i], kib);
      }
      std::this_thread::sleep_for(100ms);
    }
  });
}

MemorySampler::~MemorySampler() { stop(); }

void MemorySampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::vector<double> MemorySampler::peak_mib() {
  MutexLock lock(mutex_);
  std::vector<double> out;
  for (const std::uint64_t kib : peak_kib_) out.push_back(static_cast<double>(kib) / 1024.0);
  return out;
}

}  // namespace bastion::bench
