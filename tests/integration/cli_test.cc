// Every operation through the `bastion` tool against real replica processes: outputs and exit
// codes, blocking rd/in woken by another client's out, waits that time out, leases that expire,
// access lists, new identities, and bad input from the user.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "tests/integration/cluster.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(3);
    cluster_->start_all();
    cluster_->wait_ready();
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  // Runs a command as `who` (empty: the cluster's default identity, admin).
  static CommandResult run_as(const std::string& who, const std::vector<std::string>& args) {
    return cluster_->cli(args, who);
  }
  static CommandResult admin(const std::vector<std::string>& args) { return run_as("", args); }

  static std::unique_ptr<LocalCluster> cluster_;
};
std::unique_ptr<LocalCluster> CliTest::cluster_;

TEST_F(CliTest, SpacesAndBasicOperations) {
  EXPECT_CMD(admin({"space", "create", "basic"}), 0, "");
  EXPECT_EQ(admin({"space", "create", "basic"}).exit_code, 5);  // exists
  EXPECT_CMD(admin({"out", "basic", R"(("job", 1, 2.5, true, 0x00ff))"}), 0, "");
  EXPECT_CMD(admin({"out", "basic", R"(("job", 2))"}), 0, "");
  EXPECT_CMD(admin({"rdp", "basic", R"(("job", *, *, *, *))"}), 0,
             "(\"job\", 1, 2.5, true, 0x00ff)\n");
  EXPECT_CMD(admin({"rdall", "basic", R"(("job", ?int))"}), 0, "(\"job\", 2)\n");
  EXPECT_CMD(admin({"inp", "basic", R"(("job", ?int))"}), 0, "(\"job\", 2)\n");
  EXPECT_CMD(admin({"inp", "basic", R"(("job", ?int))"}), 1, "");
  EXPECT_CMD(admin({"rdp", "basic", R"(("nothing"))"}), 1, "");
  EXPECT_CMD(admin({"--json", "rdp", "basic", R"(("job", *, *, *, *))"}), 0,
             "[\"job\",1,2.5,true,{\"bytes\":\"00ff\"}]\n");
  const auto list = admin({"space", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("basic tuples=1"), std::string::npos) << list.out;
}

TEST_F(CliTest, CasReplaceRenewAllOperations) {
  ASSERT_EQ(admin({"space", "create", "ops"}).exit_code, 0);
  EXPECT_CMD(admin({"cas", "ops", R"(("lock", *))", R"(("lock", "a"))"}), 0, "");
  EXPECT_CMD(admin({"cas", "ops", R"(("lock", *))", R"(("lock", "b"))"}), 1, "(\"lock\", \"a\")\n");
  EXPECT_CMD(admin({"replace", "ops", R"(("lock", "a"))", R"(("lock", "c"))"}), 0,
             "(\"lock\", \"a\")\n");
  EXPECT_CMD(admin({"replace", "ops", R"(("lock", "a"))", R"(("lock", "d"))"}), 1, "");
  EXPECT_CMD(admin({"out", "ops", R"(("lease", 1))", "--lease", "30"}), 0, "");
  EXPECT_CMD(admin({"renew", "ops", R"(("lease", *))", "--lease", "60"}), 0, "(\"lease\", 1)\n");
  EXPECT_CMD(admin({"renew", "ops", R"(("lock", *))", "--lease", "60"}), 1, "");  // not timed
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(admin({"out", "ops", "(\"n\", " + std::to_string(i) + ")"}).exit_code, 0);
  }
  EXPECT_CMD(admin({"rdall", "ops", R"(("n", *))", "--max", "2"}), 0, "(\"n\", 0)\n(\"n\", 1)\n");
  EXPECT_CMD(admin({"inall", "ops", R"(("n", *))", "--max", "3"}), 0,
             "(\"n\", 0)\n(\"n\", 1)\n(\"n\", 2)\n");
  EXPECT_CMD(admin({"inall", "ops", R"(("n", *))"}), 0, "(\"n\", 3)\n(\"n\", 4)\n");
  EXPECT_CMD(admin({"inall", "ops", R"(("n", *))"}), 0, "");
}

TEST_F(CliTest, BlockingReadsAreWokenByAnotherClient) {
  ASSERT_EQ(admin({"space", "create", "wake"}).exit_code, 0);
  const std::string rd_log = (cluster_->dir() / "rd.out").string();
  const std::string in_log = (cluster_->dir() / "in.out").string();
  // Requests replica 0 executed: a waiting rd or in counts once it is registered.
  auto executed = [&] {
    return cluster_->metric(0, "bastion_requests_total", R"(outcome="executed")").value_or(0);
  };
  auto executed_at_least = [&](double n) {
    return eventually([&] { return executed() >= n; }, 20s);
  };
  const double before = executed();
  // The rd waits first, then the in; the out below must find both waiting, else the in could
  // take the tuple before the rd is registered and the rd would wait for ever.
  Process rd = cluster_->cli_background({"rd", "wake", R"(("task", ?int))"}, "client1", rd_log);
  ASSERT_TRUE(executed_at_least(before + 1));
  Process in = cluster_->cli_background({"in", "wake", R"(("task", ?int))"}, "client2", in_log);
  ASSERT_TRUE(executed_at_least(before + 2));
  EXPECT_FALSE(rd.wait(10ms).has_value());
  EXPECT_FALSE(in.wait(10ms).has_value());
  EXPECT_CMD(run_as("client3", {"out", "wake", R"(("task", 7))"}), 0, "");
  ASSERT_EQ(rd.wait(20s), std::optional<int>(0)) << read_file(rd_log);
  ASSERT_EQ(in.wait(20s), std::optional<int>(0)) << read_file(in_log);
  EXPECT_EQ(read_file(rd_log), "(\"task\", 7)\n");
  EXPECT_EQ(read_file(in_log), "(\"task\", 7)\n");
  // The waiting in took the tuple: it is gone.
  EXPECT_CMD(admin({"rdp", "wake", R"(("task", ?int))"}), 1, "");
}

