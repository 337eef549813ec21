// The environment a policy script runs in: a subset of Lua's standard library made deterministic
// and metered, for a lua::State.
//
// A script sees only what install() puts in the base environment (every evaluation gets a fresh
// global table that reads through to it and is thrown away afterwards, so nothing a script
// stores survives to the next evaluation):
//   base    assert error getmetatable ipairs pairs pcall rawequal rawget rawlen select
//           setmetatable tonumber tostring type xpcall
//   string  byte char find format gmatch gsub len lower match rep reverse sub upper
//   table   concat insert move pack remove sort unpack
//   math    abs ceil floor fmod huge max maxinteger min mininteger modf pi sqrt tointeger type ult
// and whatever the caller adds (policy/script.cc adds the request, allow, deny and the queries).
// Left out: io, os, debug, package, require, load and its kin (no code from strings, no bytecode),
// string.dump, collectgarbage, print, warn, next, rawset, coroutine, utf8, math.random and
// randomseed, and the transcendental math functions (the C library may round them differently
// on different CPUs).
//
// Made deterministic:
//   - pairs visits keys in a fixed order (numbers ascending, then strings bytewise, then false,
//     true) instead of Lua's hash order, which depends on a per-state random seed; keys of other
//     types are an error. next is gone.
//   - tostring of a table, function or userdata without __tostring gives its type name, not its
//     address; string.format refuses %p and formats such values the same way.
//   - table.sort is a stable merge sort (Lua's quicksort picks pivots from the clock).
//   - lower, upper and pattern classes see the C locale, whatever the process's locale.
//   - setmetatable refuses __gc (finalizers would run outside any evaluation).
// Metered: functions that work in C charge instructions for it before they start (bytes / 16,
// elements, comparisons). Pattern functions (find, match, gmatch, gsub) charge an upper bound of
// the matcher's steps: (subject + 1) per quantifier (*, +, -), 2 per ?, times the start positions
// and the pattern's length, so `("a"):rep(200):find(".-.-.-.-b")` is refused at once instead of
// running for seconds. pcall and xpcall re-raise an exhausted budget.
//
// Library tables (string, table, math) are read-only views; strings' methods are the sandboxed
// ones and their metatable cannot be reached.
//
// Thread-safety: none; per state.
#pragma once

#include <cstdint>
#include <string_view>

#include "policy/lua_state.h"

namespace bastion::policy::sandbox {

// Builds the base environment and leaves it on the stack. Must run inside lua_pcall (it
// allocates).
void install(lua_State* L);

// Creates a read-only view of the table on top of the stack, replacing it.
void make_read_only(lua_State* L);

// Pushes a fresh global table for one evaluation, reading through to the base environment.
void push_environment(lua_State* L);

// Makes the C locale current on this thread for as long as the object lives.
class CLocale {
 public:
  CLocale();
  ~CLocale();
  CLocale(const CLocale&) = delete;
  CLocale& operator=(const CLocale&) = delete;

 private:
  void* previous_;
};

// Upper bound of the steps Lua's matcher takes for `pattern` over a subject of `subject_bytes`
// (saturating); `anchorable` is false for gmatch, where ^ anchors nothing.
std::uint64_t pattern_cost(std::string_view pattern, std::size_t subject_bytes, bool anchorable);

// Bytes of work a C function may do per charged instruction.
inline constexpr std::uint64_t kBytesPerInstruction = 16;

}  // namespace bastion::policy::sandbox
