// See determinism_workload.h.
#include "determinism_workload.h"

#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "policy/script.h"
#include "tuplespace/engine.h"

namespace bastion::policy::testing {
namespace {

// Scripts that lean on what differs between Lua states: string hashing (pairs order, tables with
// string keys that grow and shrink), interned strings, garbage, and budgets that a tuple's
// numbers push to their edge.
const char* const kScripts[] = {
    // Iteration order and string building over client-chosen keys.
    R"(function decide(req)
         local t = {}
         for i, v in ipairs(req.tuple) do t[tostring(v) .. "#" .. i] = i end
         local keys = {}
         for k, v in pairs(t) do keys[#keys + 1] = k .. "=" .. v end
         return false, table.concat(keys, ",")
       end)",
    // A table with string keys that churns, and long strings, sized by the tuple: memory and
    // instructions near their budgets.
    R"(function decide(req)
         local n = req.tuple[2]
         if math.type(n) ~= "integer" then return true end
         local t, parts = {}, {}
         for i = 1, n do
           t["key" .. i] = string.rep("v", 45) .. i
           t["key" .. (i // 2)] = nil
           parts[#parts + 1] = t["key" .. i]
         end
         local live = 0
         for k in pairs(t) do live = live + 1 end
         return false, live .. " " .. #parts
       end)",
    // Queries, sort with a comparator, patterns.
    R"(function decide(req)
         local found = rdp({req.tuple[1], ANY})
         local list = {}
         for i = 1, 20 do list[i] = {k = (i * 7) % 5, s = "s" .. i} end
         table.sort(list, function(a, b) return a.k < b.k end)
         local order = {}
         for _, e in ipairs(list) do order[#order + 1] = e.s end
         local digits = tostring(req.tuple[1]):match("%d+") or "-"
         return count({ANY, ANY}) % 2 == 0, table.concat(order, "") .. digits ..
           tostring(found and found[2])
       end)",
    // Errors, pcall, and a loop whose length the tuple sets.
    R"(function decide(req)
         local n = req.tuple[2]
         if math.type(n) ~= "integer" then error("not a number: " .. tostring(n)) end
         local ok, err = pcall(function() local s = 0 for i = 1, n * 40 do s = s + i end return s end)
         return false, tostring(ok) .. " " .. tostring(err)
       end)",
};

struct Evaluation {
  std::size_t script;
  ts::Request request;
  std::string invoker;
};

class EngineWithTuples {
 public:
  explicit EngineWithTuples(std::mt19937_64& rng) {
    engine.execute({"admin", 1, 1, 0}, ts::SpaceCreate{"s", {}});
    for (int i = 0; i < 30; ++i) {
      ts::TupleSpec spec{{ts::Value("k" + std::to_string(rng() % 7)),
                          ts::Value(static_cast<std::int64_t>(rng() % 100))},
                         0,
                         {},
                         {}};
      engine.execute({"owner", 1, static_cast<std::uint64_t>(i + 2), 0}, ts::Out{"s", spec});
    }
  }
  ts::Engine engine;
};

std::string describe(const Decision& d) {
  std::ostringstream out;
  out << (d.allowed  ? "allow"
          : d.failed ? "fail"
                     : "deny")
      << " | " << d.reason << " | " << d.instructions << " | " << d.memory_bytes;
  return out.str();
}

}  // namespace

std::string determinism_workload(std::uint64_t seed, int history) {
  std::mt19937_64 rng(seed);
  EngineWithTuples space(rng);
  const Limits limits{60'000, 96 * 1024};
  std::vector<Evaluation> evaluations;
  for (int i = 0; i < 160; ++i) {
    const std::size_t script = rng() % std::size(kScripts);
    const ts::Value second =
        rng() % 8 == 0 ? ts::Value("n") : ts::Value(static_cast<std::int64_t>(rng() % 1400));
    ts::Tuple tuple{ts::Value("k" + std::to_string(rng() % 9)), second, ts::Value("z"),
                    ts::Value(static_cast<double>(rng() % 1000) / 8.0)};
    evaluations.push_back({script, ts::Out{"s", ts::TupleSpec{std::move(tuple), 0, {}, {}}},
                           "client" + std::to_string(rng() % 3)});
  }

  std::vector<std::unique_ptr<Script>> scripts;
  for (const char* text : kScripts) scripts.push_back(std::move(*Script::compile(text, limits)));
  auto noise = std::move(*Script::compile(kScripts[0], limits));

  std::ostringstream out;
  const std::vector<std::string> groups = {"g"};
  const EngineSpace view(space.engine, "s", 0);
  for (const Evaluation& e : evaluations) {
    const Invocation call{"s", e.invoker, &groups, 0, &e.request};
    std::unique_ptr<Script> fresh;
    Script* script = scripts[e.script].get();
    if (history == 1) {
      fresh = std::move(*Script::compile(kScripts[e.script], limits));
      script = fresh.get();
    }
    if (history == 2) {
      for (int k = 0; k < 3; ++k) (void)noise->evaluate(call, view);
    }
    out << e.script << " " << describe(script->evaluate(call, view)) << "\n";
  }
  return out.str();
}

}  // namespace bastion::policy::testing
