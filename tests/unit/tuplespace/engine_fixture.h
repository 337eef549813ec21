// Shared helpers for the engine tests: a fixture that executes requests as named clients at a
// controllable agreed time, and short builders for tuples, templates and replies.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "tuplespace/engine.h"

namespace bastion::ts::testing {

inline Tuple tup(std::initializer_list<Value> values) { return Tuple(values); }
inline const Pattern kAny = Pattern::any();
inline Pattern to_pattern(const Pattern& p) { return p; }
inline Pattern to_pattern(Value v) { return Pattern(std::move(v)); }
// tmpl("job", kAny, 3): values and patterns mixed.
template <class... Ts>
Template tmpl(const Ts&... fields) {
  return Template{to_pattern(fields)...};
}

inline TupleSpec spec(Tuple t, std::uint64_t lease_ms = 0, std::vector<std::string> readers = {},
                      std::vector<std::string> removers = {}) {
  return TupleSpec{std::move(t), lease_ms, std::move(readers), std::move(removers)};
}

inline ErrorCode code(const Outcome& o) { return code_of(o.reply); }

// The tuple of a Found reply (fails the test otherwise).
inline Tuple found(const Reply& r) {
  const auto* f = std::get_if<Found>(&r);
  if (f == nullptr) {
    ADD_FAILURE() << "expected Found, got reply index " << r.index()
                  << (std::holds_alternative<Error>(r) ? ": " + std::get<Error>(r).message : "");
    return {};
  }
  return f->tuple;
}

inline std::vector<Tuple> found_all(const Reply& r) {
  const auto* f = std::get_if<FoundAll>(&r);
  if (f == nullptr) {
    ADD_FAILURE() << "expected FoundAll, got reply index " << r.index();
    return {};
  }
  return f->tuples;
}

inline std::string message(const Reply& r) {
  const auto* e = std::get_if<Error>(&r);
  return e != nullptr ? e->message : std::string();
}

class EngineTest : public ::testing::Test {
 protected:
  // Executes `request` as `client` in `session`, with a fresh request id, at now_ms.
  Outcome run(const std::string& client, const Request& request, std::uint64_t session = 1) {
    last_ctx = Context{client, session, next_request++, now_ms};
    return engine.execute(last_ctx, request);
  }
  Outcome run(const Request& request) { return run("alice", request); }

  void create(const std::string& space, SpaceOptions options = {}) {
    ASSERT_EQ(code(run(SpaceCreate{space, options})), ErrorCode::kOk);
  }
  void out(const std::string& space, Tuple t, std::uint64_t lease_ms = 0,
           const std::string& client = "alice") {
    ASSERT_EQ(code(run(client, Out{space, spec(std::move(t), lease_ms)})), ErrorCode::kOk);
  }

  Engine engine;
  std::int64_t now_ms = 1000;
  std::uint64_t next_request = 1;
  Context last_ctx;
};

}  // namespace bastion::ts::testing
