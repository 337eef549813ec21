// A thin C++ layer over Lua 5.4's C API for the policy sandbox: a lua_State that owns a metering
// allocator and an instruction counter, and the helpers that keep Lua's error jumps away from C++
// objects.
//
// Errors. Lua raises errors with longjmp through every frame between the error and the nearest
// lua_pcall. No C++ object with a destructor may be live in a frame on that path, so:
//   - C functions registered with Lua keep only trivially destructible locals while they call
//     anything that can raise (every allocating call can: memory is capped);
//   - C++ code that holds objects and must call raising functions does it inside protect(), which
//     runs a callable under lua_pcall and hands back the status.
//
// Metering (what makes a policy's cost the same on every replica). Between begin() and end() of
// an evaluation the Meter counts
//   - instructions: VM instructions (a count hook every kHookPeriod of them) plus what library
//     functions charge for work they do in C (charge()), against instructions_max;
//   - counted bytes: new strings longer than Lua's short strings, tables, closures, userdata and
//     threads, against memory_bytes_max. Short strings are left out because Lua interns them: a
//     string left over, dead but not yet collected, from an earlier evaluation is revived instead
//     of allocated, so their allocations depend on each replica's history. Table slots, stacks and
//     buffers are left out because their timing depends on string hashes, which Lua seeds at
//     random per state. Every one of those costs at least one counted instruction, so the
//     instruction budget bounds them (and the backstop below). Objects Lua makes once per state
//     on first use (the metatable of large string buffers) are made before any evaluation
//     (sandbox::install), so that no evaluation pays for them.
// Exhausting either budget raises a Lua error and marks the evaluation exhausted; the sandbox's
// pcall re-raises it, so a script cannot catch its way past a budget.
//
// The whole state's memory is capped too (state_bytes_max), as a backstop set above anything the
// budgets allow; reaching it also ends the evaluation.
//
// Thread-safety: a State belongs to one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>

#include <lua.hpp>

namespace bastion::policy::lua {

// The count hook runs every this many VM instructions.
inline constexpr int kHookPeriod = 100;

enum class Exhaustion : std::uint8_t { kNone, kInstructions, kMemory };

struct Heap;  // the allocator's state (lua_state.cc)

struct Meter {
  // The whole state: every block Lua holds, and the backstop.
  std::size_t state_bytes = 0;
  std::size_t state_bytes_max = std::numeric_limits<std::size_t>::max();
  std::size_t short_string_bytes_max = 0;  // short_string_alloc_max()
  // The current evaluation (counting only while `active`).
  bool active = false;
  std::uint64_t instructions = 0;
  std::uint64_t instructions_max = 0;
  std::uint64_t bytes = 0;
  std::uint64_t bytes_max = 0;
  Exhaustion exhausted = Exhaustion::kNone;
  // The evaluation's own data, for library functions that need it (the space to query).
  void* context = nullptr;
};

class State {
 public:
  State();
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  lua_State* get() const { return L_; }
  Meter& meter();
  const Meter& meter() const;

  // Starts and ends counting an evaluation with these budgets.
  void begin(std::uint64_t instructions_max, std::uint64_t memory_bytes_max, void* context);
  void end();
  // A full garbage collection. The collector never runs by itself (its timing depends on
  // history); the owner calls this between evaluations when the state has grown.
  void collect();

 private:
  std::unique_ptr<Heap> heap_;  // the allocator's user data: its address never changes
  lua_State* L_ = nullptr;
};

// The Meter of the state L belongs to (any of its threads).
Meter& meter_of(lua_State* L);

// Adds `units` instructions to the current evaluation; raises the budget error (and counts the
// whole budget as spent) when that would exceed instructions_max. Outside an evaluation it does
// nothing.
void charge(lua_State* L, std::uint64_t units);

// Restarts the instruction count of thread T: a thread reused for every evaluation must count
// from the same point each time (the count hook fires every kHookPeriod instructions).
void restart_count(lua_State* T);

// Raises the error of an exhausted budget (marks the meter, never returns).
[[noreturn]] void raise_exhausted(lua_State* L, Exhaustion what);

// Allocation bytes of the longest string Lua interns (measured once on this build of Lua).
std::size_t short_string_alloc_max();

// Pushes a string (never through Lua's pointer-keyed string cache, whose hits differ per process).
inline void push(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

// The string at `index`, which must be a string (not a number: converting would allocate).
inline std::string_view view(lua_State* L, int index) {
  std::size_t n = 0;
  const char* p = lua_tolstring(L, index, &n);
  return {p, n};
}

namespace detail {
template <class F>
int trampoline(lua_State* L) {
  auto* f = static_cast<F*>(lua_touserdata(L, 1));
  lua_remove(L, 1);
  return (*f)(L);
}
}  // namespace detail

// Calls f(L) under lua_pcall with the `nargs` values on top of the stack as its arguments; f
// returns how many results it left on top. Returns the pcall status: on LUA_OK the `nresults`
// results are on the stack, otherwise the error value. f runs inside Lua's protection, so it
// must not itself hold C++ objects with destructors across raising calls.
template <class F>
int protect(lua_State* L, F& f, int nargs, int nresults) {
  lua_pushcfunction(L, &detail::trampoline<F>);  // light C functions and pointers allocate nothing
  lua_pushlightuserdata(L, &f);
  lua_rotate(L, -(nargs + 2), 2);
  return lua_pcall(L, nargs + 1, nresults, 0);
}

}  // namespace bastion::policy::lua
