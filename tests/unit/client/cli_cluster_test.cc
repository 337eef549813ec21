// The `bastion` tool and shell end to end against a real in-process cluster: the same code as the
// binary (run() with the real client factory), only the streams are strings.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "client/cli/cli.h"
#include "client/cli/shell.h"
#include "tests/unit/client/live_cluster.h"
#include "tests/unit/config/temp_dir.h"

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

TEST_F(CliClusterTest, SpacePoliciesAndAccessLists) {
  bastion::testing::TempDir dir;
  const std::string script =
      "function decide(req)\n"
      "  if req.invoker == \"client2\" then return deny(\"not client2\") end\n"
      "  return allow()\n"
      "end\n";
  const std::string red = (dir.path() / "red.lua").string();
  std::ofstream(red) << script;
  Outcome o = bastion({"space", "create", "red", "--policy", red, "--removers", "@admins"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  o = bastion({"space", "show", "red"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "red tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=no "
            "policy=yes\n"
            "inserters=* readers=* removers=@admins\n"
            "policy=" +
                std::to_string(script.size()) + " bytes\n" + script);
  o = bastion({"space", "list"});
  EXPECT_EQ(o.out,
            "red tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=yes\n");
  o = bastion({"--identity", "client2", "out", "red", "(1)"});
  EXPECT_EQ(o.code, kExitDenied);
  EXPECT_NE(o.err.find("not client2"), std::string::npos) << o.err;

  EXPECT_EQ(bastion({"space", "set-policy", "red", "--none"}).code, kExitOk);
  o = bastion({"space", "set-access", "red", "--inserters", "client1,@admins"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  o = bastion({"--json", "space", "show", "red"});
  EXPECT_NE(o.out.find("\"policy\":null,\"inserters\":[\"@admins\",\"client1\"],\"readers\":[],"
                       "\"removers\":[\"@admins\"]}"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(bastion({"--identity", "client2", "out", "red", "(1)"}).code, kExitDenied);
  EXPECT_EQ(bastion({"--identity", "client1", "out", "red", "(1)"}).code, kExitOk);

  std::ofstream(red) << "function decide(req) return";
  o = bastion({"space", "set-policy", "red", red});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err.rfind("bastion: invalid argument: ", 0), 0u) << o.err;
}

TEST_F(CliClusterTest, ConfidentialSpaces) {
  Outcome o = bastion({"space", "create", "vault", "--confidential", "--protect", "pu,co,pr"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  o = bastion({"space", "list"});
  EXPECT_NE(o.out.find("vault tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=yes "
                       "protect=pu,co,pr policy=no"),
            std::string::npos)
      << o.out;
  ASSERT_EQ(bastion({"--identity", "client1", "out", "vault", R"(("pay", "alice", 1200))"}).code,
            kExitOk);
  o = bastion({"--identity", "client2", "rdp", "vault", R"(("pay", "alice", *))"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "(\"pay\", \"alice\", 1200)\n");
  // The private field matches only *; per call, every field private.
  o = bastion({"rdp", "vault", R"(("pay", "alice", 1200))"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err.rfind("bastion: invalid argument: ", 0), 0u) << o.err;
  ASSERT_EQ(bastion({"out", "vault", R"(("x", "y"))", "--protect", "pr"}).code, kExitOk);
  o = bastion({"inall", "vault", "(*, *)", "--protect", "pr"});
  EXPECT_EQ(o.out, "(\"x\", \"y\")\n") << o.err;
  o = bastion({"cas", "vault", R"(("pay", "alice", *))", R"(("pay", "alice", 1))"});
  EXPECT_EQ(o.code, kExitNoMatch);
  EXPECT_EQ(o.out, "(\"pay\", \"alice\", 1200)\n");
  // A space's own key, for some identities.
  o = bastion({"space", "key", "inner", "--identities", "admin,client1"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("identities/client1/space-keys/inner.key\n"), std::string::npos) << o.out;
  ASSERT_EQ(bastion({"space", "create", "inner", "--confidential"}).code, kExitOk);
  EXPECT_EQ(bastion({"--identity", "client1", "out", "inner", "(1)"}).code, kExitOk);
  o = bastion({"--identity", "client2", "rdp", "inner", "(*)"});
  EXPECT_EQ(o.code, kExitUsage) << o.err;
  EXPECT_EQ(bastion({"space", "key", "inner", "--identities", "nobody"}).code, kExitUsage);
  // --protect is for confidential spaces.
  EXPECT_EQ(bastion({"space", "create", "open", "--protect", "pu"}).code, kExitUsage);
  EXPECT_EQ(bastion({"rdp", "vault", "(*)", "--protect", "xx"}).code, kExitUsage);
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
