// Policy scripts: compiling, deciding, the request a script sees, the queries, and failing closed.
#include "policy/script.h"

#include <gtest/gtest.h>

#include <string>

#include "policy_support.h"

namespace bastion::policy {
namespace {

using ts::Pattern;
using ts::Tuple;
using ts::Type;
using ts::Value;

TEST(ScriptCompile, SyntaxErrorsNameTheLine) {
  auto s = Script::compile("function decide(req)\n  return true\n", Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), "policy:3: 'end' expected (to close 'function' at line 1) near <eof>");
}

TEST(ScriptCompile, ThePolicyMustDefineDecide) {
  auto s = Script::compile("local function decide(req) return true end", Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("defines no function decide"), std::string::npos);
}

TEST(ScriptCompile, ErrorsOfTheTopLevelFailTheCompile) {
  auto s = Script::compile("error('not today')\nfunction decide() return true end", Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), "policy:1: not today");
}

TEST(ScriptCompile, BytecodeIsRefused) {
  auto s = Script::compile(std::string("\x1bLua\x54", 5), Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("binary"), std::string::npos);
}

TEST(ScriptCompile, ATopLevelThatNeverEndsFailsWithinItsBudget) {
  auto s = Script::compile("while true do end\nfunction decide() return true end", Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("budget"), std::string::npos);
}

TEST(ScriptDecide, AllowDenyAndReasons) {
  PolicyHarness h(R"(
    function decide(req)
      if req.op == "rdp" then return allow() end
      if req.op == "inp" then return true end
      if req.op == "in" then return deny() end
      return deny("only reads, " .. req.invoker)
    end)");
  EXPECT_TRUE(h.decide(ts::Rdp{"s", {Pattern::any()}}).allowed);
  EXPECT_TRUE(h.decide(ts::Inp{"s", {Pattern::any()}}).allowed);
  const Decision in = h.decide(ts::In{"s", {Pattern::any()}, 0});
  EXPECT_FALSE(in.allowed);
  EXPECT_FALSE(in.failed);
  EXPECT_EQ(in.reason, "denied by the space's policy");
  const Decision out = h.decide(ts::Out{"s", spec({Value("a")})});
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.reason, "only reads, alice");
}

TEST(ScriptDecide, WhatIsNotADecisionDenies) {
  for (const char* result : {"nil", "1", "'yes'", "{}", ""}) {
    PolicyHarness h(std::string("function decide(req) return ") + result + " end");
    const Decision d = h.decide(ts::Rdp{"s", {Pattern::any()}});
    EXPECT_FALSE(d.allowed) << result;
    EXPECT_TRUE(d.failed) << result;
  }
}

TEST(ScriptDecide, ErrorsDenyWithTheirMessage) {
  PolicyHarness h("function decide(req) return req.nothing.here end");
  const Decision d = h.decide(ts::Rdp{"s", {Pattern::any()}});
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.failed);
  EXPECT_EQ(d.reason, "policy:1: attempt to index a nil value (field 'nothing')");
}

TEST(ScriptDecide, ReasonsAreCutAndCleaned) {
  PolicyHarness h("function decide(req) return false, 'a\\nb' .. string.rep('x', 2000) end");
  const Decision d = h.decide(ts::Rdp{"s", {Pattern::any()}});
  EXPECT_EQ(d.reason.substr(0, 4), "a bx");
  EXPECT_EQ(d.reason.size(), kReasonBytesMax + 3);
}

