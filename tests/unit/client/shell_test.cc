// The shell: splitting lines into words (tuples without quoting), built-ins, the same commands
// and output as the tool over one connection, and the history file location.
#include <gtest/gtest.h>

#include <sstream>

#include "client/cli/shell.h"
#include "tests/unit/client/fake_backend.h"

namespace bastion::cli {
namespace {

using namespace testing;
using Words = std::vector<std::string>;

TEST(ShellSplit, Words) {
  EXPECT_EQ(*split_line(""), Words{});
  EXPECT_EQ(*split_line("   \t "), Words{});
  EXPECT_EQ(*split_line("space list"), (Words{"space", "list"}));
  EXPECT_EQ(*split_line("  rdp   jobs  "), (Words{"rdp", "jobs"}));
  // A parenthesised group is one word, verbatim, string literals included.
  EXPECT_EQ(*split_line("out jobs (\"job\", 42) --lease 5"),
            (Words{"out", "jobs", "(\"job\", 42)", "--lease", "5"}));
  EXPECT_EQ(*split_line("out s (\"a ) b\", \"q\\\"(\")"),
            (Words{"out", "s", "(\"a ) b\", \"q\\\"(\")"}));
  EXPECT_EQ(*split_line("cas s (\"lock\", *) (\"lock\", \"me\")"),
            (Words{"cas", "s", "(\"lock\", *)", "(\"lock\", \"me\")"}));
  // POSIX-style quoting still works, so lines pasted from a terminal do too.
  EXPECT_EQ(*split_line("out jobs '(\"job\", 42)'"), (Words{"out", "jobs", "(\"job\", 42)"}));
  EXPECT_EQ(*split_line("out \"my space\" (1)"), (Words{"out", "my space", "(1)"}));
  EXPECT_EQ(*split_line("out my\\ space (1)"), (Words{"out", "my space", "(1)"}));
  EXPECT_EQ(*split_line("rdp s (*) # a comment"), (Words{"rdp", "s", "(*)"}));
  EXPECT_EQ(*split_line("# only a comment"), Words{});
  EXPECT_EQ(*split_line("a#b"), Words{"a#b"});
}

TEST(ShellSplit, UnterminatedGroupsNameTheColumn) {
  EXPECT_EQ(split_line("out s (1, 2").error(), "unterminated ( at column 7");
  EXPECT_EQ(split_line("out s (\"abc)").error(), "unterminated string at column 7");
  EXPECT_EQ(split_line("out 'abc").error(), "unterminated ' at column 5");
  EXPECT_EQ(split_line("out \"abc").error(), "unterminated \" at column 5");
}

struct ShellRun {
  Harness h;
  Shell shell{GlobalOptions{"/c.toml", "", false, std::nullopt}, h.factory()};
  RunResult line(std::string_view text) {
    std::ostringstream out;
    std::ostringstream err;
    RunResult r;
    r.code = shell.line(text, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
};

TEST(Shell, RunsCommandsOverOneConnection) {
  ShellRun s;
  s.h.fake.answer = [](const ts::Request& r) -> Expected<ts::Reply> {
    if (std::holds_alternative<ts::Rdp>(r)) return ts::Reply{ts::Found{tup("(\"job\", 42)")}};
    return ts::Reply{ts::Ack{}};
  };
  RunResult r = s.line("out jobs (\"job\", 42) --lease 0.5");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "");
  r = s.line("rdp jobs (\"job\", *)");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "(\"job\", 42)\n");
  r = s.line("rdp jobs (*) --json");  // per-line options
  EXPECT_EQ(r.out, "[\"job\",42]\n");
  ASSERT_EQ(s.h.fake.requests.size(), 3u);
  EXPECT_EQ(s.h.fake.requests[0], ts::Request(ts::Out{"jobs", spec("(\"job\", 42)", 500)}));
  EXPECT_EQ(s.h.connects.size(), 1u);
  EXPECT_EQ(s.h.connects[0].cluster_file, "/c.toml");
  EXPECT_FALSE(s.shell.finished());
}

TEST(Shell, BuiltinsAndErrors) {
  ShellRun s;
  EXPECT_EQ(s.line("").code, kExitOk);
  EXPECT_EQ(s.line("   # nothing").code, kExitOk);
  RunResult r = s.line("help");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("rdall SPACE TEMPLATE [--max N]"), std::string::npos);
  EXPECT_NE(r.out.find("space set-access NAME [--inserters LIST] [--readers LIST] [--removers "
                       "LIST]\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("space set-policy NAME --none\n"), std::string::npos);
  EXPECT_NE(r.out.find("LIST: names and @groups"), std::string::npos);
  EXPECT_NE(r.out.find("quit"), std::string::npos);
  r = s.line("rdp jobs (1");
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "bastion: unterminated ( at column 10\n");
  r = s.line("rdp jobs (1 2)");
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "bastion: syntax error in TEMPLATE at column 4: expected ',' or ')'\n");
  EXPECT_EQ(s.line("shell").code, kExitUsage);  // no nested shell
  EXPECT_EQ(s.line("--cluster x.toml space list").code, kExitUsage);
  EXPECT_TRUE(s.h.connects.empty());  // nothing so far needed the cluster
  EXPECT_FALSE(s.shell.finished());
  EXPECT_EQ(s.line("quit").code, kExitOk);
  EXPECT_TRUE(s.shell.finished());

  ShellRun e;
  EXPECT_EQ(e.line("exit").code, kExitOk);
  EXPECT_TRUE(e.shell.finished());
}

TEST(Shell, ConnectFailureIsReportedAndRetried) {
  ShellRun s;
  s.h.connect_error = Error{Errc::kConfig, "c.toml: no such file"};
  RunResult r = s.line("space list");
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "bastion: configuration: c.toml: no such file\n");
  s.h.connect_error.reset();
  EXPECT_EQ(s.line("space list").code, kExitOk);
  EXPECT_EQ(s.h.connects.size(), 2u);
}

TEST(Shell, HistoryFile) {
  EXPECT_EQ(history_file({"", "/home/u", "/state"}), "/state/bastion/history");
  EXPECT_EQ(history_file({"", "/home/u", ""}), "/home/u/.local/state/bastion/history");
  EXPECT_EQ(history_file({"", "", ""}), "");
}

}  // namespace
}  // namespace bastion::cli
