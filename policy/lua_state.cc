// The metering lua_State; see lua_state.h.
#include "policy/lua_state.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace bastion::policy::lua {
namespace {

// Lua tells the kind of a new object in `osize` when `ptr` is NULL (the reference manual,
// lua_Alloc); 9 and 10 are its internal upvalue and prototype kinds.
bool counted(std::size_t kind, std::size_t nsize, std::size_t short_max) {
  switch (kind) {
    case LUA_TSTRING:
      return nsize > short_max;
    case LUA_TTABLE:
    case LUA_TFUNCTION:
    case LUA_TUSERDATA:
    case LUA_TTHREAD:
    case LUA_TTHREAD + 1:
    case LUA_TTHREAD + 2:
      return true;
    default:
      return false;
  }
}

void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  Meter& m = *static_cast<Meter*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    m.state_bytes -= old;
    return nullptr;
  }
  if (nsize > old) {
    const std::size_t growth = nsize - old;
    if (m.active && m.exhausted == Exhaustion::kMemory) return nullptr;  // stays refused
    if (m.state_bytes + growth > m.state_bytes_max) {
      if (m.active && m.exhausted == Exhaustion::kNone) m.exhausted = Exhaustion::kMemory;
      return nullptr;
    }
    if (m.active && ptr == nullptr && counted(osize, nsize, m.short_string_bytes_max)) {
      if (m.bytes + nsize > m.bytes_max) {
        if (m.exhausted == Exhaustion::kNone) m.exhausted = Exhaustion::kMemory;
        return nullptr;
      }
      m.bytes += nsize;
    }
  }
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) {
    if (nsize <= old) return ptr;  // a shrink that failed: the old block still serves
    if (m.active && m.exhausted == Exhaustion::kNone) m.exhausted = Exhaustion::kMemory;
    return nullptr;
  }
  m.state_bytes = m.state_bytes - old + nsize;
  return block;
}

int panic(lua_State* L) {
  // Only reached by an error outside every lua_pcall: a bug in this library.
  const char* message = lua_tostring(L, -1);
  std::fprintf(stderr, "policy: unprotected Lua error: %s\n",
               message != nullptr ? message : "(not a string)");
  std::abort();
}

void count_hook(lua_State* L, lua_Debug*) { charge(L, kHookPeriod); }

// Measures Lua's short-string limit: a string is short when making it again allocates nothing
// (it is interned), and the allocation size of the longest one is what `counted` compares.
std::size_t measure_short_string_alloc_max() {
  struct Probe {
    std::size_t last_string_bytes = 0;
    int string_allocations = 0;
  } probe;
  auto alloc = [](void* ud, void* ptr, std::size_t osize, std::size_t nsize) -> void* {
    auto& p = *static_cast<Probe*>(ud);
    if (nsize == 0) {
      std::free(ptr);
      return nullptr;
    }
    if (ptr == nullptr && osize == LUA_TSTRING) {
      p.last_string_bytes = nsize;
      ++p.string_allocations;
    }
    return std::realloc(ptr, nsize);
  };
  lua_State* L = lua_newstate(alloc, &probe);
  if (L == nullptr) std::abort();
  lua_gc(L, LUA_GCSTOP);
  std::size_t short_max = 0;
  for (std::size_t len = 1; len <= 256; ++len) {
    std::string text(len, 'q');
    text[0] = 'Q';  // no reserved word or library name has this shape
    probe.string_allocations = 0;
    lua_pushlstring(L, text.data(), text.size());
    const std::size_t bytes = probe.last_string_bytes;
    lua_pushlstring(L, text.data(), text.size());
    const bool interned = probe.string_allocations == 1;
    lua_pop(L, 2);
    if (!interned) break;
    short_max = bytes;
  }
  lua_close(L);
  if (short_max == 0) {
    std::fprintf(stderr, "policy: could not measure Lua's short strings\n");
    std::abort();
  }
  return short_max;
}

}  // namespace

std::size_t short_string_alloc_max() {
  static const std::size_t value = measure_short_string_alloc_max();
  return value;
}

State::State() : meter_(std::make_unique<Meter>()) {
  static_assert(sizeof(void*) <= LUA_EXTRASPACE);
  meter_->short_string_bytes_max = short_string_alloc_max();
  L_ = lua_newstate(&allocate, meter_.get());
  if (L_ == nullptr) {
    std::fprintf(stderr, "policy: cannot create a Lua state\n");
    std::abort();
  }
  Meter* m = meter_.get();
  std::memcpy(lua_getextraspace(L_), &m, sizeof m);  // threads inherit it
  lua_atpanic(L_, &panic);
  lua_sethook(L_, &count_hook, LUA_MASKCOUNT, kHookPeriod);
  // The collector never runs on its own: its timing depends on history, and a collection inside
  // an evaluation could clear weak tables. The owner collects between evaluations (collect()).
  lua_gc(L_, LUA_GCSTOP);
}

void State::collect() { lua_gc(L_, LUA_GCCOLLECT); }

State::~State() { lua_close(L_); }

void State::begin(std::uint64_t instructions_max, std::uint64_t memory_bytes_max, void* context) {
  Meter& m = *meter_;
  m.instructions = 0;
  m.instructions_max = instructions_max;
  m.bytes = 0;
  m.bytes_max = memory_bytes_max;
  m.exhausted = Exhaustion::kNone;
  m.context = context;
  m.active = true;
}

void State::end() {
  Meter& m = *meter_;
  m.active = false;
  m.context = nullptr;
}

Meter& meter_of(lua_State* L) {
  Meter* m = nullptr;
  std::memcpy(&m, lua_getextraspace(L), sizeof m);
  return *m;
}

void charge(lua_State* L, std::uint64_t units) {
  Meter& m = meter_of(L);
  if (!m.active) return;
  if (m.exhausted != Exhaustion::kNone) raise_exhausted(L, m.exhausted);
  if (units > m.instructions_max - m.instructions) {
    m.instructions = m.instructions_max;  // all of it spent; the rest is refused
    raise_exhausted(L, Exhaustion::kInstructions);
  }
  m.instructions += units;
}

void raise_exhausted(lua_State* L, Exhaustion what) {
  Meter& m = meter_of(L);
  m.exhausted = what;
  if (what == Exhaustion::kMemory) {
    luaL_error(L, "memory budget of %I bytes exceeded", static_cast<lua_Integer>(m.bytes_max));
  }
  luaL_error(L, "instruction budget of %I exceeded", static_cast<lua_Integer>(m.instructions_max));
  std::abort();  // luaL_error does not return
}

}  // namespace bastion::policy::lua