TEST(ScriptRequest, TheScriptSeesTheOperationAndItsArguments) {
  PolicyHarness h(R"(
    function decide(req)
      local t = req.tuple
      local parts = {req.op, req.invoker, req.space, tostring(req.time), tostring(req.lease),
                     field_type(t[1]), field_type(t[2]), field_type(t[3]), field_type(t[4]),
                     field_type(t[5]), tostring(t[5]), tostring(#t[5]), t[5]:hex(),
                     table.concat(req.readers, "+"), table.concat(req.removers, "+"),
                     tostring(req.groups.ops), tostring(req.groups.nobody)}
      return false, table.concat(parts, " ")
    end)");
  ts::TupleSpec spec{Tuple{Value("job"), Value(std::int64_t{7}), Value(1.5), Value(true),
                           Value(ts::Blob{std::string("\x00\xff", 2)})},
                     2500,
                     {"alice", "bob"},
                     {"alice"}};
  h.groups = {"ops", "readers"};
  h.now_ms = 1234;
  const Decision d = h.decide(ts::Out{"jobs", spec}, "jobs");
  EXPECT_EQ(d.reason,
            "out alice jobs 1234 2500 string int float bool bytes 0x00ff 2 00ff alice+bob alice "
            "true nil");
}

TEST(ScriptRequest, TemplatesShowWildcardsAndTypedFields) {
  PolicyHarness h(R"(
    function decide(req)
      local t = req.template
      return false, field_type(t[1]) .. " " .. field_type(t[2]) .. " " .. field_type(t[3]) ..
        " " .. tostring(t[2] == ANY) .. " " .. tostring(t[3] == FORMAL.int) .. " " ..
        tostring(req.timeout) .. " " .. tostring(t[2])
    end)");
  const Decision d =
      h.decide(ts::Rd{"s", {Pattern(Value("k")), Pattern::any(), Pattern::typed(Type::kInt)}, 900});
  EXPECT_EQ(d.reason, "string * ?int true true 900 *");
}

TEST(ScriptRequest, OutAllShowsEveryEntry) {
  PolicyHarness h(R"(
    function decide(req)
      return false, #req.entries .. " " .. req.entries[2].tuple[1] .. " " .. req.entries[2].lease
    end)");
  const Decision d = h.decide(ts::OutAll{"s", {spec({Value("a")}), spec({Value("b")}, 10)}});
  EXPECT_EQ(d.reason, "2 b 10");
}

TEST(ScriptQueries, ExistsCountAndRdpSeeTheSpaceAtTheAgreedTime) {
  PolicyHarness h(R"(
    function decide(req)
      local found = rdp({"REPLICA", req.invoker, ANY})
      return false, tostring(exists({"REPLICA", ANY, "WRITER"})) .. " " ..
        count({"REPLICA", ANY, FORMAL.string}) .. " " ..
        (found and found[3] or "none") .. " " .. tostring(rdp({"nothing"}))
    end)");
  h.insert(Tuple{Value("REPLICA"), Value("alice"), Value("STOPPED")});
  h.insert(Tuple{Value("REPLICA"), Value("bob"), Value("WRITER")}, 100);  // expires at 100
  h.insert(Tuple{Value("REPLICA"), Value("carol"), Value("COPIER")}, 0, {"carol"});
  h.now_ms = 50;
  EXPECT_EQ(h.decide(ts::Rdp{"s", {Pattern::any()}}).reason, "true 3 STOPPED nil");
  h.now_ms = 100;  // bob's WRITER tuple has expired; carol's is not readable by alice but counts
  EXPECT_EQ(h.decide(ts::Rdp{"s", {Pattern::any()}}).reason, "false 2 STOPPED nil");
}

TEST(ScriptQueries, BadTemplatesAreErrors) {
  PolicyHarness h("function decide(req) return exists({{}}) end");
  const Decision d = h.decide(ts::Rdp{"s", {Pattern::any()}});
  EXPECT_TRUE(d.failed);
  EXPECT_EQ(d.reason, "policy:1: exists: template field 1 is table, not a field value");
}

TEST(ScriptQueries, MatchesComparesTypesExactly) {
  PolicyHarness h(R"(
    function decide(req)
      return false, tostring(matches({"a", ANY, FORMAL.float}, {"a", 1, 2.0})) .. " " ..
        tostring(matches({"a", 1.0}, {"a", 1})) .. " " ..
        tostring(matches({bytes("x")}, {bytes("x")})) .. " " ..
        tostring(matches({"x"}, {"x", 1}))
    end)");
  EXPECT_EQ(h.decide(ts::Rdp{"s", {Pattern::any()}}).reason, "true false true false");
}

}  // namespace
}  // namespace bastion::policy
