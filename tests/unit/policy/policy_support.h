// Test support: a compiled policy over a real engine with one space "s".
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/script.h"
#include "tuplespace/engine.h"

namespace bastion::policy {

inline ts::TupleSpec spec(ts::Tuple tuple, std::uint64_t lease_ms = 0) {
  return ts::TupleSpec{std::move(tuple), lease_ms, {}, {}};
}

class PolicyHarness {
 public:
  explicit PolicyHarness(const std::string& text, Limits limits = {}) {
    auto compiled = Script::compile(text, limits);
    if (!compiled) {
      ADD_FAILURE() << "compile: " << compiled.error();
      return;
    }
    script = std::move(*compiled);
    engine.execute(ctx("admin"), ts::SpaceCreate{"s", {}});
  }

  Decision decide(const ts::Request& request, std::string_view space = "s") {
    if (!script) return Decision{false, true, "not compiled"};
    const EngineSpace view(engine, space, now_ms);
    return script->evaluate(Invocation{space, invoker, &groups, now_ms, &request}, view);
  }

  // Stores a tuple in "s" (lease 0 = none) as `owner`, at time 0.
  void insert(ts::Tuple tuple, std::uint64_t lease_ms = 0, std::vector<std::string> readers = {},
              const std::string& owner = "owner") {
    auto out = engine.execute(
        ctx(owner),
        ts::Out{"s", ts::TupleSpec{std::move(tuple), lease_ms, std::move(readers), {}}});
    EXPECT_EQ(ts::code_of(out.reply), ts::ErrorCode::kOk);
  }

  ts::Context ctx(const std::string& client) { return ts::Context{client, 1, ++request_, 0}; }

  std::unique_ptr<Script> script;
  ts::Engine engine;
  std::string invoker = "alice";
  std::vector<std::string> groups;
  std::int64_t now_ms = 0;

 private:
  std::uint64_t request_ = 0;
};

}  // namespace bastion::policy
