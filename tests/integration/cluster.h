// A real Bastion cluster for the integration tests: `bastion cluster init` writes it into a temp
// directory, and each replica is a `bastiond` process on 127.0.0.1 with its log in that
// directory. The tests talk to it through the `bastion` tool and the client library, exactly as a
// user would.
//
// Ports: replica i listens on base + i and serves metrics on base + 100 + i, with the base derived
// from the pid, checked free and below the ephemeral range (tests/support/ports.h), so test
// processes that run at the same time do not collide and a restarted replica finds its ports.
// Every process is killed when the LocalCluster is destroyed; the directory is removed unless the
// environment variable BASTION_KEEP_TEST_DIRS is set (then its path is printed, for post-mortems).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"

namespace bastion::itest {

using testing::CommandResult;
using testing::milliseconds;
using testing::Process;
using testing::read_file;
using testing::run;

// Paths of the binaries under test (set by CMake).
std::string bastiond_path();
std::string bastion_path();

class LocalCluster {
 public:
  explicit LocalCluster(std::uint32_t clients = 3);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  static constexpr std::uint32_t kReplicas = 4;

  const std::filesystem::path& dir() const { return dir_; }
  std::string cluster_file() const { return (dir_ / "cluster" / "cluster.toml").string(); }
  std::string identity(const std::string& name) const {
    return (dir_ / "cluster" / "identities" / name).string();
  }
  std::uint16_t port(std::uint32_t replica) const {
    return static_cast<std::uint16_t>(base_port_ + replica);
  }
  std::string log_path(std::uint32_t replica) const;
  // The value of the series `name` in replica's /metrics that carries `label` (e.g.
  // `outcome="executed"`), or nullopt if there is none or the replica does not answer.
  std::optional<double> metric(std::uint32_t replica, const std::string& name,
                               const std::string& label) const;

  // Extra bastiond arguments for every replica started from now on.
  std::vector<std::string> bastiond_args;
  void start(std::uint32_t replica);
  void start_all();
  void kill(std::uint32_t replica, int sig);
  bool running(std::uint32_t replica);
  pid_t pid(std::uint32_t replica) const { return replicas_[replica].pid(); }
  // Waits until every running replica logged that it serves, then until a quorum answers status.
  void wait_ready(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

  // `bastion --cluster FILE [--identity DIR] ARGS...` to completion.
  CommandResult cli(const std::vector<std::string>& args, const std::string& identity_name = "",
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000),
                    const std::string& input = "");
  // The same, started in the background (output in `log`).
  Process cli_background(const std::vector<std::string>& args, const std::string& identity_name,
                         const std::string& log);

 private:
  std::vector<std::string> cli_argv(const std::vector<std::string>& args,
                                    const std::string& identity_name) const;

  std::filesystem::path dir_;
  std::uint16_t base_port_ = 0;
  std::vector<Process> replicas_;
  std::vector<int> starts_;
};

// A `bastion` command (a CommandResult) exits with `expected_code` and prints `expected_out`.
#define EXPECT_CMD(command, expected_code, expected_out)                                    \
  do {                                                                                      \
    const auto r_ = (command);                                                              \
    EXPECT_EQ(r_.exit_code, expected_code) << "stdout: " << r_.out << "stderr: " << r_.err; \
    EXPECT_EQ(r_.out, expected_out) << "stderr: " << r_.err;                                \
  } while (0)

// Polls `pred` every 50 ms until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace bastion::itest