TEST_F(CliTest, WaitsTimeOutAndLeasesExpire) {
  ASSERT_EQ(admin({"space", "create", "time"}).exit_code, 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_CMD(admin({"in", "time", R"(("never"))", "--wait", "0.5"}), 1, "");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 450ms);
  EXPECT_CMD(admin({"out", "time", R"(("short"))", "--lease", "0.3"}), 0, "");
  EXPECT_CMD(admin({"out", "time", R"(("long"))", "--lease", "60"}), 0, "");
  std::this_thread::sleep_for(1200ms);
  EXPECT_CMD(admin({"rdp", "time", R"(("short"))"}), 1, "");
  EXPECT_CMD(admin({"rdp", "time", R"(("long"))"}), 0, "(\"long\")\n");
}

TEST_F(CliTest, AccessListsAndAdministration) {
  ASSERT_EQ(admin({"space", "create", "acl"}).exit_code, 0);
  EXPECT_CMD(run_as("client1", {"out", "acl", R"(("secret", 1))", "--readers", "client1,client2",
                                "--removers", "client1"}),
             0, "");
  EXPECT_CMD(run_as("client2", {"rdp", "acl", R"(("secret", *))"}), 0, "(\"secret\", 1)\n");
  EXPECT_CMD(run_as("client3", {"rdp", "acl", R"(("secret", *))"}), 1, "");  // invisible
  const auto denied = run_as("client2", {"inp", "acl", R"(("secret", *))"});
  EXPECT_EQ(denied.exit_code, 3) << denied.err;
  EXPECT_NE(denied.err.find("denied"), std::string::npos) << denied.err;
  EXPECT_CMD(run_as("client1", {"inp", "acl", R"(("secret", *))"}), 0, "(\"secret\", 1)\n");
  const auto not_admin = run_as("client1", {"space", "create", "mine"});
  EXPECT_EQ(not_admin.exit_code, 3) << not_admin.err;
}

TEST_F(CliTest, IdentityAddIssuesAClientTheClusterAccepts) {
  const auto added = admin({"identity", "add", "dana"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, cluster_->identity("dana") + "\n");
  ASSERT_EQ(admin({"space", "create", "dana-space"}).exit_code, 0);
  EXPECT_CMD(run_as("dana", {"out", "dana-space", R"(("hello", "dana"))"}), 0, "");
  EXPECT_CMD(run_as("dana", {"rdp", "dana-space", R"(("hello", *))"}), 0,
             "(\"hello\", \"dana\")\n");
  const auto again = admin({"identity", "add", "dana"});
  EXPECT_EQ(again.exit_code, 5) << again.err;
  EXPECT_NE(again.err.find("dana"), std::string::npos) << again.err;
  EXPECT_EQ(admin({"identity", "add", "replica-1"}).exit_code, 2);
  EXPECT_EQ(admin({"identity", "add", "two words"}).exit_code, 2);
}

TEST_F(CliTest, BadInputGetsClearErrors) {
  ASSERT_EQ(admin({"space", "create", "bad", "--max-tuple-bytes", "100"}).exit_code, 0);
  const auto syntax = admin({"out", "bad", R"(("unterminated)"});
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_NE(syntax.err.find("column"), std::string::npos) << syntax.err;
  const auto nospace = admin({"rdp", "nosuchspace", "(*)"});
  EXPECT_EQ(nospace.exit_code, 5);
  EXPECT_NE(nospace.err.find("no such space"), std::string::npos) << nospace.err;
  const auto big = admin({"out", "bad", "(\"" + std::string(200, 'x') + "\")"});
  EXPECT_EQ(big.exit_code, 5);
  EXPECT_NE(big.err.find("too large"), std::string::npos) << big.err;
  const auto who =
      cluster_->cli({"--identity", (cluster_->dir() / "nobody").string(), "space", "list"});
  EXPECT_EQ(who.exit_code, 2) << who.err;
  const auto usage = admin({"frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  // Each error is one line on stderr.
  EXPECT_EQ(std::count(syntax.err.begin(), syntax.err.end(), '\n'), 1) << syntax.err;
}

TEST_F(CliTest, StatusAndShell) {
  const auto status = admin({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(status.out.find("127.0.0.1:" + std::to_string(cluster_->port(i))), std::string::npos)
        << status.out;
  }
  ASSERT_EQ(admin({"space", "create", "sh"}).exit_code, 0);
  const auto shell = cluster_->cli({"shell"}, "", 30s, "out sh (\"a\", 1)\nrdall sh (*, *)\n");
  EXPECT_EQ(shell.exit_code, 0) << shell.err;
  EXPECT_EQ(shell.out, "(\"a\", 1)\n") << shell.err;
}

}  // namespace
}  // namespace bastion::itest
