#include "tests/integration/cluster.h"

#include "tests/support/ports.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bastion::itest {
namespace {

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-itest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

}  // namespace

std::string bastiond_path() { return BASTION_BIN_DIR "/bastiond"; }
std::string bastion_path() { return BASTION_BIN_DIR "/bastion"; }

LocalCluster::LocalCluster(std::uint32_t clients)
    : dir_(make_temp_dir()), base_port_(testing::pick_base_port(kReplicas)) {
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

std::optional<double> LocalCluster::metric(std::uint32_t replica, const std::string& name,
                                           const std::string& label) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(base_port_ + 100 + replica));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string body;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string get = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, get.data(), get.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(get.size())) {
      char buf[8192];
      for (ssize_t got; (got = ::recv(fd, buf, sizeof buf, 0)) > 0;) body.append(buf, got);
    }
  }
  ::close(fd);
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const auto close = line.find("} ");
    if (close == std::string::npos || line.substr(0, close).find(label) == std::string::npos) {
      continue;
    }
    return std::stod(line.substr(close + 2));
  }
  return std::nullopt;
}

void LocalCluster::start(std::uint32_t replica) {
  ++starts_[replica];
  std::vector<std::string> argv = {bastiond_path(), "--cluster", cluster_file(), "--id",
                                   std::to_string(replica)};
  argv.insert(argv.end(), bastiond_args.begin(), bastiond_args.end());
  replicas_[replica] = Process::spawn(argv, log_path(replica));
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
