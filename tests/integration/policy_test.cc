// Policies and access lists through the `bastion` tool against real replica processes: every rule
// of the ReD policy allowed and denied, installing, showing and replacing scripts, space access
// lists with groups from the cluster file, failing scripts that deny while the replicas keep
// serving.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "tests/integration/cluster.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;

std::string source_path(const std::string& path) {
  return std::string(BASTION_SOURCE_DIR) + "/" + path;
}

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(3);
    std::ofstream(cluster_->cluster_file(), std::ios::app)
        << "\n[groups]\nops = [\"client1\"]\n\n[policy]\ninstructions_max = 50000\n";
    cluster_->start_all();
    cluster_->wait_ready();
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  static CommandResult as(const std::string& who, const std::vector<std::string>& args) {
    return cluster_->cli(args, who);
  }
  static CommandResult admin(const std::vector<std::string>& args) { return as("", args); }

  // A file in the test's directory holding `text`.
  static std::string file_with(const std::string& name, const std::string& text) {
    const std::string path = (cluster_->dir() / name).string();
    std::ofstream(path) << text;
    return path;
  }

  static std::unique_ptr<LocalCluster> cluster_;
};
std::unique_ptr<LocalCluster> PolicyTest::cluster_;

// The exit code is `code` and stderr contains `text`.
#define EXPECT_FAILS(command, code, text)                                          \
  do {                                                                             \
    const auto r_ = (command);                                                     \
    EXPECT_EQ(r_.exit_code, code) << "stdout: " << r_.out << "stderr: " << r_.err; \
    EXPECT_NE(r_.err.find(text), std::string::npos) << "stderr: " << r_.err;       \
  } while (0)
#define EXPECT_OK(command)                                                      \
  do {                                                                          \
    const auto r_ = (command);                                                  \
    EXPECT_EQ(r_.exit_code, 0) << "stdout: " << r_.out << "stderr: " << r_.err; \
  } while (0)

std::string replica(const std::string& id, const std::string& state) {
  return "(\"REPLICA\", \"" + id + "\", \"" + state + "\")";
}

