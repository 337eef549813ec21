// Test support: the server's layer stack (access control, policy, engine) over one engine.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "policy/access_layer.h"
#include "policy/policy_layer.h"
#include "policy/principals.h"
#include "tuplespace/engine.h"
#include "tuplespace/layer.h"

namespace bastion::policy {

using ts::ErrorCode;
using ts::Pattern;
using ts::Tuple;
using ts::Value;

inline const Pattern kAny = Pattern::any();

// The text of a file of the source tree (examples/policies/...).
inline std::string source_file(const std::string& path) {
  std::ifstream in(std::string(BASTION_SOURCE_DIR) + "/" + path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Stack {
 public:
  explicit Stack(const Principals::Groups& groups = {}, Limits limits = {})
      : principals(std::vector<std::string>{"admin"}, groups),
        policy(engine, principals, limits, bottom),
        top(engine, principals, policy) {}

  ts::Outcome run(const std::string& client, const ts::Request& request) {
    return top.execute(ts::Context{client, 1, ++request_, now_ms}, request);
  }
  ts::ErrorCode code(const std::string& client, const ts::Request& request) {
    return ts::code_of(run(client, request).reply);
  }
  // The message of an error reply, "" otherwise.
  std::string message(const std::string& client, const ts::Request& request) {
    const ts::Outcome o = run(client, request);
    const auto* e = std::get_if<ts::Error>(&o.reply);
    return e != nullptr ? e->message : "";
  }
  ts::Reply read_only(const std::string& client, const ts::Request& request) {
    return top.execute_read_only(ts::Context{client, 1, ++request_, engine.now_ms()}, request);
  }

  void create(const std::string& space, const std::string& policy_text) {
    ts::SpaceOptions o;
    o.policy = policy_text;
    const ts::Outcome created = run("admin", ts::SpaceCreate{space, o});
    ASSERT_EQ(ts::code_of(created.reply), ts::ErrorCode::kOk)
        << std::get<ts::Error>(created.reply).message;
  }

  ts::Engine engine;
  Principals principals;
  ts::EngineLayer bottom{engine};
  PolicyLayer policy;
  AccessLayer top;
  std::int64_t now_ms = 1000;

 private:
  std::uint64_t request_ = 0;
};

inline ts::TupleSpec leased(ts::Tuple tuple, std::uint64_t lease_ms) {
  return ts::TupleSpec{std::move(tuple), lease_ms, {}, {}};
}

}  // namespace bastion::policy
