// The second layer of the stack (tuplespace/layer.h): a space's policy script decides the
// operations it governs (policy/script.h).
//
//   - space create with a policy, and space set-policy, compile the script first: one that does
//     not compile, or whose top level fails or defines no decide, is refused (invalid_argument,
//     with Lua's message and line) and nothing changes;
//   - a governed operation on a space with a policy is evaluated at the agreed time and refused
//     (`denied`) unless the script allows it: with the script's reason, or with what went wrong
//     when it failed (an error, an exhausted budget, no decision). Failing closed: a script that
//     cannot decide never lets an operation by.
//
// Compiled scripts are cached per space (the text is compared on every use, so a changed policy
// is compiled again) and dropped at will: a decision never depends on the cache (script.h).
//
// Thread-safety: none (see tuplespace/layer.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "policy/principals.h"
#include "policy/script.h"
#include "tuplespace/layer.h"

namespace bastion::policy {

class PolicyLayer final : public ts::Layer {
 public:
  struct Counters {
    std::uint64_t allowed = 0;
    std::uint64_t denied = 0;  // by the script's decision
    std::uint64_t failed = 0;  // because the script failed (error, budget, no decision)
    std::uint64_t compiled = 0;
  };

  PolicyLayer(const ts::Engine& engine, const Principals& principals, const Limits& limits,
              ts::Layer& next, std::size_t scripts_cached_max = 64)
      : engine_(engine),
        principals_(principals),
        limits_(limits),
        next_(next),
        scripts_cached_max_(scripts_cached_max) {}

  ts::Outcome execute(const ts::Context& ctx, const ts::Request& request) override;
  ts::Reply execute_read_only(const ts::Context& ctx, const ts::Request& request) override;

  // Drops every compiled script (after the engine's state was replaced).
  void forget() { cache_.clear(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Cached {
    std::string text;
    std::unique_ptr<Script> script;  // null: the text does not compile (see error)
    std::string error;
    std::uint64_t last_use = 0;
  };

  std::optional<ts::Error> decide(const ts::Context& ctx, const ts::Request& request);
  Cached& cached(std::string_view space, const std::string& text);
  Cached compile(const std::string& text);
  Cached& remember(std::string_view space, Cached entry);

  const ts::Engine& engine_;
  const Principals& principals_;
  Limits limits_;
  ts::Layer& next_;
  std::size_t scripts_cached_max_;
  std::map<std::string, Cached, std::less<>> cache_;
  std::uint64_t uses_ = 0;
  Counters counters_;
};

}  // namespace bastion::policy
