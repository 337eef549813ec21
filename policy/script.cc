// Compiling and evaluating policy scripts; see script.h.
#include "policy/script.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "policy/sandbox.h"
#include "policy/values.h"

namespace bastion::policy {
namespace {

char kChunkKey;
char kThreadKey;

// Backstop of the whole state during an evaluation, above what the budgets let a script reach
// (lua_state.h): the Lua stack at its largest (1,000,000 slots), and per instruction at most a
// call frame, a few table slots, a short string and its string-table entry, or 16 bytes of a
// library function's buffer.
constexpr std::size_t kStackBytesMax = 17u << 20;
constexpr std::size_t kSlackBytesPerInstruction = 512;
// Garbage left by earlier evaluations is collected, outside any evaluation, once the state has
// grown this much past what it holds after loading.
constexpr std::size_t kCollectAboveBytes = 256u << 10;

struct EvaluationContext {
  const SpaceView* space;
};

class NoTuples final : public SpaceView {
 public:
  ts::Engine::Probe probe(const ts::Template&, std::uint64_t, std::uint64_t, bool) const override {
    return {};
  }
};

// ---- functions for scripts -----------------------------------------------------------------

int l_allow(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int l_deny(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_pushliteral(L, "denied by the space's policy");
  } else {
    luaL_checklstring(L, 1, nullptr);
    lua_settop(L, 1);
  }
  lua_pushboolean(L, 0);
  lua_insert(L, 1);
  return 2;
}

enum class Query { kExists, kCount, kRdp };

int query(lua_State* L, Query kind, const char* name) {
  char problem[256] = "";
  bool out_of_budget = false;
  std::uint64_t examined = 0;
  int status = LUA_OK;
  {  // C++ objects live only in this block, and nothing in it raises (lua_state.h)
    const lua::Meter& m = lua::meter_of(L);
    const auto* context = static_cast<const EvaluationContext*>(m.context);
    ts::Template tmpl;
    std::string error;
    if (context == nullptr) {
      error = "only a policy evaluation may query the space";
    } else if (values::read_template(L, 1, tmpl, error)) {
      const std::uint64_t left =
          m.instructions_max > m.instructions ? m.instructions_max - m.instructions : 0;
      const std::uint64_t match_max =
          kind == Query::kCount ? std::numeric_limits<std::uint64_t>::max() : 1;
      const ts::Engine::Probe probe =
          context->space->probe(tmpl, match_max, left, kind == Query::kRdp);
      examined = probe.examined;
      out_of_budget = !probe.complete;
      if (!out_of_budget) {
        auto push = [&](lua_State* S) {
          if (kind == Query::kExists) {
            lua_pushboolean(S, probe.matches > 0 ? 1 : 0);
          } else if (kind == Query::kCount) {
            lua_pushinteger(S, static_cast<lua_Integer>(probe.matches));
          } else if (probe.first) {
            values::push_tuple(S, *probe.first);
          } else {
            lua_pushnil(S);
          }
          return 1;
        };
        status = lua::protect(L, push, 0, 1);
      }
    }
    if (!error.empty()) std::snprintf(problem, sizeof problem, "%s", error.c_str());
  }
  if (problem[0] != '\0') return luaL_error(L, "%s: %s", name, problem);
  if (status != LUA_OK) return lua_error(L);
  lua::charge(L, examined + 1);
  if (out_of_budget) lua::raise_exhausted(L, lua::Exhaustion::kInstructions);
  return 1;
}

int l_exists(lua_State* L) { return query(L, Query::kExists, "exists"); }
int l_count(lua_State* L) { return query(L, Query::kCount, "count"); }
int l_rdp(lua_State* L) { return query(L, Query::kRdp, "rdp"); }

int l_matches(lua_State* L) {
  char problem[256] = "";
  bool result = false;
  std::size_t fields = 0;
  {
    ts::Template tmpl;
    ts::Tuple tuple;
    std::string error;
    if (values::read_template(L, 1, tmpl, error) && values::read_tuple(L, 2, tuple, error)) {
      result = ts::matches(tmpl, tuple);
      fields = tmpl.size();
    }
    if (!error.empty()) std::snprintf(problem, sizeof problem, "%s", error.c_str());
  }
  if (problem[0] != '\0') return luaL_error(L, "matches: %s", problem);
  lua::charge(L, fields + 1);
  lua_pushboolean(L, result ? 1 : 0);
  return 1;
}

// ---- the request as a Lua table ----------------------------------------------------------------
// These raise on allocation failure; they run under protect() and hold references only.

void set_string(lua_State* L, const char* key, std::string_view value) {
  lua::push(L, value);
  lua_setfield(L, -2, key);
}

void set_integer(lua_State* L, const char* key, std::uint64_t value) {
  lua_pushinteger(L, static_cast<lua_Integer>(
                         std::min<std::uint64_t>(value, std::numeric_limits<lua_Integer>::max())));
  lua_setfield(L, -2, key);
}

void set_names(lua_State* L, const char* key, const std::vector<std::string>& names) {
  lua_createtable(L, static_cast<int>(names.size()), 0);
  for (std::size_t i = 0; i < names.size(); ++i) {
    lua::push(L, names[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, key);
}

void set_template(lua_State* L, const ts::Template& tmpl) {
  values::push_template(L, tmpl);
  lua_setfield(L, -2, "template");
}

// tuple, lease, readers, removers of one TupleSpec, into the table on top.
void set_spec(lua_State* L, const ts::TupleSpec& spec) {
  values::push_tuple(L, spec.tuple);
  lua_setfield(L, -2, "tuple");
  set_integer(L, "lease", spec.lease_ms);
  set_names(L, "readers", spec.readers);
  set_names(L, "removers", spec.removers);
}

void push_request(lua_State* L, const Invocation& call) {
  const ts::Request& r = *call.request;
  lua_createtable(L, 0, 12);
  set_string(L, "op", ts::op_name(r));
  set_string(L, "invoker", call.invoker);
  set_string(L, "space", call.space);
  lua_pushinteger(L, call.now_ms);
  lua_setfield(L, -2, "time");
  const std::size_t group_count = call.groups != nullptr ? call.groups->size() : 0;
  lua_createtable(L, 0, static_cast<int>(group_count));
  for (std::size_t i = 0; i < group_count; ++i) {
    lua::push(L, (*call.groups)[i]);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "groups");
  if (const auto* out = std::get_if<ts::Out>(&r)) {
    set_spec(L, out->entry);
  } else if (const auto* all = std::get_if<ts::OutAll>(&r)) {
    lua_createtable(L, static_cast<int>(all->entries.size()), 0);
    for (std::size_t i = 0; i < all->entries.size(); ++i) {
      lua_createtable(L, 0, 4);
      set_spec(L, all->entries[i]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setfield(L, -2, "entries");
  } else if (const auto* rdp = std::get_if<ts::Rdp>(&r)) {
    set_template(L, rdp->tmpl);
  } else if (const auto* inp = std::get_if<ts::Inp>(&r)) {
    set_template(L, inp->tmpl);
  } else if (const auto* rd = std::get_if<ts::Rd>(&r)) {
    set_template(L, rd->tmpl);
    set_integer(L, "timeout", rd->timeout_ms);
  } else if (const auto* in = std::get_if<ts::In>(&r)) {
    set_template(L, in->tmpl);
    set_integer(L, "timeout", in->timeout_ms);
  } else if (const auto* cas = std::get_if<ts::Cas>(&r)) {
    set_template(L, cas->tmpl);
    set_spec(L, cas->entry);
  } else if (const auto* replace = std::get_if<ts::Replace>(&r)) {
    set_template(L, replace->tmpl);
    set_spec(L, replace->entry);
  } else if (const auto* renew = std::get_if<ts::Renew>(&r)) {
    set_template(L, renew->tmpl);
    set_integer(L, "lease", renew->lease_ms);
  } else if (const auto* rd_all = std::get_if<ts::RdAll>(&r)) {
    set_template(L, rd_all->tmpl);
    set_integer(L, "max", rd_all->max);
  } else if (const auto* in_all = std::get_if<ts::InAll>(&r)) {
    set_template(L, in_all->tmpl);
    set_integer(L, "max", in_all->max);
  }
}

// The first thing an evaluation runs, on its own thread: the top level in the fresh globals
// (argument 1), then decide(req) with req (argument 2) when there is one. Returns decide's
// results, or true when it only checked that decide exists.
int l_run(lua_State* L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kChunkKey);
  lua_pushvalue(L, 1);
  if (lua_setupvalue(L, -2, 1) == nullptr) {  // a main chunk's first upvalue is its _ENV
    return luaL_error(L, "the policy's chunk has no environment");
  }
  lua_call(L, 0, 0);
  if (lua_getfield(L, 1, "decide") != LUA_TFUNCTION) {
    return luaL_error(L, "the policy defines no function decide(req)");
  }
  if (lua_isnil(L, 2)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L) - 2;
}

// A reason as it reaches the client: printable bytes, at most kReasonBytesMax of them.
std::string clean_reason(std::string_view text) {
  std::string out(text.substr(0, kReasonBytesMax));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  if (text.size() > kReasonBytesMax) out += "...";
  return out;
}

// The value at `index` of T as reason text (strings and numbers; never raises).
std::string reason_text(lua_State* T, int index) {
  if (lua_type(T, index) == LUA_TSTRING) return clean_reason(lua::view(T, index));
  if (lua_type(T, index) == LUA_TNUMBER) {
    if (lua_isinteger(T, index)) return std::to_string(lua_tointeger(T, index));
    char text[64];
    std::snprintf(text, sizeof text, "%.14g", lua_tonumber(T, index));
    return text;
  }
  return std::string("(a ") + luaL_typename(T, index) + ", not a reason)";
}

// What T left after lua_pcall(T, ...) returned `status`.
Decision read_decision(lua_State* T, int status, const lua::Meter& m) {
  Decision d;
  d.instructions = m.instructions;
  d.memory_bytes = m.bytes;
  if (m.exhausted == lua::Exhaustion::kInstructions) {
    d.failed = true;
    d.reason = "exceeded its budget of " + std::to_string(m.instructions_max) + " instructions";
  } else if (m.exhausted == lua::Exhaustion::kMemory) {
    d.failed = true;
    d.reason = "exceeded its memory budget of " + std::to_string(m.bytes_max) + " bytes";
  } else if (status != LUA_OK) {
    d.failed = true;
    d.reason = lua_type(T, -1) == LUA_TSTRING
                   ? clean_reason(lua::view(T, -1))
                   : std::string("raised an error object of type ") + luaL_typename(T, -1);
  } else if (lua_gettop(T) == 0) {
    d.failed = true;
    d.reason = "decide returned nothing (return true to allow, or false and a reason to deny)";
  } else if (lua_type(T, 1) != LUA_TBOOLEAN) {
    d.failed = true;
    d.reason = std::string("decide returned a ") + luaL_typename(T, 1) +
               ", not a decision (true to allow, or false and a reason to deny)";
  } else if (lua_toboolean(T, 1)) {
    d.allowed = true;
  } else {
    d.reason =
        lua_gettop(T) >= 2 && !lua_isnil(T, 2) ? reason_text(T, 2) : "denied by the space's policy";
  }
  return d;
}

}  // namespace

bool governed(const ts::Request& request) { return ts::is_tuple_op(request); }

Script::Script(const Limits& limits) : limits_(limits) {}

Result<std::unique_ptr<Script>, std::string> Script::compile(std::string_view text,
                                                             const Limits& limits) {
  std::unique_ptr<Script> script(new Script(limits));
  lua_State* L = script->state_.get();
  const sandbox::CLocale locale;
  auto setup = [](lua_State* S) {
    sandbox::install(S);
    values::install(S, -1);
    const luaL_Reg functions[] = {{"allow", &l_allow}, {"deny", &l_deny}, {"exists", &l_exists},
                                  {"count", &l_count}, {"rdp", &l_rdp},   {"matches", &l_matches},
                                  {nullptr, nullptr}};
    luaL_setfuncs(S, functions, 0);
    lua_pop(S, 1);  // the base environment lives on in the environments' metatable
    return 0;
  };
  if (lua::protect(L, setup, 0, 0) != LUA_OK) return fail(std::string("cannot build the sandbox"));
  if (luaL_loadbufferx(L, text.data(), text.size(), "=policy", "t") != LUA_OK) {
    std::string message = lua_type(L, -1) == LUA_TSTRING ? std::string(lua::view(L, -1))
                                                         : std::string("cannot load the policy");
    lua_pop(L, 1);
    return fail(std::move(message));
  }
  auto keep = [&script](lua_State* S) {
    lua_rawsetp(S, LUA_REGISTRYINDEX, &kChunkKey);
    script->thread_ = lua_newthread(S);
    lua_rawsetp(S, LUA_REGISTRYINDEX, &kThreadKey);
    return 0;
  };
  if (lua::protect(L, keep, 1, 0) != LUA_OK) return fail(std::string("cannot keep the policy"));
  const NoTuples empty;
  Decision loaded = script->run(nullptr, empty);
  if (!loaded.allowed) return fail(std::move(loaded.reason));
  script->state_.collect();
  script->baseline_bytes_ = script->state_.meter().state_bytes;
  return script;
}

Decision Script::evaluate(const Invocation& call, const SpaceView& space) {
  const sandbox::CLocale locale;
  return run(&call, space);
}

Decision Script::run(const Invocation* call, const SpaceView& space) {
  lua_State* L = state_.get();
  lua::Meter& m = state_.meter();
  const int top = lua_gettop(L);
  if (m.state_bytes > baseline_bytes_ + kCollectAboveBytes) state_.collect();

  // The evaluation's globals and request: not metered (their size follows the request's, which
  // the transport bounds; state_bytes_max is unlimited outside evaluations), and built on L,
  // whose pcall catches a failure. They run on thread_, whose stack and call frames are reused
  // (Lua allocates those uncounted: lua_state.h) and whose instruction count restarts.
  auto build = [&](lua_State* S) {
    lua_pushcfunction(S, &l_run);
    sandbox::push_environment(S);
    if (call != nullptr) {
      push_request(S, *call);
    } else {
      lua_pushnil(S);
    }
    return 3;
  };
  if (lua::protect(L, build, 0, 3) != LUA_OK) {
    lua_settop(L, top);
    Decision d;
    d.failed = true;
    d.reason = "could not be prepared: out of memory";
    return d;
  }
  lua_State* T = thread_;
  lua_settop(T, 0);
  lua::restart_count(T);
  lua_xmove(L, T, 3);  // T's base frame has room for 3 values without growing

  m.state_bytes_max = m.state_bytes + limits_.memory_bytes_max + kStackBytesMax +
                      kSlackBytesPerInstruction * limits_.instructions_max;
  EvaluationContext context{&space};
  state_.begin(limits_.instructions_max, limits_.memory_bytes_max, &context);
  const int status = lua_pcall(T, 2, LUA_MULTRET, 0);
  state_.end();
  m.state_bytes_max = std::numeric_limits<std::size_t>::max();

  Decision d = read_decision(T, status, m);
  lua_settop(T, 0);  // all the evaluation made is garbage now
  lua_settop(L, top);
  return d;
}

}  // namespace bastion::policy
