// The `bastion` tool against a fake backend: what each command line asks the service, what it
// prints (text and JSON), which exit code it returns, and that usage errors are one clear line
// with exit code 2 and never reach the service.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "client/cli/execute.h"
#include "client/cli/output.h"
#include "client/cli/parse.h"
#include "tests/unit/client/fake_backend.h"
#include "tests/unit/config/temp_dir.h"

namespace bastion::cli {
namespace {

using namespace testing;

ts::SpaceOptions with_access(std::vector<std::string> inserters, std::vector<std::string> readers,
                             std::vector<std::string> removers) {
  ts::SpaceOptions o;
  o.access = {std::move(inserters), std::move(readers), std::move(removers)};
  return o;
}

// ---- what each command asks ---------------------------------------------------------------

struct RequestCase {
  std::vector<std::string> args;
  ts::Request expected;
};

TEST(CliRequests, EachCommandBuildsItsRequest) {
  const std::vector<RequestCase> cases = {
      {{"space", "create", "jobs"}, ts::SpaceCreate{"jobs", {}}},
      {{"space", "create", "jobs", "--max-tuples", "10", "--max-tuple-bytes", "1000"},
       ts::SpaceCreate{"jobs",
                       [] {
                         ts::SpaceOptions o;
                         o.tuples_max = 10;
                         o.tuple_bytes_max = 1000;
                         return o;
                       }()}},
      {{"space", "create", "jobs", "--inserters", "alice,@ops", "--readers", "*", "--removers",
        "@admins"},
       ts::SpaceCreate{"jobs", with_access({"alice", "@ops"}, {}, {"@admins"})}},
      {{"space", "create", "jobs", "--readers", "bob.b,a-c_d", "--confidential"},
       ts::SpaceCreate{"jobs",
                       [] {
                         ts::SpaceOptions o = with_access({}, {"bob.b", "a-c_d"}, {});
                         o.confidential = true;
                         return o;
                       }()}},
      {{"space", "delete", "jobs"}, ts::SpaceDelete{"jobs"}},
      {{"space", "list"}, ts::SpaceList{}},
      {{"space", "show", "jobs"}, ts::SpaceShow{"jobs"}},
      {{"space", "set-policy", "jobs", "--none"}, ts::SpaceSetPolicy{"jobs", ""}},
      {{"space", "set-access", "jobs", "--inserters", "*"},
       ts::SpaceSetAccess{"jobs", ts::kAccessInserters, {}}},
      {{"space", "set-access", "jobs", "--readers", "alice,@ops", "--removers", "@ops"},
       ts::SpaceSetAccess{
           "jobs", ts::kAccessReaders | ts::kAccessRemovers, {{}, {"alice", "@ops"}, {"@ops"}}}},
      {{"space", "set-access", "jobs", "--removers", "*", "--inserters", "carol", "--readers", "*"},
       ts::SpaceSetAccess{"jobs",
                          ts::kAccessInserters | ts::kAccessReaders | ts::kAccessRemovers,
                          {{"carol"}, {}, {}}}},
      {{"out", "jobs", "(\"job\", 42)"}, ts::Out{"jobs", spec("(\"job\", 42)")}},
      {{"out", "jobs", "(1)", "--lease", "2.5", "--readers", "alice,bob", "--removers", "carol"},
       ts::Out{"jobs", spec("(1)", 2500, {"alice", "bob"}, {"carol"})}},
      {{"rdp", "jobs", "(\"job\", *)"}, ts::Rdp{"jobs", tmpl("(\"job\", *)")}},
      {{"inp", "jobs", "(?int)"}, ts::Inp{"jobs", tmpl("(?int)")}},
      {{"rd", "jobs", "(*)"}, ts::Rd{"jobs", tmpl("(*)"), 0}},
      {{"rd", "jobs", "(*)", "--wait", "0.5"}, ts::Rd{"jobs", tmpl("(*)"), 500}},
      {{"in", "jobs", "(*)", "--wait", "3"}, ts::In{"jobs", tmpl("(*)"), 3000}},
      {{"cas", "locks", "(\"lock\", *)", "(\"lock\", \"me\")", "--lease", "10"},
       ts::Cas{"locks", tmpl("(\"lock\", *)"), spec("(\"lock\", \"me\")", 10'000)}},
      {{"replace", "s", "(1, *)", "(1, 2)"}, ts::Replace{"s", tmpl("(1, *)"), spec("(1, 2)")}},
      {{"renew", "s", "(1)", "--lease", "0.25"}, ts::Renew{"s", tmpl("(1)"), 250}},
      {{"rdall", "s", "(*)"}, ts::RdAll{"s", tmpl("(*)"), 0}},
      {{"rdall", "s", "(*)", "--max", "5"}, ts::RdAll{"s", tmpl("(*)"), 5}},
      {{"inall", "s", "(*)", "--max", "2"}, ts::InAll{"s", tmpl("(*)"), 2}},
      // A space may be called like a command.
      {{"out", "status", "(1)"}, ts::Out{"status", spec("(1)")}},
      {{"rdp", "space", "(1)"}, ts::Rdp{"space", tmpl("(1)")}},
  };
  for (const RequestCase& c : cases) {
    Harness h;
    const RunResult r = h.run(c.args);
    SCOPED_TRACE(::testing::PrintToString(c.args));
    EXPECT_EQ(r.code, kExitOk) << r.err;
    ASSERT_EQ(h.fake.requests.size(), 1u);
    EXPECT_EQ(h.fake.requests[0], c.expected);
  }
}

TEST(CliRequests, GlobalOptionsAnywhereAndClusterFileResolution) {
  Harness h;
  h.env.bastion_cluster = "/env/cluster.toml";
  RunResult r = h.run({"rdp", "jobs", "(*)", "--json", "--timeout", "1.5"});
  EXPECT_EQ(r.code, kExitOk);
  ASSERT_EQ(h.connects.size(), 1u);
  EXPECT_EQ(h.connects[0].cluster_file, "/env/cluster.toml");
  EXPECT_TRUE(h.connects[0].json);
  EXPECT_EQ(h.connects[0].timeout, Millis(1500));
  EXPECT_EQ(h.fake.calls.at(0).timeout, Millis(1500));
  EXPECT_EQ(r.out, "{\"ok\":true}\n");  // the fake answers ack

  r = h.run({"--cluster", "/given.toml", "--identity", "client1", "space", "list"});
  EXPECT_EQ(h.connects.at(1).cluster_file, "/given.toml");
  EXPECT_EQ(h.connects.at(1).identity, "client1");
  EXPECT_FALSE(h.connects.at(1).timeout.has_value());

  Harness plain;
  (void)plain.run({"space", "list"});
  EXPECT_EQ(plain.connects.at(0).cluster_file, kDefaultClusterFile);
}

// ---- usage errors ---------------------------------------------------------------------------

struct UsageCase {
  std::vector<std::string> args;
  std::string message;  // a part of the one error line
};

TEST(CliUsage, ErrorsAreOneLineExitTwoAndNeverConnect) {
  const std::vector<UsageCase> cases = {
      {{}, "A subcommand is required"},
      {{"bogus"}, "unknown command 'bogus'"},
      {{"--json", "bogus", "x"}, "unknown command 'bogus'"},
      {{"space", "rename", "x"}, "unknown command 'rename'"},
      {{"rdp", "jobs"}, "TEMPLATE is required"},
      {{"rdp", "jobs", "(1"}, "syntax error in TEMPLATE at column 3: expected ',' or ')'"},
      {{"out", "jobs", "(1, *)"}, "syntax error in TUPLE at column 5: wildcard"},
      {{"out", "jobs", "(\"abc)"}, "syntax error in TUPLE at column 2: unterminated string"},
      {{"cas", "s", "(*)", "(1, ?int)"}, "syntax error in TUPLE at column 5"},
      {{"rd", "s", "(*)", "--wait", "0"}, "--wait: must be more than 0 seconds"},
      {{"rd", "s", "(*)", "--wait", "soon"}, "--wait: 'soon' is not a number of seconds"},
      {{"out", "s", "(1)", "--lease", "-1"}, "--lease"},
      {{"out", "s", "(1)", "--lease", "0"}, "--lease: must be more than 0 seconds"},
      {{"out", "s", "(1)", "--readers", "a,,b"}, "--readers: '' is not an identity name"},
      {{"renew", "s", "(1)"}, "--lease is required"},
      {{"rdall", "s", "(*)", "--max", "x"}, "--max"},
      {{"space", "create", "s", "--max-tuple-bytes", "0"}, "--max-tuple-bytes: must be 1.."},
      {{"space"}, "A subcommand is required"},
      {{"--timeout", "0", "space", "list"}, "--timeout: must be more than 0 seconds"},
      {{"rdp", "s", "(1)", "extra"}, "extra"},
      {{"space", "show"}, "SPACE is required"},
      {{"space", "set-policy", "s", "p.lua", "--none"},
       "space set-policy: give FILE or --none, not both"},
      {{"space", "set-policy", "s"}, "space set-policy: FILE or --none is required"},
      {{"space", "set-policy", "s", "a.lua", "b.lua"}, "b.lua"},
      {{"space", "set-access", "s"},
       "space set-access: give at least one of --inserters, --readers, --removers"},
      {{"space", "set-access", "s", "--inserters", "@"},
       "--inserters: '@' is not an identity name or @group"},
      {{"space", "set-access", "s", "--readers", "a b"},
       "--readers: 'a b' is not an identity name or @group"},
      {{"space", "set-access", "s", "--removers", "@a b"},
       "--removers: '@a b' is not an identity name or @group"},
      {{"space", "set-access", "s", "--readers", ""}, "--readers: '' is not"},
      {{"space", "set-access", "s", "--readers", "*,alice"}, "--readers: '*' is not"},
      {{"space", "set-access", "s", "--readers", "@@ops"}, "--readers: '@@ops' is not"},
      {{"space", "create", "s", "--inserters", "alice,"}, "--inserters: '' is not"},
      {{"space", "create", "s", "--policy"}, "--policy"},
      {{"space", "create", "s", "--confidential", "yes"}, "yes"},
      // Per-tuple lists take names only.
      {{"out", "s", "(1)", "--readers", "@ops"}, "--readers: '@ops' is not an identity name ("},
      {{"cas", "s", "(*)", "(1)", "--removers", "*"}, "--removers: '*' is not an identity name"},
      {{"cluster", "init"}, "--out is required"},
      {{"cluster", "init", "--out", "d", "--replicas", "5"}, "--replicas: 5 is not 3f+1"},
      {{"cluster", "init", "--out", "d", "--replicas", "7", "--f", "1"}, "needs --f 2"},
  };
  for (const UsageCase& c : cases) {
    Harness h;
    const RunResult r = h.run(c.args);
    SCOPED_TRACE(::testing::PrintToString(c.args));
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(r.err.rfind("bastion: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(h.connects.empty());
  }
}

TEST(CliUsage, HelpGoesToStdoutWithExitZero) {
  Harness h;
  RunResult r = h.run({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("Usage: bastion"), std::string::npos);
  EXPECT_NE(r.out.find("rdall"), std::string::npos);
  r = h.run({"rd", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("--wait"), std::string::npos);
  EXPECT_TRUE(h.connects.empty());
}

TEST(CliUsage, SecondsAndIds) {
  EXPECT_EQ(*parse_seconds("0", "--x"), Millis(0));
  EXPECT_EQ(*parse_seconds("2", "--x"), Millis(2000));
  EXPECT_EQ(*parse_seconds("0.5", "--x"), Millis(500));
  EXPECT_EQ(*parse_seconds("1.25", "--x"), Millis(1250));
  EXPECT_EQ(*parse_seconds("0.0001", "--x"), Millis(1));  // rounded up, never down to 0
  EXPECT_EQ(*parse_seconds("1.0005", "--x"), Millis(1001));
  EXPECT_EQ(*parse_seconds("1.000", "--x"), Millis(1000));
  EXPECT_EQ(*parse_seconds("1000000000", "--x"), Millis(1'000'000'000'000));
  for (const char* bad : {"", ".5", "5.", "-1", "+1", "1e3", "abc", "1.2.3", " 1", "1 ",
                          "1000000001", "99999999999999999999999"}) {
    EXPECT_FALSE(parse_seconds(bad, "--x").ok()) << bad;
  }
  EXPECT_EQ(*parse_ids("alice", "--r"), (std::vector<std::string>{"alice"}));
  EXPECT_EQ(*parse_ids("a,b.c,d-e_f", "--r"), (std::vector<std::string>{"a", "b.c", "d-e_f"}));
  for (const char* bad : {"", ",", "a,", ",a", "a b", "a;b", "@a", "*"}) {
    EXPECT_FALSE(parse_ids(bad, "--r").ok()) << bad;
  }
  EXPECT_EQ(*parse_ids("a,@ops", "--r", IdItems::kNamesAndGroups),
            (std::vector<std::string>{"a", "@ops"}));
  EXPECT_EQ(*parse_access_list("*", "--r"), (std::vector<std::string>{}));
  EXPECT_EQ(*parse_access_list("@ops,b,@x.y", "--r"),
            (std::vector<std::string>{"@ops", "b", "@x.y"}));
  const std::string long_name(64, 'n');
  EXPECT_TRUE(parse_access_list("@" + long_name, "--r").ok());
  EXPECT_FALSE(parse_access_list("@" + long_name + "n", "--r").ok());
  for (const char* bad : {"", "@", "@a b", "a b", "@@a", "a@b", "*,a", "a,*", "**", "@*", ","}) {
    EXPECT_FALSE(parse_access_list(bad, "--r").ok()) << bad;
  }
}

TEST(CliUsage, PolicyFilesAreNamedNotRead) {
  // parse_command_line reads no files: the path travels in the Command.
  Parsed parsed =
      parse_command_line({"space", "create", "red", "--policy", "/no/such.lua"}, Mode::kTool);
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  Command command = std::get<Invocation>(parsed).command;
  EXPECT_EQ(command.policy_file, "/no/such.lua");
  EXPECT_EQ(command.request, ts::Request(ts::SpaceCreate{"red", {}}));

  parsed = parse_command_line({"space", "set-policy", "red", "-"}, Mode::kShell);
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  command = std::get<Invocation>(parsed).command;
  EXPECT_EQ(command.policy_file, "-");  // a file named "-", not standard input
  EXPECT_EQ(command.request, ts::Request(ts::SpaceSetPolicy{"red", ""}));

  parsed = parse_command_line({"space", "set-policy", "red", "--none"}, Mode::kTool);
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  EXPECT_FALSE(std::get<Invocation>(parsed).command.policy_file.has_value());
  parsed = parse_command_line({"space", "create", "red"}, Mode::kTool);
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  EXPECT_FALSE(std::get<Invocation>(parsed).command.policy_file.has_value());
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

TEST(CliRun, PolicyFilesAreReadWhenTheCommandRuns) {
  bastion::testing::TempDir dir;
  const std::string script = "function on_out(ctx, t)\n  return true\nend\n";
  const std::string red = (dir.path() / "red.lua").string();
  write_file(red, script);

  Harness h;
  RunResult r = h.run({"space", "create", "red", "--policy", red, "--readers", "@ops"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(h.fake.requests.size(), 1u);
  ts::SpaceOptions expected = with_access({}, {"@ops"}, {});
  expected.policy = script;
  EXPECT_EQ(h.fake.requests[0], ts::Request(ts::SpaceCreate{"red", expected}));

  r = h.run({"--json", "space", "set-policy", "red", red});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{\"ok\":true}\n");
  ASSERT_EQ(h.fake.requests.size(), 2u);
  EXPECT_EQ(h.fake.requests[1], ts::Request(ts::SpaceSetPolicy{"red", script}));

  // Sent as it is: bytes, no trailing newline added, exactly at the limit.
  const std::string odd("x\0y\xff", 4);
  write_file(red, odd);
  r = h.run({"space", "set-policy", "red", red});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(h.fake.requests.back(), ts::Request(ts::SpaceSetPolicy{"red", odd}));
  const std::string largest(ts::kPolicyBytesMax, '-');
  write_file(red, largest);
  r = h.run({"space", "create", "red", "--policy", red});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(h.fake.requests.size(), 4u);
  EXPECT_EQ(std::get<ts::SpaceCreate>(h.fake.requests.back()).options.policy, largest);
}

struct PolicyFileCase {
  std::vector<std::string> args;
  std::string err;  // the whole error line
};

TEST(CliRun, UnusablePolicyFilesExitTwoWithoutConnecting) {
  bastion::testing::TempDir dir;
  const std::string missing = (dir.path() / "missing.lua").string();
  const std::string empty = (dir.path() / "empty.lua").string();
  const std::string big = (dir.path() / "big.lua").string();
  const std::string folder = dir.path().string();
  write_file(empty, "");
  write_file(big, std::string(ts::kPolicyBytesMax + 1, '-'));
  const std::string limit = std::to_string(ts::kPolicyBytesMax);
  const std::vector<PolicyFileCase> cases = {
      {{"space", "create", "red", "--policy", missing},
       "bastion: --policy: cannot read '" + missing + "': No such file or directory\n"},
      {{"space", "set-policy", "red", missing},
       "bastion: FILE: cannot read '" + missing + "': No such file or directory\n"},
      {{"space", "create", "red", "--policy", folder},
       "bastion: --policy: cannot read '" + folder + "': Is a directory\n"},
      {{"space", "create", "red", "--policy", big},
       "bastion: --policy: '" + big + "' is larger than a policy may be (" + limit + " bytes)\n"},
      {{"space", "set-policy", "red", big},
       "bastion: FILE: '" + big + "' is larger than a policy may be (" + limit + " bytes)\n"},
      {{"space", "set-policy", "red", empty},
       "bastion: FILE is empty (use --none to remove the policy)\n"},
      {{"space", "create", "red", "--policy", empty},
       "bastion: --policy: '" + empty +
           "' is empty (leave --policy out to create a space without a policy)\n"},
  };
  for (const PolicyFileCase& c : cases) {
    Harness h;
    const RunResult r = h.run(c.args);
    SCOPED_TRACE(::testing::PrintToString(c.args));
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(h.connects.empty());
    EXPECT_TRUE(h.fake.requests.empty());
  }
}

// ---- output and exit codes ------------------------------------------------------------------

struct OutputCase {
  std::vector<std::string> args;
  Expected<ts::Reply> reply;
  int code;
  std::string text;  // stdout without --json
  std::string json;  // stdout with --json
};

Expected<ts::Reply> error_reply(Errc code, std::string message) {
  return fail(Error{code, std::move(message)});
}

TEST(CliOutput, TextJsonAndExitCodePerReply) {
  const std::vector<OutputCase> cases = {
      {{"out", "s", "(1)"}, ts::Reply{ts::Ack{}}, kExitOk, "", "{\"ok\":true}\n"},
      {{"space", "create", "s"}, ts::Reply{ts::Ack{}}, kExitOk, "", "{\"ok\":true}\n"},
      {{"space", "set-policy", "s", "--none"},
       ts::Reply{ts::Ack{}},
       kExitOk,
       "",
       "{\"ok\":true}\n"},
      {{"space", "set-access", "s", "--readers", "*"},
       ts::Reply{ts::Ack{}},
       kExitOk,
       "",
       "{\"ok\":true}\n"},
      {{"rdp", "s", "(*)"},
       ts::Reply{ts::Found{tup("(\"job\", 42, 1.5, true, 0x00ff)")}},
       kExitOk,
       "(\"job\", 42, 1.5, true, 0x00ff)\n",
       "[\"job\",42,1.5,true,{\"bytes\":\"00ff\"}]\n"},
      {{"rdp", "s", "(*)"}, error_reply(Errc::kNotFound, "no tuple"), kExitNoMatch, "", "null\n"},
      {{"inp", "s", "(*)"}, error_reply(Errc::kNotFound, "no tuple"), kExitNoMatch, "", "null\n"},
      {{"rd", "s", "(*)", "--wait", "1"},
       error_reply(Errc::kTimedOut, "timed out"),
       kExitNoMatch,
       "",
       "null\n"},
      {{"in", "s", "(*)"}, ts::Reply{ts::Found{tup("(1)")}}, kExitOk, "(1)\n", "[1]\n"},
      {{"replace", "s", "(*)", "(2)"}, ts::Reply{ts::Found{tup("(1)")}}, kExitOk, "(1)\n", "[1]\n"},
      {{"replace", "s", "(*)", "(2)"},
       error_reply(Errc::kNotFound, "none"),
       kExitNoMatch,
       "",
       "null\n"},
      {{"renew", "s", "(*)", "--lease", "1"},
       ts::Reply{ts::Found{tup("(1)")}},
       kExitOk,
       "(1)\n",
       "[1]\n"},
      {{"cas", "s", "(*)", "(1)"},
       ts::Reply{ts::CasResult{true, {}}},
       kExitOk,
       "",
       "{\"inserted\":true}\n"},
      {{"cas", "s", "(*)", "(1)"},
       ts::Reply{ts::CasResult{false, tup("(\"held\", \"bob\")")}},
       kExitNoMatch,
       "(\"held\", \"bob\")\n",
       "{\"inserted\":false,\"existing\":[\"held\",\"bob\"]}\n"},
      {{"rdall", "s", "(*)"},
       ts::Reply{ts::FoundAll{{tup("(1)"), tup("(\"a\")")}}},
       kExitOk,
       "(1)\n(\"a\")\n",
       "[1]\n[\"a\"]\n"},
      {{"inall", "s", "(*)"}, ts::Reply{ts::FoundAll{}}, kExitOk, "", ""},
      {{"space", "list"},
       ts::Reply{ts::Spaces{{ts::SpaceInfo{"jobs", {}, 3}, ts::SpaceInfo{"odd name", {}, 0}}}},
       kExitOk,
       "jobs tuples=3 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=no\n"
       "\"odd name\" tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=no "
       "policy=no\n",
       "{\"name\":\"jobs\",\"tuples\":3,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":false,\"inserters\":[],\"readers\":[],\"removers\":[]}\n"
       "{\"name\":\"odd name\",\"tuples\":0,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":false,\"inserters\":[],\"readers\":[],\"removers\":[]}"
       "\n"},
      // space list: the replies leave scripts out, policy_bytes says whether there is one.
      {{"space", "list"},
       ts::Reply{
           ts::Spaces{{ts::SpaceInfo{"red", with_access({"@ops"}, {"alice", "bob"}, {}), 1, 120}}}},
       kExitOk,
       "red tuples=1 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=yes\n",
       "{\"name\":\"red\",\"tuples\":1,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":true,\"inserters\":[\"@ops\"],"
       "\"readers\":[\"alice\",\"bob\"],\"removers\":[]}\n"},
      // space show: the list line, the access lists, the policy.
      {{"space", "show", "jobs"},
       ts::Reply{ts::Spaces{{ts::SpaceInfo{"jobs", {}, 3, 0}}}},
       kExitOk,
       "jobs tuples=3 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=no\n"
       "inserters=* readers=* removers=*\n"
       "policy=none\n",
       "{\"name\":\"jobs\",\"tuples\":3,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":null,\"inserters\":[],\"readers\":[],"
       "\"removers\":[]}\n"},
      {{"space", "show", "red"},
       ts::Reply{
           ts::Spaces{
               {ts::SpaceInfo{
                   "red",
                   [] {
                     ts::SpaceOptions o = with_access({"@ops", "alice"}, {}, {"bob"});
                     o.tuples_max = 10;
                     o.policy = "-- red\nreturn {}\n";
                     return o;
                   }(),
                   0, 17}}}},
       kExitOk,
       "red tuples=0 max_tuples=10 max_tuple_bytes=65536 confidential=no policy=yes\n"
       "inserters=@ops,alice readers=* removers=bob\n"
       "policy=17 bytes\n"
       "-- red\nreturn {}\n",
       "{\"name\":\"red\",\"tuples\":0,\"max_tuples\":10,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":\"-- red\\nreturn {}\\n\","
       "\"inserters\":[\"@ops\",\"alice\"],\"readers\":[],\"removers\":[\"bob\"]}\n"},
      // A script without a final newline gets one in text, and only there.
      {{"space", "show", "red"},
       ts::Reply{
           ts::Spaces{
               {ts::SpaceInfo{
                   "red",
                   [] {
                     ts::SpaceOptions o;
                     o.policy = "return {}";
                     return o;
                   }(),
                   0, 9}}}},
       kExitOk,
       "red tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=yes\n"
       "inserters=* readers=* removers=*\n"
       "policy=9 bytes\n"
       "return {}\n",
       "{\"name\":\"red\",\"tuples\":0,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":\"return {}\",\"inserters\":[],\"readers\":[],"
       "\"removers\":[]}\n"},
      // Odd entries are quoted in text, like odd space names.
      {{"space", "show", "s"},
       ts::Reply{ts::Spaces{{ts::SpaceInfo{"s", with_access({"a b", "@"}, {}, {}), 0, 0}}}},
       kExitOk,
       "s tuples=0 max_tuples=1000000 max_tuple_bytes=65536 confidential=no policy=no\n"
       "inserters=\"a b\",\"@\" readers=* removers=*\n"
       "policy=none\n",
       "{\"name\":\"s\",\"tuples\":0,\"max_tuples\":1000000,\"max_tuple_bytes\":65536,"
       "\"max_fields\":64,\"max_tuples_per_client\":100000,\"max_waiters_per_client\":1024,"
       "\"confidential\":false,\"policy\":null,\"inserters\":[\"a b\",\"@\"],"
       "\"readers\":[],\"removers\":[]}\n"},
      // A show reply that is not exactly one consistent space is a protocol error.
      {{"space", "show", "s"}, ts::Reply{ts::Spaces{}}, kExitError, "", ""},
      {{"space", "show", "s"},
       ts::Reply{ts::Spaces{{ts::SpaceInfo{"s", {}, 0, 0}, ts::SpaceInfo{"t", {}, 0, 0}}}},
       kExitError,
       "",
       ""},
      {{"space", "show", "s"},
       ts::Reply{ts::Spaces{{ts::SpaceInfo{"s", {}, 0, 5}}}},
       kExitError,
       "",
       ""},
      // Errors: nothing on stdout, the exit code of their kind.
      {{"inp", "s", "(*)"}, error_reply(Errc::kDenied, "may not remove"), kExitDenied, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kUnavailable, "no quorum"), kExitUnavailable, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kNoSuchSpace, "no space"), kExitError, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kQuotaExceeded, "full"), kExitError, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kTooLarge, "big"), kExitError, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kRejected, "stale"), kExitError, "", ""},
      {{"out", "s", "(1)"}, error_reply(Errc::kProtocol, "garbage"), kExitError, "", ""},
      {{"space", "create", "s"}, error_reply(Errc::kSpaceExists, "exists"), kExitError, "", ""},
      {{"space", "create", "s", "--confidential"},
       error_reply(Errc::kUnsupported, "confidential spaces are not supported yet"),
       kExitError,
       "",
       ""},
      {{"space", "set-policy", "s", "--none"},
       error_reply(Errc::kDenied, "only admins may set a policy"),
       kExitDenied,
       "",
       ""},
      {{"space", "show", "nope"},
       error_reply(Errc::kNoSuchSpace, "no space named 'nope'"),
       kExitError,
       "",
       ""},
      {{"rd", "s", "(*)"}, error_reply(Errc::kCancelled, "evicted"), kExitError, "", ""},
      // A reply of the wrong kind for the command is the service's error, not a crash.
      {{"out", "s", "(1)"}, ts::Reply{ts::Pending{}}, kExitError, "", ""},
  };
  for (const OutputCase& c : cases) {
    for (bool json : {false, true}) {
      Harness h;
      h.fake.answer = [&c](const ts::Request&) { return c.reply; };
      std::vector<std::string> args = c.args;
      if (json) args.insert(args.begin(), "--json");
      const RunResult r = h.run(args);
      SCOPED_TRACE(::testing::PrintToString(args));
      EXPECT_EQ(r.code, c.code) << r.err;
      EXPECT_EQ(r.out, json ? c.json : c.text);
      if (!c.reply.ok() && c.code != kExitNoMatch) {
        const Error& e = c.reply.error();
        EXPECT_EQ(r.err, "bastion: " + error_label(e.code) + ": " + e.message + "\n");
      } else if (c.code == kExitError) {
        EXPECT_EQ(r.err.rfind("bastion: protocol error: ", 0), 0u) << r.err;
      } else {
        EXPECT_EQ(r.err, "");
      }
    }
  }
}

TEST(CliOutput, ErrorLinesAndExitCodes) {
  Harness h;
  h.fake.answer = [](const ts::Request&) {
    return error_reply(Errc::kDenied, "client 'bob' may not remove the oldest matching tuple");
  };
  RunResult r = h.run({"inp", "s", "(*)"});
  EXPECT_EQ(r.err, "bastion: denied: client 'bob' may not remove the oldest matching tuple\n");
  EXPECT_EQ(error_label(Errc::kNoSuchSpace), "no such space");
  EXPECT_EQ(error_label(Errc::kConfig), "configuration");
  EXPECT_EQ(exit_code_of(Errc::kOk), kExitOk);
  EXPECT_EQ(exit_code_of(Errc::kNotFound), kExitNoMatch);
  EXPECT_EQ(exit_code_of(Errc::kTimedOut), kExitNoMatch);
  EXPECT_EQ(exit_code_of(Errc::kConfig), kExitUsage);
  EXPECT_EQ(exit_code_of(Errc::kDenied), kExitDenied);
  EXPECT_EQ(exit_code_of(Errc::kUnavailable), kExitUnavailable);
  EXPECT_EQ(exit_code_of(Errc::kMalformed), kExitError);
  EXPECT_EQ(exit_code_of(Errc::kInvalidArgument), kExitError);
  EXPECT_EQ(exit_code_of(Errc::kUnsupported), kExitError);
  EXPECT_EQ(error_label(Errc::kUnsupported), "unsupported");
  EXPECT_EQ(error_label(Errc::kInvalidArgument), "invalid argument");

  h.fake.answer = [](const ts::Request&) {
    return error_reply(Errc::kUnsupported,
                       "confidential spaces are not supported yet: this build has no "
                       "confidentiality layer, so the space was not created");
  };
  r = h.run({"space", "create", "secret", "--confidential"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err,
            "bastion: unsupported: confidential spaces are not supported yet: this build has no "
            "confidentiality layer, so the space was not created\n");
}

TEST(CliOutput, UnusableClusterFileExitsTwo) {
  Harness h;
  h.connect_error = Error{Errc::kConfig, "cluster.toml: no such file"};
  const RunResult r = h.run({"rdp", "s", "(*)"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "bastion: configuration: cluster.toml: no such file\n");
}

ReplicaInfo replica(std::uint32_t id, bool reachable, std::uint64_t view = 0) {
  ReplicaInfo r;
  r.id = id;
  r.endpoint = "127.0.0.1:700" + std::to_string(id);
  r.reachable = reachable;
  if (reachable) {
    r.view = view;
    r.primary = static_cast<std::uint32_t>(view % 4);
    r.last_executed = 12;
    r.stable_checkpoint = 8;
    r.agreed_time_us = 1000;
    r.stable_digest = "00ff";
  } else {
    r.error = "connection refused";
  }
  return r;
}

TEST(CliOutput, StatusTableJsonAndQuorumExitCode) {
  Harness h;
  h.fake.replicas = {replica(0, true), replica(1, true), replica(2, true), replica(3, false)};
  RunResult r = h.run({"status"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "REPLICA  ENDPOINT        REACHABLE  VIEW  PRIMARY  LAST_EXECUTED  STABLE_CHECKPOINT\n"
            "0        127.0.0.1:7000  yes        0     0        12             8\n"
            "1        127.0.0.1:7001  yes        0     0        12             8\n"
            "2        127.0.0.1:7002  yes        0     0        12             8\n"
            "3        127.0.0.1:7003  no         -     -        -              -"
            "  (connection refused)\n");
  r = h.run({"status", "--json"});
  EXPECT_EQ(r.code, kExitOk);
  const std::string first = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(first,
            "{\"id\":0,\"endpoint\":\"127.0.0.1:7000\",\"reachable\":true,\"view\":0,\"primary\":0,"
            "\"view_changing\":false,\"last_executed\":12,\"stable_checkpoint\":8,"
            "\"agreed_time_us\":1000,\"stable_digest\":\"00ff\"}");
  EXPECT_NE(
      r.out.find("{\"id\":3,\"endpoint\":\"127.0.0.1:7003\",\"reachable\":false,\"view\":null"),
      std::string::npos);
  EXPECT_NE(r.out.find("\"error\":\"connection refused\"}"), std::string::npos);

  // Two of four: no quorum.
  h.fake.replicas = {replica(0, true), replica(1, false), replica(2, true), replica(3, false)};
  r = h.run({"status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_EQ(r.err, "bastion: unavailable: 2 of 4 replicas reachable, a quorum needs 3\n");
}

// ---- cluster init ----------------------------------------------------------------------------

TEST(CliClusterInit, WritesAClusterWithoutAnyClusterFile) {
  bastion::testing::TempDir dir;
  Harness h;
  const std::string out_dir = (dir.path() / "c").string();
  RunResult r = h.run({"cluster", "init", "--replicas", "4", "--base-port", "7400", "--clients",
                       "2", "--out", out_dir});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, out_dir + "/cluster.toml\n");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "c" / "identities" / "client2" / "cert.pem"));
  EXPECT_TRUE(h.connects.empty());
  // Never overwrites.
  r = h.run({"--json", "cluster", "init", "--out", out_dir});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.err.find("bastion: cluster init: "), std::string::npos);
  r = h.run({"--json", "cluster", "init", "--f", "2", "--out", (dir.path() / "d").string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{\"cluster_file\":\"" + (dir.path() / "d").string() + "/cluster.toml\"}\n");
}

TEST(CliRun, ShellNeedsARunner) {
  Harness h;
  const RunResult r = h.run({"shell"});
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace bastion::cli
