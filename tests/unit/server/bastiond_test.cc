// bastiond as a process: exit statuses and messages for bad configurations and unusable data
// directories, "serving" in its log when it is ready, metrics and status on its HTTP port, and a
// clean exit 0 on SIGTERM and SIGINT. Every wait is bounded; a process that overstays is killed.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/server/cluster_support.h"

extern char** environ;

namespace bastion::server {
namespace {

using namespace testing;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A bastiond child process with its stderr in a file.
class Daemon {
 public:
  Daemon(std::vector<std::string> args, std::filesystem::path log) : log_(std::move(log)) {
    args.insert(args.begin(), BASTIOND_PATH);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
  }
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Exit status, or nullopt if it is still running after `timeout` (it is then killed).
  std::optional<int> wait(std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  void signal(int sig) { ::kill(pid_, sig); }
  std::string log() const { return read_file(log_); }

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
};

class BastiondTest : public ::testing::Test {
 protected:
  // Runs bastiond to completion; returns its exit status.
  int run(std::vector<std::string> args) {
    Daemon d(std::move(args), log_path());
    const auto status = d.wait();
    output_ = d.log();
    EXPECT_TRUE(status.has_value()) << "bastiond did not exit:\n" << output_;
    return status.value_or(-1);
  }
  std::filesystem::path log_path() const { return dir_.root() / "bastiond.log"; }
  // A copy of the cluster file with `from` replaced by `to`, next to it (same relative paths).
  std::string variant(const std::string& name, const std::string& from, const std::string& to) {
    std::string text = read_file(dir_.file());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    const auto path = dir_.file().parent_path() / name;
    write_file(path, text);
    return path.string();
  }
  std::string port_line(std::uint32_t id) const {
    return "port = " + std::to_string(dir_.config().replicas[id].port) + "\n";
  }

  ClusterDir dir_;
  std::string output_;
};

TEST_F(BastiondTest, BadValueExitsWithTwoNamingFileAndKey) {
  const auto file = variant("bad.toml", port_line(0), "port = 70000\n");
  EXPECT_EQ(run({"--cluster", file, "--id", "0"}), 2);
  EXPECT_NE(output_.find("bad.toml: replicas[0].port: 70000"), std::string::npos) << output_;
}

TEST_F(BastiondTest, UnknownKeyExitsWithTwo) {
  const auto file = variant("typo.toml", "in_memory = false\n",
                            "in_memory = false\n\n[protocol]\nchekpoint_interval = 5\n");
  EXPECT_EQ(run({"--cluster", file, "--id", "0"}), 2);
  EXPECT_NE(output_.find("typo.toml: protocol.chekpoint_interval"), std::string::npos) << output_;
}

TEST_F(BastiondTest, MissingFileUnknownIdAndBadUsageExitWithTwo) {
  const auto missing = (dir_.root() / "nowhere.toml").string();
  EXPECT_EQ(run({"--cluster", missing, "--id", "0"}), 2);
  EXPECT_NE(output_.find("nowhere.toml"), std::string::npos) << output_;

  EXPECT_EQ(run({"--cluster", dir_.file().string(), "--id", "7"}), 2);
  EXPECT_NE(output_.find("cluster.toml: replicas: no replica with id 7"), std::string::npos)
      << output_;

  EXPECT_EQ(run({"--cluster", dir_.file().string()}), 2);
  EXPECT_EQ(run({"--cluster", dir_.file().string(), "--id", "0", "--log-level", "loud"}), 2);
}

// --byzantine is for measurements: refused unless the cluster file allows it (issue 9).
TEST_F(BastiondTest, ByzantineIsRefusedWithoutTheClusterFileSwitch) {
  EXPECT_EQ(run({"--cluster", dir_.file().string(), "--id", "0", "--byzantine", "slow-primary"}),
            2);
  EXPECT_NE(output_.find("--byzantine slow-primary needs [test] allow_byzantine = true"),
            std::string::npos)
      << output_;
  EXPECT_EQ(output_.find("serving"), std::string::npos) << output_;

  const auto off = variant("off.toml", "in_memory = false\n",
                           "in_memory = false\n\n[test]\nallow_byzantine = false\n");
  EXPECT_EQ(run({"--cluster", off, "--id", "0", "--byzantine", "view-change-flood"}), 2);
  EXPECT_NE(output_.find("allow_byzantine = true"), std::string::npos) << output_;

  const auto on = variant("on.toml", "in_memory = false\n",
                          "in_memory = false\n\n[test]\nallow_byzantine = true\n");
  EXPECT_EQ(run({"--cluster", on, "--id", "0", "--byzantine", "no-such-mode"}), 2);
  EXPECT_NE(output_.find("unknown mode 'no-such-mode'"), std::string::npos) << output_;
}

TEST_F(BastiondTest, ByzantineStartsWhenTheClusterFileAllowsIt) {
  const auto on = variant("on.toml", "in_memory = false\n",
                          "in_memory = false\n\n[test]\nallow_byzantine = true\n");
  Daemon d({"--cluster", on, "--id", "1", "--byzantine", "timestamp-push"}, log_path());
  ASSERT_TRUE(
      wait_until([&] { return d.log().find("replica 1 serving") != std::string::npos; }, 20s))
      << d.log();
  EXPECT_NE(d.log().find("TEST ONLY: this replica misbehaves on purpose (--byzantine "
                         "timestamp-push)"),
            std::string::npos)
      << d.log();
  d.signal(SIGTERM);
  const auto exit_status = d.wait(20s);
  ASSERT_TRUE(exit_status.has_value()) << d.log();
  EXPECT_EQ(*exit_status, 0) << d.log();
}

TEST_F(BastiondTest, UnusableDataDirectoryExitsWithOne) {
  write_file(dir_.file().parent_path() / "blocker", "not a directory\n");
  const auto file = variant("blocked.toml", "data_dir = \"data\"", "data_dir = \"blocker/data\"");
  EXPECT_EQ(run({"--cluster", file, "--id", "1"}), 1);
  EXPECT_NE(output_.find("data directory"), std::string::npos) << output_;
  EXPECT_NE(output_.find("blocker/data/replica-1"), std::string::npos) << output_;
}

std::string http_get(std::uint16_t port, const std::string& path) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(buf), ec);
    response.append(buf, n);
    if (ec) break;
  }
  return response;
}

