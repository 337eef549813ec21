// The `bastion` tool and shell end to end against a real in-process cluster: the same code as the
// binary (run() with the real client factory), only the streams are strings.
#include <gtest/gtest.h>

#include <sstream>

#include "client/cli/cli.h"
#include "client/cli/shell.h"
#include "tests/unit/client/live_cluster.h"

namespace bastion::cli {
namespace {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class CliClusterTest : public ::testing::Test {
 protected:
  Outcome bastion(std::vector<std::string> args) {
    args.insert(args.begin(), {"--cluster", cluster_.file().string(), "--timeout", "5"});
    Services services;
    services.connect = client_factory();
    std::ostringstream out;
    std::ostringstream err;
    Outcome o;
    o.code = run(args, services, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  testing::LiveCluster cluster_;
};

TEST_F(CliClusterTest, CommandsAndExitCodes) {
  Outcome o = bastion({"space", "create", "jobs"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(bastion({"out", "jobs", "(\"job\", 42)"}).code, kExitOk);
  o = bastion({"rdp", "jobs", "(\"job\", *)"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "(\"job\", 42)\n");
  o = bastion({"--json", "rdall", "jobs", "(*, *)"});
  EXPECT_EQ(o.out, "[\"job\",42]\n") << o.code << " " << o.err;
  o = bastion({"cas", "jobs", "(\"job\", *)", "(\"job\", 1)"});
  EXPECT_EQ(o.code, kExitNoMatch);
  EXPECT_EQ(o.out, "(\"job\", 42)\n");
  o = bastion({"in", "jobs", "(\"job\", *)", "--wait", "0.2"});
  EXPECT_EQ(o.code, kExitOk);
  o = bastion({"in", "jobs", "(\"job\", *)", "--wait", "0.2"});
  EXPECT_EQ(o.code, kExitNoMatch) << o.err;  // the wait ran out
  EXPECT_EQ(o.out, "");
  o = bastion({"--identity", "client1", "space", "delete", "jobs"});
  EXPECT_EQ(o.code, kExitDenied);
  EXPECT_EQ(o.err.rfind("bastion: denied: ", 0), 0u) << o.err;
  o = bastion({"rdp", "nope", "(*)"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err.rfind("bastion: no such space: ", 0), 0u) << o.err;
  o = bastion({"--timeout", "3", "status"});
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 5) << o.out;
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out.find(" no "), std::string::npos) << o.out;

  cluster_.stop(0);
  cluster_.stop(1);
  o = bastion({"--timeout", "0.5", "out", "jobs", "(1)"});
  EXPECT_EQ(o.code, kExitUnavailable);
  EXPECT_EQ(o.err.rfind("bastion: unavailable: ", 0), 0u) << o.err;
  o = bastion({"--timeout", "0.5", "status"});
  EXPECT_EQ(o.code, kExitUnavailable);
}

TEST_F(CliClusterTest, ShellKeepsOneConnection) {
  GlobalOptions g;
  g.cluster_file = cluster_.file().string();
  Shell shell(g, client_factory());
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(shell.line("space create s", out, err), kExitOk) << err.str();
  EXPECT_EQ(shell.line("out s (\"a b\", 1) --lease 60", out, err), kExitOk) << err.str();
  EXPECT_EQ(shell.line("rdp s (\"a b\", ?int)", out, err), kExitOk) << err.str();
  EXPECT_EQ(shell.line("inp s (\"zzz\")", out, err), kExitNoMatch);
  EXPECT_EQ(out.str(), "(\"a b\", 1)\n");
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace bastion::cli
