// A compiled policy script and its evaluation: may this invoker perform this operation, with these
// arguments, now?
//
// A policy is Lua 5.4 text that defines a global function decide(req); docs/policies.md is the
// guide for writing one. For every operation the script governs (out, outAll, rdp, inp, rd, in,
// cas, replace, renew, rdAll, inAll) evaluate() runs the script's top level in a fresh global
// table (inside the sandbox of sandbox.h) and calls decide with
//   req.op        "out", "rdAll", ... (ts::op_name)
//   req.invoker   the caller's id: its certificate name
//   req.groups    the caller's groups in the cluster file, as a set: req.groups.admins == true
//   req.space     the space's name
//   req.time      the agreed time of the operation, in ms
//   req.tuple, req.template, req.lease, req.readers, req.removers, req.timeout, req.max,
//   req.entries   the operation's arguments (see docs/policies.md for which op has which)
// and these functions: allow(), deny(reason), exists(template), count(template), rdp(template)
// (read-only queries of the same space at req.time, over every unexpired tuple whatever its
// access lists), matches(template, tuple), plus the values of values.h.
//
// decide returns true to allow, or false and a reason to deny (allow() and deny(r) return
// exactly that). Anything else denies: an error, an exhausted budget, or a result that is not a
// decision. Failing closed is the point: a policy that cannot decide never lets an operation by.
//
// Determinism: nothing survives from one evaluation to the next (fresh globals, fresh Lua thread,
// read-only library tables), so a decision depends only on the script, the invocation and the
// space's state: every replica decides alike, whether its Script is fresh or has evaluated other
// operations before (the cache of compiled scripts may drop and rebuild them at will).
//
// Thread-safety: none; a Script belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/result.h"
#include "policy/lua_state.h"
#include "tuplespace/engine.h"
#include "tuplespace/ops.h"

namespace bastion::policy {

// The budgets of one evaluation (the cluster file's [policy] section).
struct Limits {
  std::uint64_t instructions_max = 200'000;
  std::uint64_t memory_bytes_max = 8ull << 20;
};

// What a script may query of the space its operation addresses.
class SpaceView {
 public:
  virtual ~SpaceView() = default;
  // See ts::Engine::probe.
  virtual ts::Engine::Probe probe(const ts::Template& tmpl, std::uint64_t match_max,
                                  std::uint64_t examine_max, bool want_first) const = 0;
};

// A SpaceView over an engine's space at a time.
class EngineSpace final : public SpaceView {
 public:
  EngineSpace(const ts::Engine& engine, std::string_view space, std::int64_t now_ms)
      : engine_(engine), space_(space), now_ms_(now_ms) {}
  ts::Engine::Probe probe(const ts::Template& tmpl, std::uint64_t match_max,
                          std::uint64_t examine_max, bool want_first) const override {
    return engine_.probe(space_, tmpl, now_ms_, match_max, examine_max, want_first);
  }

 private:
  const ts::Engine& engine_;
  std::string_view space_;
  std::int64_t now_ms_;
};

struct Invocation {
  std::string_view space;
  std::string_view invoker;
  const std::vector<std::string>* groups = nullptr;  // the invoker's groups, sorted; may be null
  std::int64_t now_ms = 0;
  const ts::Request* request = nullptr;  // governed(*request) holds
};

struct Decision {
  bool allowed = false;
  bool failed = false;             // denied because the script failed (error, budget, no decision)
  std::string reason;              // when denied: the script's reason, or what went wrong
  std::uint64_t instructions = 0;  // spent, in the sandbox's units
  std::uint64_t memory_bytes = 0;  // counted allocations
};

// Operations a space's policy decides (the tuple operations; administration and cancel are not).
bool governed(const ts::Request& request);

class Script {
 public:
  // Compiles `text` and runs its top level once under the budgets: it must define decide. The
  // error is Lua's message with the line, e.g. "policy:3: 'end' expected near <eof>".
  static Result<std::unique_ptr<Script>, std::string> compile(std::string_view text,
                                                              const Limits& limits);

  Decision evaluate(const Invocation& call, const SpaceView& space);

  // Bytes the Lua state holds now (compiled code, library, uncollected garbage).
  std::size_t state_bytes() const { return state_.meter().state_bytes; }

 private:
  explicit Script(const Limits& limits);
  // One run: the top level, then decide(req) when `call` is given (else only a check that the
  // script defines decide).
  Decision run(const Invocation* call, const SpaceView& space);

  lua::State state_;
  lua_State* thread_ = nullptr;  // every evaluation runs on it (the registry keeps it alive)
  Limits limits_;
  std::size_t baseline_bytes_ = 0;  // after loading: what garbage collection brings it back to
};

// Longest reason a denial carries; longer ones are cut.
inline constexpr std::size_t kReasonBytesMax = 512;

}  // namespace bastion::policy