TEST_F(BastiondTest, ServesThenStopsCleanlyOnSigterm) {
  Daemon d({"--cluster", dir_.file().string(), "--id", "2", "--log-level", "debug"}, log_path());
  const auto& r = dir_.config().replicas[2];
  const std::string serving = "replica 2 serving on 127.0.0.1:" + std::to_string(r.port);
  ASSERT_TRUE(wait_until([&] { return d.log().find(serving) != std::string::npos; }, 20s))
      << d.log();

  std::string status;
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          status = http_get(r.metrics_port, "/status");
        } catch (const std::exception&) {
          return false;
        }
        return status.find("\"replica\":2") != std::string::npos;
      },
      10s))
      << status;
  EXPECT_NE(http_get(r.metrics_port, "/metrics").find("bastion_view{replica=\"2\"} 0"),
            std::string::npos);
  // The execution-settings digest, in the log and on /status, the same value.
  const std::string logged = "execution settings digest ";
  const auto at = d.log().find(logged);
  ASSERT_NE(at, std::string::npos) << d.log();
  const std::string digest = d.log().substr(at + logged.size(), 64);
  EXPECT_NE(status.find("\"execution_settings_digest\":\"" + digest + "\""), std::string::npos)
      << status;
  // Private data: the replica's directory and files are its own.
  const auto data = dir_.config().data_dir / "replica-2";
  EXPECT_EQ(std::filesystem::status(data).permissions(), std::filesystem::perms::owner_all);
  for (const auto& e : std::filesystem::directory_iterator(data)) {
    EXPECT_EQ(e.status().permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << e.path();
  }

  d.signal(SIGTERM);
  const auto exit_status = d.wait(20s);
  const std::string log = d.log();
  ASSERT_TRUE(exit_status.has_value()) << log;
  EXPECT_EQ(*exit_status, 0) << log;
  EXPECT_NE(log.find("SIGTERM received"), std::string::npos) << log;
  EXPECT_NE(log.find("replica 2 stopped"), std::string::npos) << log;
  // Its data directory stays behind for the next start, and is no longer locked.
  EXPECT_TRUE(std::filesystem::exists(dir_.config().data_dir / "replica-2"));
}

TEST_F(BastiondTest, InMemoryReplicaStopsOnSigint) {
  Daemon d({"--cluster", dir_.file().string(), "--id", "0", "--in-memory"}, log_path());
  ASSERT_TRUE(wait_until([&] { return d.log().find("serving on") != std::string::npos; }, 20s))
      << d.log();
  d.signal(SIGINT);
  const auto exit_status = d.wait(20s);
  ASSERT_TRUE(exit_status.has_value()) << d.log();
  EXPECT_EQ(*exit_status, 0) << d.log();
  EXPECT_FALSE(std::filesystem::exists(dir_.config().data_dir / "replica-0"));
}

}  // namespace
}  // namespace bastion::server
