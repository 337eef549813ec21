#include "tests/integration/cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace bastion::itest {
namespace {

bool port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-itest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

}  // namespace

std::string bastiond_path() { return BASTION_BIN_DIR "/bastiond"; }
std::string bastion_path() { return BASTION_BIN_DIR "/bastion"; }

std::uint16_t pick_base_port(std::uint32_t replicas) {
  const auto pid = static_cast<std::uint32_t>(::getpid());
  for (std::uint32_t attempt = 0; attempt < 500; ++attempt) {
    const auto base = static_cast<std::uint16_t>(30000 + ((pid * 17 + attempt * 7919) % 2500) * 10);
    bool free = true;
    for (std::uint32_t i = 0; i < replicas && free; ++i) {
      free = port_free(static_cast<std::uint16_t>(base + i)) &&
             port_free(static_cast<std::uint16_t>(base + 100 + i));
    }
    if (free) return base;
  }
  throw std::runtime_error("no free loopback port range");
}

LocalCluster::LocalCluster(std::uint32_t clients)
    : dir_(make_temp_dir()), base_port_(pick_base_port(kReplicas)) {
  replicas_.resize(kReplicas);
  starts_.resize(kReplicas, 0);
  const auto r = run({bastion_path(), "cluster", "init", "--replicas", "4", "--base-port",
                      std::to_string(base_port_), "--clients", std::to_string(clients), "--out",
                      (dir_ / "cluster").string()},
                     std::chrono::milliseconds(60'000));
  if (r.exit_code != 0) {
    throw std::runtime_error("bastion cluster init failed (" + std::to_string(r.exit_code) +
                             "): " + r.err);
  }
}

LocalCluster::~LocalCluster() {
  for (auto& p : replicas_) p.stop(std::chrono::milliseconds(3000));
  if (std::getenv("BASTION_KEEP_TEST_DIRS") != nullptr) {
    std::cerr << "integration test directory kept: " << dir_ << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string LocalCluster::log_path(std::uint32_t replica) const {
  return (dir_ / ("replica-" + std::to_string(replica) + ".log")).string();
}

void LocalCluster::start(std::uint32_t replica) {
  ++starts_[replica];
  replicas_[replica] = Process::spawn(
      {bastiond_path(), "--cluster", cluster_file(), "--id", std::to_string(replica)},
      log_path(replica));
}

void LocalCluster::start_all() {
  for (std::uint32_t i = 0; i < kReplicas; ++i) start(i);
}

void LocalCluster::kill(std::uint32_t replica, int sig) {
  replicas_[replica].signal(sig);
  replicas_[replica].wait(std::chrono::milliseconds(10'000));
}

bool LocalCluster::running(std::uint32_t replica) { return replicas_[replica].running(); }

void LocalCluster::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::uint32_t i = 0; i < kReplicas; ++i) {
    if (!running(i)) continue;
    const std::string needle = "replica " + std::to_string(i) + " serving";
    // A restarted replica appends to its log: count the serving lines against the starts.
    auto serving_lines = [&] {
      const std::string log = read_file(log_path(i));
      int n = 0;
      for (auto pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1)) {
        ++n;
      }
      return n;
    };
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!eventually([&] { return serving_lines() >= starts_[i]; }, left)) {
      throw std::runtime_error("replica " + std::to_string(i) + " did not start serving:\n" +
                               read_file(log_path(i)));
    }
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (!eventually(
          [&] { return cli({"status"}, "", std::chrono::milliseconds(10'000)).exit_code == 0; },
          left)) {
    throw std::runtime_error("cluster did not answer status");
  }
}

std::vector<std::string> LocalCluster::cli_argv(const std::vector<std::string>& args,
                                                const std::string& identity_name) const {
  std::vector<std::string> argv = {bastion_path(), "--cluster", cluster_file()};
  if (!identity_name.empty()) {
    argv.push_back("--identity");
    argv.push_back(identity(identity_name));
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult LocalCluster::cli(const std::vector<std::string>& args,
                                const std::string& identity_name, std::chrono::milliseconds timeout,
                                const std::string& input) {
  return run(cli_argv(args, identity_name), timeout, input);
}

Process LocalCluster::cli_background(const std::vector<std::string>& args,
                                     const std::string& identity_name, const std::string& log) {
  return Process::spawn(cli_argv(args, identity_name), log);
}

}  // namespace bastion::itest
