// The metering lua_State; see lua_state.h.
#include "policy/lua_state.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "codec/check.h"

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

}  // namespace

// Small blocks come from free lists of the state's own: an evaluation allocates and frees a few
// hundred of them, and malloc's bookkeeping was a third of its time. Blocks of up to kSmallMax
// bytes are kept by size class (16-byte steps) once freed; larger ones go to malloc. What the
// lists hold is given back to malloc when a collection leaves more than kKeptMax of it.
class Pool {
 public:
  static constexpr std::size_t kStep = 16;
  static constexpr std::size_t kSmallMax = 512;
  static constexpr std::size_t kKeptMax = 1 << 20;

  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { release(); }

  static bool small(std::size_t n) { return n <= kSmallMax; }
  static std::size_t class_of(std::size_t n) { return (n + kStep - 1) / kStep - 1; }

  void* take(std::size_t n) {
    const std::size_t c = class_of(n);
    if (void* p = free_[c]) {
      std::memcpy(&free_[c], p, sizeof(void*));
      kept_ -= (c + 1) * kStep;
      return p;
    }
    return std::malloc((c + 1) * kStep);
  }
  void give(void* p, std::size_t n) {
    const std::size_t c = class_of(n);
    std::memcpy(p, &free_[c], sizeof(void*));
    free_[c] = p;
    kept_ += (c + 1) * kStep;
  }
  void trim() {
    if (kept_ > kKeptMax) release();
  }

 private:
  void release() {
    for (void*& head : free_) {
      while (head != nullptr) {
        void* next = nullptr;
        std::memcpy(&next, head, sizeof(void*));
        std::free(head);
        head = next;
      }
    }
    kept_ = 0;
  }

  std::array<void*, kSmallMax / kStep> free_{};
  std::size_t kept_ = 0;
};

struct Heap {
  Meter meter;
  Pool pool;
};

namespace {

// A block of `nsize` bytes for the `old` bytes at ptr (ptr may be null), from the pool or malloc;
// null if there is no memory.
void* resize(Pool& pool, void* ptr, std::size_t old, std::size_t nsize) {
  if (ptr != nullptr && Pool::small(old) && Pool::small(nsize) &&
      Pool::class_of(old) == Pool::class_of(nsize)) {
    return ptr;
  }
  if (ptr != nullptr && !Pool::small(old) && !Pool::small(nsize)) {
    return std::realloc(ptr, nsize);
  }
  void* block = Pool::small(nsize) ? pool.take(nsize) : std::malloc(nsize);
  if (block == nullptr) return nullptr;
  if (ptr != nullptr) {
    std::memcpy(block, ptr, std::min(old, nsize));
    if (Pool::small(old)) {
      pool.give(ptr, old);
    } else {
      std::free(ptr);
    }
  }
  return block;
}

void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  Heap& heap = *static_cast<Heap*>(ud);
  Meter& m = heap.meter;
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    if (ptr != nullptr) {
      if (Pool::small(old)) {
        heap.pool.give(ptr, old);
      } else {
        std::free(ptr);
      }
    }
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
  void* block = resize(heap.pool, ptr, old, nsize);
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
  BASTION_CHECK(L != nullptr);
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

State::State() : heap_(std::make_unique<Heap>()) {
  static_assert(sizeof(void*) <= LUA_EXTRASPACE);
  heap_->meter.short_string_bytes_max = short_string_alloc_max();
  L_ = lua_newstate(&allocate, heap_.get());
  if (L_ == nullptr) {
    std::fprintf(stderr, "policy: cannot create a Lua state\n");
    std::abort();
  }
  Meter* m = &heap_->meter;
  std::memcpy(lua_getextraspace(L_), &m, sizeof m);  // threads inherit it
  lua_atpanic(L_, &panic);
  restart_count(L_);
  // The collector never runs on its own: its timing depends on history, and a collection inside
  // an evaluation could clear weak tables. The owner collects between evaluations (collect()).
  lua_gc(L_, LUA_GCSTOP);
}

void State::collect() {
  lua_gc(L_, LUA_GCCOLLECT);
  heap_->pool.trim();
}

Meter& State::meter() { return heap_->meter; }
const Meter& State::meter() const { return heap_->meter; }

State::~State() { lua_close(L_); }

void State::begin(std::uint64_t instructions_max, std::uint64_t memory_bytes_max, void* context) {
  Meter& m = heap_->meter;
  m.instructions = 0;
  m.instructions_max = instructions_max;
  m.bytes = 0;
  m.bytes_max = memory_bytes_max;
  m.exhausted = Exhaustion::kNone;
  m.context = context;
  m.active = true;
}

void State::end() {
  Meter& m = heap_->meter;
  m.active = false;
  m.context = nullptr;
}

Meter& meter_of(lua_State* L) {
  Meter* m = nullptr;
  std::memcpy(&m, lua_getextraspace(L), sizeof m);
  return *m;
}

void restart_count(lua_State* T) { lua_sethook(T, &count_hook, LUA_MASKCOUNT, kHookPeriod); }

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