TEST_F(PolicyTest, EveryRuleOfTheRedPolicyThroughTheService) {
  ASSERT_EQ(admin({"space", "create", "red", "--policy", source_path("examples/policies/red.lua")})
                .exit_code,
            0);
  const std::vector<std::string> lease = {"--lease", "30"};
  auto out = [&](const std::string& who, const std::string& tuple) {
    std::vector<std::string> args = {"out", "red", tuple};
    args.insert(args.end(), lease.begin(), lease.end());
    return as(who, args);
  };
  const std::string writer_any = R"(("REPLICA", *, "WRITER"))";
  auto cas = [&](const std::string& who, const std::string& id) {
    return as(who, {"cas", "red", writer_any, replica(id, "WRITER"), "--lease", "30"});
  };

  // out STOPPED: only by C.
  EXPECT_FAILS(out("client2", replica("client1", "STOPPED")), 3,
               "denied by the policy of space 'red': only client1 may announce client1");
  EXPECT_FAILS(as("client1", {"out", "red", replica("client1", "STOPPED")}), 3,
               "every tuple of this space needs a lease");
  EXPECT_OK(out("client1", replica("client1", "STOPPED")));
  // out COPIER: needs STOPPED, and the writer or C itself with no writer.
  EXPECT_FAILS(out("client2", replica("client2", "COPIER")), 3, "client2 is not STOPPED");
  EXPECT_FAILS(out("client2", replica("client1", "COPIER")), 3, "only the writer");
  EXPECT_OK(out("client1", replica("client1", "COPIER")));
  // in STOPPED: needs COPIER.
  EXPECT_OK(as("client1", {"inp", "red", replica("client1", "STOPPED")}));
  // cas WRITER: only by C, only as a COPIER.
  EXPECT_FAILS(cas("client2", "client1"), 3, "cas inserts only");
  EXPECT_FAILS(cas("client2", "client2"), 3, "client2 is not a COPIER");
  EXPECT_OK(cas("client1", "client1"));
  // in COPIER: needs WRITER, only by C.
  EXPECT_FAILS(as("client2", {"inp", "red", replica("client1", "COPIER")}), 3,
               "only client1 removes its COPIER tuple");
  EXPECT_OK(as("client1", {"inp", "red", replica("client1", "COPIER")}));

  // A second replica boots: the writer admits it; it cannot promote itself.
  EXPECT_OK(out("client2", replica("client2", "STOPPED")));
  EXPECT_FAILS(out("client2", replica("client2", "COPIER")), 3, "only the writer");
  EXPECT_OK(out("client1", replica("client2", "COPIER")));
  EXPECT_FAILS(as("client3", {"inp", "red", replica("client2", "STOPPED")}), 3,
               "only client2 or the writer");
  EXPECT_OK(as("client1", {"inp", "red", replica("client2", "STOPPED")}));
  // With a valid WRITER tuple, cas finds it: exit 1 and the writer's tuple.
  const auto lost = cas("client2", "client2");
  EXPECT_EQ(lost.exit_code, 1) << lost.err;
  EXPECT_EQ(lost.out, replica("client1", "WRITER") + "\n");

  // renew: only by C.
  EXPECT_FAILS(as("client2", {"renew", "red", R"(("REPLICA", "client1", *))", "--lease", "30"}), 3,
               "only client1 renews its tuples");
  EXPECT_OK(as("client1", {"renew", "red", R"(("REPLICA", "client1", *))", "--lease", "30"}));
  // Reads by everyone; everything else denied.
  const auto all = as("client3", {"rdall", "red", R"(("REPLICA", *, *))"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, replica("client1", "WRITER") + "\n" + replica("client2", "COPIER") + "\n");
  EXPECT_OK(as("client3", {"rdp", "red", writer_any}));
  EXPECT_FAILS(as("client1", {"inall", "red", R"(("REPLICA", *, *))"}), 3,
               "inAll is not allowed in this space");
  EXPECT_FAILS(as("client1", {"inp", "red", replica("client1", "WRITER")}), 3,
               "a WRITER tuple is never removed");
  EXPECT_FAILS(as("client1", {"replace", "red", replica("client1", "WRITER"),
                              replica("client1", "WRITER"), "--lease", "30"}),
               3, "replace is not allowed");
}

TEST_F(PolicyTest, ScriptsAreInstalledShownReplacedAndRemoved) {
  const std::string closed = file_with("closed.lua",
                                       "function decide(req)\n"
                                       "  return false, 'closed for ' .. req.invoker\n"
                                       "end\n");
  ASSERT_EQ(admin({"space", "create", "shop", "--policy", closed}).exit_code, 0);
  const auto shown = as("client1", {"space", "show", "shop"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("return false, 'closed for ' .. req.invoker"), std::string::npos)
      << shown.out;
  EXPECT_FAILS(as("client1", {"out", "shop", "(1)"}), 3, "closed for client1");
  // A script that does not compile changes nothing, and says why.
  const std::string broken = file_with("broken.lua",
                                       "function decide(req)\n  if true then\n"
                                       "  return true\nend\n");
  EXPECT_FAILS(admin({"space", "set-policy", "shop", broken}), 5,
               "the policy does not compile: policy:5: 'end' expected");
  EXPECT_FAILS(as("client1", {"out", "shop", "(1)"}), 3, "closed for client1");
  // Only admins manage policies.
  EXPECT_FAILS(as("client1", {"space", "set-policy", "shop", "--none"}), 3, "reserved to admins");
  // Replaced, then removed: each takes effect for the next operation.
  const std::string open = file_with("open.lua", "function decide(req) return true end\n");
  EXPECT_OK(admin({"space", "set-policy", "shop", open}));
  EXPECT_OK(as("client1", {"out", "shop", "(1)"}));
  EXPECT_OK(admin({"space", "set-policy", "shop", "--none"}));
  const auto after = as("client1", {"space", "show", "shop"});
  EXPECT_NE(after.out.find("policy=none"), std::string::npos) << after.out;
}

TEST_F(PolicyTest, SpaceAccessListsWithGroups) {
  ASSERT_EQ(
      admin({"space", "create", "team", "--inserters", "@ops", "--removers", "client3"}).exit_code,
      0);
  EXPECT_OK(as("client1", {"out", "team", "(\"task\", 1)"}));  // client1 is in ops
  EXPECT_FAILS(as("client2", {"out", "team", "(\"task\", 2)"}), 3,
               "client 'client2' may not insert into space 'team' (its inserters: @ops)");
  EXPECT_FAILS(as("client1", {"inp", "team", "(\"task\", *)"}), 3, "may not remove from");
  EXPECT_OK(as("client3", {"inp", "team", "(\"task\", *)"}));
  EXPECT_FAILS(admin({"space", "set-access", "team", "--readers", "@nobody"}), 5,
               "names no group of the cluster file");
  EXPECT_OK(admin({"space", "set-access", "team", "--inserters", "*"}));
  EXPECT_OK(as("client2", {"out", "team", "(\"task\", 2)"}));
}

TEST_F(PolicyTest, AFailingScriptDeniesAndTheReplicasKeepServing) {
  const std::string spin = file_with("spin.lua",
                                     "function decide(req)\n"
                                     "  if req.op == 'out' then while true do end end\n"
                                     "  local s = 'x' while true do s = s .. s end\n"
                                     "end\n");
  ASSERT_EQ(admin({"space", "create", "spin", "--policy", spin}).exit_code, 0);
  ASSERT_EQ(admin({"space", "create", "calm"}).exit_code, 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FAILS(as("client1", {"out", "spin", "(1)"}), 3,
                 "the policy of space 'spin' failed, so it denies: exceeded its budget of 50000 "
                 "instructions");
    EXPECT_FAILS(as("client1", {"rdp", "spin", "(*)"}), 3, "exceeded its memory budget");
    EXPECT_OK(as("client2", {"out", "calm", "(" + std::to_string(i) + ")"}));
  }
  EXPECT_EQ(as("client2", {"rdall", "calm", "(*)"}).out, "(0)\n(1)\n(2)\n(3)\n(4)\n");
  // Every replica counted the failures.
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    EXPECT_TRUE(eventually(
        [&] {
          const auto failed =
              cluster_->metric(r, "bastion_policy_decisions_total", "result=\"fail\"");
          return failed && *failed >= 5;
        },
        10s))
        << "replica " << r;
  }
}

}  // namespace
}  // namespace bastion::itest
