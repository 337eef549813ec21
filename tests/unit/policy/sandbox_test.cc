// The sandbox: what a script cannot reach, what it cannot spend, and what it cannot make depend on
// the process it runs in.
#include "policy/sandbox.h"

#include <gtest/gtest.h>

#include <string>

#include "policy/lua_state.h"
#include "policy_support.h"

namespace bastion::policy {
namespace {

using ts::Pattern;

const ts::Request kRead = ts::Rdp{"s", {Pattern::any()}};

// The reason a policy whose decide body is `body` gives (the body returns false, reason).
std::string run(const std::string& body, Limits limits = {}) {
  PolicyHarness h("function decide(req)\n" + body + "\nend", limits);
  return h.decide(kRead).reason;
}

Decision decide(const std::string& body, Limits limits = {}) {
  PolicyHarness h("function decide(req)\n" + body + "\nend", limits);
  return h.decide(kRead);
}

TEST(Sandbox, ForbiddenFacilitiesAreAbsent) {
  for (
      const char* name :
      {"io",          "os",          "debug",           "package",        "require",  "load",
       "loadstring",  "dofile",      "loadfile",        "collectgarbage", "print",    "warn",
       "next",        "rawset",      "coroutine",       "utf8",           "_G",       "string.dump",
       "string.pack", "math.random", "math.randomseed", "math.sin",       "math.exp", "math.log"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(run(std::string("return false, tostring(") + name + ")"), "nil");
  }
}

TEST(Sandbox, TryingForbiddenThingsDeniesWithoutCrashing) {
  for (const char* body : {
           "return os.execute('true')",
           "return io.open('/etc/passwd')",
           "return load('return 1')()",
           "return require('os')",
           "return string.dump(decide)",
           "return debug.getinfo(1)",
           "return collectgarbage('count')",
           "return math.random(10)",
           "return getmetatable('').__index.dump",
           "string.rep = nil return true",
           "table.insert = nil return true",
           "math.pi = 3 return true",
           "return rawset(string, 'x', 1)",
           "return setmetatable({}, {__gc = function() end})",
           "return setmetatable(string, {})",
           "return ANY.x",
           "return string.format('%p', {})",
           "return next({})",
       }) {
    SCOPED_TRACE(body);
    const Decision d = decide(body);
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.failed) << d.reason;
  }
}

TEST(Sandbox, AddressesNeverShow) {
  EXPECT_EQ(run("return false, tostring({}) .. ' ' .. tostring(print or decide) .. ' ' .. "
                "string.format('%s %s', {}, decide)"),
            "table function table function");
  EXPECT_EQ(run("return false, tostring(setmetatable({}, {__tostring = function() return 'me' "
                "end}))"),
            "me");
  EXPECT_EQ(run("return false, tostring(bytes('ab')) .. ' ' .. tostring(FORMAL.bytes)"),
            "0x6162 ?bytes");
}

TEST(Sandbox, PairsVisitsKeysInAFixedOrder) {
  // Lua's own order over string keys changes with each state's hash seed; this one never does.
  EXPECT_EQ(run(R"(
    local t = {zeta = 1, alpha = 2, [3] = 'c', [1.5] = 'f', [-2] = 'n', mid = 3, [true] = 't',
               [false] = 'f', ["10"] = 's', [1] = 'a'}
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = tostring(k) end
    return false, table.concat(keys, ','))"),
            "-2,1,1.5,3,10,alpha,mid,zeta,false,true");
  EXPECT_TRUE(decide("for k in pairs({[{}] = 1}) do end return true").failed);
}

TEST(Sandbox, SortIsStableAndDeterministic) {
  EXPECT_EQ(run(R"(
    local t = {}
    for i = 1, 300 do t[i] = {k = i % 7, i = i} end
    table.sort(t, function(a, b) return a.k < b.k end)
    local ok = true
    for i = 2, #t do
      if t[i - 1].k == t[i].k and t[i - 1].i > t[i].i then ok = false end
    end
    local s = {5, 3, 9, 1}
    table.sort(s)
    return false, tostring(ok) .. ' ' .. table.concat(s, ','))"),
            "true 1,3,5,9");
  EXPECT_TRUE(decide("table.sort({1, 'a'}) return true").failed);
}

TEST(Sandbox, GlobalsDoNotSurviveAnEvaluation) {
  PolicyHarness h(R"(
    calls = (calls or 0) + 1
    function decide(req)
      seen = (seen or 0) + 1
      return false, calls .. ' ' .. seen
    end)");
  EXPECT_EQ(h.decide(kRead).reason, "1 1");
  EXPECT_EQ(h.decide(kRead).reason, "1 1");
}

TEST(Sandbox, LowerUpperAndPatternsUseTheCLocale) {
  EXPECT_EQ(run("return false, string.upper('abc\\xe9') .. string.lower('ÀB') .. "
                "tostring(('x1'):match('%a%d'))"),
            "ABC\xe9\xc3\x80"
            "bx1");
}

TEST(SandboxBudget, EndlessLoopsStopAtTheInstructionBudget) {
  const Decision d = decide("while true do end", Limits{10'000, 1 << 20});
  EXPECT_TRUE(d.failed);
  EXPECT_EQ(d.reason, "exceeded its budget of 10000 instructions");
  EXPECT_EQ(d.instructions, 10'000u);
}

TEST(SandboxBudget, PcallCannotCatchAnExhaustedBudget) {
  const Limits limits{10'000, 1 << 20};
  EXPECT_EQ(decide("while true do pcall(function() while true do end end) end", limits).reason,
            "exceeded its budget of 10000 instructions");
  EXPECT_EQ(decide("while true do xpcall(function() while true do end end, function(e) return e "
                   "end) end",
                   limits)
                .reason,
            "exceeded its budget of 10000 instructions");
  EXPECT_EQ(
      decide("local s = 'x' while true do pcall(function() s = s .. s end) end", limits).reason,
      "exceeded its memory budget of 1048576 bytes");
}

TEST(SandboxBudget, UnboundedAllocationStopsAtTheMemoryBudget) {
  const Limits limits{1'000'000, 1 << 20};
  EXPECT_EQ(decide("local s = 'x' for i = 1, 40 do s = s .. s end return true", limits).reason,
            "exceeded its memory budget of 1048576 bytes");
  EXPECT_EQ(decide("local t = {} for i = 1, 1e9 do t[i] = {} end return true", limits).reason,
            "exceeded its memory budget of 1048576 bytes");
  EXPECT_EQ(decide("return string.rep('x', 1 << 40)", limits).reason,
            "exceeded its budget of 1000000 instructions");
}

TEST(SandboxBudget, TheFirstEvaluationCountsLikeEveryOther) {
  // Found by fuzzing: Lua makes the metatable of large string buffers on first use, which the
  // first evaluation to build a long string would have been charged for.
  PolicyHarness h(R"(
    function decide(req)
      local parts = {}
      for i = 1, 20 do parts[i] = string.rep("ab", 500 + i) .. string.format("%5d", i) end
      return false, table.concat(parts, ","):sub(1, 10)
    end)");
  const Decision first = h.decide(kRead);
  const Decision second = h.decide(kRead);
  EXPECT_EQ(first.memory_bytes, second.memory_bytes);
  EXPECT_EQ(first.instructions, second.instructions);
  EXPECT_EQ(first.reason, second.reason);
}

TEST(SandboxBudget, DeepRecursionIsAnErrorNotACrash) {
  const Decision d = decide("local function f(n) return f(n + 1) + 1 end return f(1)",
                            Limits{10'000'000, 64 << 20});
  EXPECT_TRUE(d.failed);
  EXPECT_NE(d.reason.find("stack overflow"), std::string::npos) << d.reason;
}

TEST(SandboxBudget, PathologicalPatternsAreRefusedBeforeTheyRun) {
  // Lua takes seconds for this; the bound refuses it before the matcher starts.
  PolicyHarness h(R"(
    function decide(req)
      local subject = ('a'):rep(200)
      local ok = pcall(string.find, subject, '.-.-.-.-b')
      return false, 'not reached'
    end)");
  const Decision d = h.decide(kRead);
  EXPECT_TRUE(d.failed);
  EXPECT_EQ(d.reason, "exceeded its budget of 200000 instructions");
  // Ordinary patterns cost little.
  EXPECT_EQ(run("return false, tostring(('job:42'):match('^job:(%d+)$'))"), "42");
}

TEST(SandboxBudget, TheCostOfAPatternBoundsTheMatcher) {
  using sandbox::pattern_cost;
  EXPECT_EQ(pattern_cost("abc", 10, true), 11u * 4u);  // each start, linear
  EXPECT_EQ(pattern_cost("^abc", 10, true), 5u);       // anchored: one start
  EXPECT_EQ(pattern_cost("^a*", 10, true), 11u * 4u);  // one quantifier
  EXPECT_EQ(pattern_cost("a-b-", 10, true), 11u * 11u * 11u * 5u);
  EXPECT_EQ(pattern_cost("^[%a-]*x?", 10, true), 11u * 2u * 10u);  // the set is one item
  EXPECT_EQ(pattern_cost("^a*", 10, false), 11u * 11u * 4u);       // gmatch: ^ anchors nothing
  EXPECT_EQ(pattern_cost("^%b()", 10, true), 6u + 11u);            // %b scans the subject
  EXPECT_GT(pattern_cost(".-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-", 1 << 20, true), 1ull << 62);
}

TEST(SandboxBudget, LibraryFunctionsChargeForTheirWork) {
  const Limits limits{5'000, 64 << 20};
  for (const char* body : {
           "return #string.rep('x', 100000) > 0",
           "return select('#', string.byte(string.rep('x', 10000), 1, -1)) > 0",
           "return #table.concat(table.pack(table.unpack({}, 1, 100000))) >= 0",
           "local t = {} for k in pairs(setmetatable({}, {})) do end return table.move({}, 1, "
           "1e9, 1) ~= nil",
       }) {
    SCOPED_TRACE(body);
    EXPECT_EQ(decide(body, limits).reason, "exceeded its budget of 5000 instructions");
  }
}

}  // namespace
}  // namespace bastion::policy
