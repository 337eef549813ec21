// The sandboxed standard library; see sandbox.h.
//
// Every function here is called by Lua and may raise, so none holds a C++ object with a
// destructor (lua_state.h): locals are integers, pointers and C structs only.
#include "policy/sandbox.h"

#include <locale.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace bastion::policy::sandbox {
namespace {

using lua::charge;

char kEnvironmentMetatableKey;

// ---- helpers --------------------------------------------------------------------------------

// Calls upvalue 1 (the wrapped original) with every argument and returns all its results.
int call_original(lua_State* L) {
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

std::uint64_t bytes_cost(std::uint64_t bytes) { return bytes / kBytesPerInstruction + 1; }

// Saturating product of small counts.
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}

// Lua's rule for a string position (1-based, negative from the end), clamped to [1, len + 1].
std::size_t start_position(lua_Integer pos, std::size_t len) {
  if (pos > 0) return std::min(static_cast<std::size_t>(pos), len + 1);
  if (pos == 0) return 1;
  if (static_cast<std::size_t>(-(pos + 1)) >= len) return 1;
  return len - static_cast<std::size_t>(-(pos + 1));
}

bool is_address_type(int type) {
  return type == LUA_TTABLE || type == LUA_TFUNCTION || type == LUA_TTHREAD ||
         type == LUA_TUSERDATA || type == LUA_TLIGHTUSERDATA;
}

// tostring without addresses: pushes the text of the value at `index`.
void push_text(lua_State* L, int index) {
  index = lua_absindex(L, index);
  const int type = lua_type(L, index);
  if (is_address_type(type)) {
    if (luaL_getmetafield(L, index, "__tostring") == LUA_TNIL) {
      lua_pushstring(L, lua_typename(L, type));
      return;
    }
    lua_pop(L, 1);
  }
  luaL_tolstring(L, index, nullptr);
}

// ---- stable merge sort over an array ----------------------------------------------------------

// less(L, a, b, data): is the value at stack index a less than the one at b (absolute indexes).
using Less = bool (*)(lua_State* L, int a, int b, int data);

// Sorts t[1..n] (t at absolute index `arr`), stably; charges n instructions per pass.
void merge_sort(lua_State* L, int arr, lua_Integer n, Less less, int data) {
  if (n < 2) return;
  luaL_checkstack(L, 4, "sort");
  charge(L, static_cast<std::uint64_t>(n));  // before the buffer, so a huge n fails cheaply
  lua_createtable(L, static_cast<int>(std::min<lua_Integer>(n, 1 << 30)), 0);
  const int buffer = lua_gettop(L);
  int src = arr;
  int dst = buffer;
  for (lua_Integer width = 1; width < n; width *= 2) {
    charge(L, static_cast<std::uint64_t>(n));
    for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
      const lua_Integer mid = std::min(lo + width, n + 1);
      const lua_Integer hi = std::min(lo + 2 * width, n + 1);
      lua_Integer i = lo;
      lua_Integer j = mid;
      lua_Integer k = lo;
      while (i < mid && j < hi) {
        lua_rawgeti(L, src, j);
        lua_rawgeti(L, src, i);
        const int top = lua_gettop(L);
        if (less(L, top - 1, top, data)) {  // right strictly before left: take right
          lua_pop(L, 1);
          lua_rawseti(L, dst, k++);
          ++j;
        } else {
          lua_rawseti(L, dst, k++);
          lua_pop(L, 1);
          ++i;
        }
      }
      for (; i < mid; ++i) {
        lua_rawgeti(L, src, i);
        lua_rawseti(L, dst, k++);
      }
      for (; j < hi; ++j) {
        lua_rawgeti(L, src, j);
        lua_rawseti(L, dst, k++);
      }
    }
    std::swap(src, dst);
  }
  if (src != arr) {
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, src, k);
      lua_rawseti(L, arr, k);
    }
  }
  lua_remove(L, buffer);
}

bool less_than(lua_State* L, int a, int b, int) { return lua_compare(L, a, b, LUA_OPLT) != 0; }

bool less_by(lua_State* L, int a, int b, int comparator) {
  lua_pushvalue(L, comparator);
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_call(L, 2, 1);
  const bool r = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  return r;
}

// Keys of pairs: numbers (by value), then strings (bytewise), then booleans (false first).
int key_rank(int type) { return type == LUA_TNUMBER ? 0 : type == LUA_TSTRING ? 1 : 2; }

bool key_less(lua_State* L, int a, int b, int) {
  const int ta = lua_type(L, a);
  const int tb = lua_type(L, b);
  if (ta != tb) return key_rank(ta) < key_rank(tb);
  if (ta == LUA_TNUMBER) return lua_compare(L, a, b, LUA_OPLT) != 0;
  if (ta == LUA_TBOOLEAN) return !lua_toboolean(L, a) && lua_toboolean(L, b);
  std::size_t la = 0;
  std::size_t lb = 0;
  const char* sa = lua_tolstring(L, a, &la);
  const char* sb = lua_tolstring(L, b, &lb);
  const int c = std::memcmp(sa, sb, std::min(la, lb));
  return c < 0 || (c == 0 && la < lb);
}

// ---- base ----------------------------------------------------------------------------------

int l_pairs_next(lua_State* L) {
  // upvalues: 1 the table, 2 its sorted keys, 3 the next position
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(3));
  for (;;) {
    if (lua_rawgeti(L, lua_upvalueindex(2), i) == LUA_TNIL) return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(3));
    lua_pushvalue(L, -1);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 2;  // key, value
    lua_pop(L, 2);  // removed during the loop: skip it
    ++i;
  }
}

int l_pairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L);  // 2: keys
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_pop(L, 1);
    const int type = lua_type(L, -1);
    if (type != LUA_TNUMBER && type != LUA_TSTRING && type != LUA_TBOOLEAN) {
      return luaL_error(L,
                        "pairs: a table with %s keys has no fixed order (use keys that are "
                        "numbers, strings or booleans)",
                        lua_typename(L, type));
    }
    charge(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, 2, ++n);
  }
  merge_sort(L, 2, n, &key_less, 0);
  lua_pushinteger(L, 1);
  lua_pushcclosure(L, &l_pairs_next, 3);
  return 1;
}

int l_pcall(lua_State* L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  const int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  if (lua::meter_of(L).exhausted != lua::Exhaustion::kNone) return lua_error(L);
  if (status != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L);
}

int l_xpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);  // f, handler, true, f, args...
  const int status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
  if (lua::meter_of(L).exhausted != lua::Exhaustion::kNone) return lua_error(L);
  if (status != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - 2;
}

int l_select(lua_State* L) {
  const int n = lua_gettop(L);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    const lua_Integer i = lua_tointeger(L, 1);
    if (i > 0 && i < n) charge(L, static_cast<std::uint64_t>(n - i));
    if (i < 0) charge(L, static_cast<std::uint64_t>(-(i + 1)) + 1);
  }
  return call_original(L);
}

int l_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    const bool finalizer = lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (finalizer)
      return luaL_error(L, "setmetatable: __gc finalizers are not allowed in a policy");
  }
  return call_original(L);
}

int l_tostring(lua_State* L) {
  luaL_checkany(L, 1);
  push_text(L, 1);
  return 1;
}

int l_read_only(lua_State* L) { return luaL_error(L, "attempt to modify a read-only table"); }

// ---- string ----------------------------------------------------------------------------------

constexpr const char* kPatternSpecials = "^$*+?.([%-";

bool has_specials(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == '\0' || std::strchr(kPatternSpecials, p[i]) != nullptr) return true;
  }
  return false;
}

// find, match, gmatch, gsub: charge the matcher's bound, then run the original.
int charge_pattern(lua_State* L, bool may_be_plain, bool anchorable, int init_arg) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  std::size_t subject = ls;
  if (init_arg > 0) {
    const std::size_t start = start_position(luaL_optinteger(L, init_arg, 1), ls);
    subject = ls + 1 - start;
  }
  const bool plain = may_be_plain && (lua_toboolean(L, 4) || !has_specials(p, lp));
  if (plain) {
    charge(L, bytes_cost(times(subject + 1, lp + 1)));
  } else {
    charge(L, pattern_cost(std::string_view(p, lp), subject, anchorable));
  }
  return call_original(L);
}

int l_find(lua_State* L) { return charge_pattern(L, true, true, 3); }
int l_match(lua_State* L) { return charge_pattern(L, false, true, 3); }
int l_gmatch(lua_State* L) { return charge_pattern(L, false, false, 3); }
int l_gsub(lua_State* L) { return charge_pattern(L, false, true, 0); }

// byte, reverse, sub, len-proportional work: charge the subject's size.
int l_charge_subject(lua_State* L) {
  std::size_t ls = 0;
  luaL_checklstring(L, 1, &ls);
  charge(L, bytes_cost(ls));
  return call_original(L);
}

int l_byte(lua_State* L) {
  std::size_t ls = 0;
  luaL_checklstring(L, 1, &ls);
  const lua_Integer i = luaL_optinteger(L, 2, 1);
  const lua_Integer j = luaL_optinteger(L, 3, i);
  const std::size_t from = start_position(i, ls);
  const std::size_t to =
      j >= 0 ? std::min(static_cast<std::size_t>(j), ls)
             : (static_cast<std::size_t>(-(j + 1)) >= ls ? 0
                                                         : ls - static_cast<std::size_t>(-(j + 1)));
  if (to >= from) charge(L, to - from + 1);
  return call_original(L);
}

int l_char(lua_State* L) {
  charge(L, static_cast<std::uint64_t>(lua_gettop(L)));
  return call_original(L);
}

int l_rep(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lsep = 0;
  luaL_checklstring(L, 1, &ls);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n > 0) charge(L, bytes_cost(times(ls + lsep, static_cast<std::uint64_t>(n))));
  return call_original(L);
}

int l_format(lua_State* L) {
  std::size_t lf = 0;
  const char* f = luaL_checklstring(L, 1, &lf);
  for (std::size_t i = 0; i < lf; ++i) {
    if (f[i] != '%') continue;
    if (++i < lf && f[i] == '%') continue;
    while (i < lf && std::strchr("-+ #0123456789.", f[i]) != nullptr) ++i;
    if (i < lf && f[i] == 'p') return luaL_error(L, "format: %%p (an address) is not allowed");
  }
  const int n = lua_gettop(L);
  std::uint64_t estimate = lf;
  for (int i = 2; i <= n; ++i) {
    if (is_address_type(lua_type(L, i))) {
      push_text(L, i);
      lua_replace(L, i);
    }
    estimate += 128;  // widths and precisions have at most two digits
    if (lua_type(L, i) == LUA_TSTRING) estimate += lua_rawlen(L, i);
  }
  charge(L, bytes_cost(estimate));
  return call_original(L);
}

int change_case(lua_State* L, bool upper) {
  std::size_t l = 0;
  const char* s = luaL_checklstring(L, 1, &l);
  charge(L, bytes_cost(l));
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, l);
  for (std::size_t i = 0; i < l; ++i) {
    const char c = s[i];
    if (upper && c >= 'a' && c <= 'z') {
      out[i] = static_cast<char>(c - 'a' + 'A');
    } else if (!upper && c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c - 'A' + 'a');
    } else {
      out[i] = c;
    }
  }
  luaL_pushresultsize(&b, l);
  return 1;
}

int l_lower(lua_State* L) { return change_case(L, false); }
int l_upper(lua_State* L) { return change_case(L, true); }

// ---- table -----------------------------------------------------------------------------------

int l_concat(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer i = luaL_optinteger(L, 3, 1);
  const lua_Integer j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
  if (j >= i) charge(L, static_cast<std::uint64_t>(j) - static_cast<std::uint64_t>(i) + 1);
  const int results = call_original(L);
  charge(L, bytes_cost(lua_rawlen(L, -1)));
  return results;
}

int l_charge_length(lua_State* L) {  // insert, remove: they shift the array
  luaL_checktype(L, 1, LUA_TTABLE);
  charge(L, static_cast<std::uint64_t>(lua_rawlen(L, 1)) + 1);
  return call_original(L);
}

int l_move(lua_State* L) {
  const lua_Integer f = luaL_checkinteger(L, 2);
  const lua_Integer e = luaL_checkinteger(L, 3);
  if (e >= f) charge(L, static_cast<std::uint64_t>(e) - static_cast<std::uint64_t>(f) + 1);
  return call_original(L);
}

int l_pack(lua_State* L) {
  charge(L, static_cast<std::uint64_t>(lua_gettop(L)) + 1);
  return call_original(L);
}

int l_unpack(lua_State* L) {
  const lua_Integer i = luaL_optinteger(L, 2, 1);
  const lua_Integer j = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
  if (j >= i) charge(L, static_cast<std::uint64_t>(j) - static_cast<std::uint64_t>(i) + 1);
  return call_original(L);
}

int l_sort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer n = luaL_len(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    merge_sort(L, 1, n, &less_than, 0);
  } else {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    merge_sort(L, 1, n, &less_by, 2);
  }
  return 0;
}

// ---- building the environment ------------------------------------------------------------------

void copy_field(lua_State* L, int from, int to, const char* name) {
  lua_getfield(L, from, name);
  lua_setfield(L, to, name);
}

void wrap_field(lua_State* L, int from, int to, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, from, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, to, name);
}

void set_function(lua_State* L, int to, const char* name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, to, name);
}

// Opens a standard library into the (hidden) global table and pushes its table.
void open(lua_State* L, const char* name, lua_CFunction opener) {
  luaL_requiref(L, name, opener, 1);
}

}  // namespace

std::uint64_t pattern_cost(std::string_view p, std::size_t subject_bytes, bool anchorable) {
  const double positions = static_cast<double>(subject_bytes) + 1.0;
  double branches = 1.0;
  bool linear_items = false;  // %b and back-references scan the subject
  std::size_t i = 0;
  const bool anchored = anchorable && !p.empty() && p[0] == '^';
  if (anchored) i = 1;
  auto skip_set = [&] {  // p[i] == '[': past the matching ']'
    ++i;
    if (i < p.size() && p[i] == '^') ++i;
    do {
      if (i >= p.size()) return;
      if (p[i] == '%') ++i;
      ++i;
    } while (i < p.size() && p[i] != ']');
    ++i;
  };
  while (i < p.size()) {
    const char c = p[i];
    if (c == '(' || c == ')') {
      ++i;
      continue;
    }
    if (c == '%' && i + 1 < p.size()) {
      const char d = p[i + 1];
      if (d == 'b') {
        linear_items = true;
        i += 4;
        continue;
      }
      if (d == 'f') {
        i += 2;
        if (i < p.size() && p[i] == '[') skip_set();
        continue;
      }
      if (d >= '0' && d <= '9') {
        linear_items = true;
        i += 2;
        continue;
      }
      i += 2;
    } else if (c == '[') {
      skip_set();
    } else {
      ++i;
    }
    if (i < p.size()) {
      const char q = p[i];
      if (q == '*' || q == '+' || q == '-') {
        branches *= positions;
        ++i;
      } else if (q == '?') {
        branches *= 2.0;
        ++i;
      }
    }
  }
  const double per_path = static_cast<double>(p.size()) + 1.0 + (linear_items ? positions : 0.0);
  const double starts = anchored ? 1.0 : positions;
  const double cost = starts * branches * per_path;
  constexpr double kCap = 9.0e18;
  return cost >= kCap ? static_cast<std::uint64_t>(kCap) : static_cast<std::uint64_t>(cost);
}

void install(lua_State* L) {
  luaL_checkstack(L, 16, "sandbox");
  // A string buffer that outgrows the stack moves into a box whose metatable Lua makes the
  // first time it needs one; made here, it is never counted against the one evaluation that
  // happens to be first (its bytes would differ from every later one's).
  luaL_Buffer buffer;
  luaL_buffinit(L, &buffer);
  luaL_prepbuffsize(&buffer, 4 * LUAL_BUFFERSIZE);
  luaL_pushresult(&buffer);
  lua_pop(L, 1);
  open(L, "_G", luaopen_base);
  const int G = lua_gettop(L);
  open(L, "string", luaopen_string);
  const int S = lua_gettop(L);
  open(L, "table", luaopen_table);
  const int T = lua_gettop(L);
  open(L, "math", luaopen_math);
  const int M = lua_gettop(L);

  lua_newtable(L);
  const int base = lua_gettop(L);
  for (const char* name : {"assert", "error", "getmetatable", "ipairs", "rawequal", "rawget",
                           "rawlen", "tonumber", "type"}) {
    copy_field(L, G, base, name);
  }
  set_function(L, base, "pairs", &l_pairs);
  set_function(L, base, "pcall", &l_pcall);
  set_function(L, base, "xpcall", &l_xpcall);
  set_function(L, base, "tostring", &l_tostring);
  wrap_field(L, G, base, "select", &l_select);
  wrap_field(L, G, base, "setmetatable", &l_setmetatable);

  lua_newtable(L);
  const int string = lua_gettop(L);
  copy_field(L, S, string, "len");
  wrap_field(L, S, string, "byte", &l_byte);
  wrap_field(L, S, string, "char", &l_char);
  wrap_field(L, S, string, "find", &l_find);
  wrap_field(L, S, string, "format", &l_format);
  wrap_field(L, S, string, "gmatch", &l_gmatch);
  wrap_field(L, S, string, "gsub", &l_gsub);
  wrap_field(L, S, string, "match", &l_match);
  wrap_field(L, S, string, "rep", &l_rep);
  wrap_field(L, S, string, "reverse", &l_charge_subject);
  wrap_field(L, S, string, "sub", &l_charge_subject);
  set_function(L, string, "lower", &l_lower);
  set_function(L, string, "upper", &l_upper);
  // Strings' methods are these; their metatable is out of reach.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushvalue(L, string);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  lua_pushvalue(L, string);
  make_read_only(L);
  lua_setfield(L, base, "string");

  lua_newtable(L);
  const int table = lua_gettop(L);
  wrap_field(L, T, table, "concat", &l_concat);
  wrap_field(L, T, table, "insert", &l_charge_length);
  wrap_field(L, T, table, "move", &l_move);
  wrap_field(L, T, table, "pack", &l_pack);
  wrap_field(L, T, table, "remove", &l_charge_length);
  wrap_field(L, T, table, "unpack", &l_unpack);
  set_function(L, table, "sort", &l_sort);
  make_read_only(L);
  lua_setfield(L, base, "table");

  lua_newtable(L);
  const int math = lua_gettop(L);
  for (const char* name : {"abs", "ceil", "floor", "fmod", "huge", "max", "maxinteger", "min",
                           "mininteger", "modf", "pi", "sqrt", "tointeger", "type", "ult"}) {
    copy_field(L, M, math, name);
  }
  make_read_only(L);
  lua_setfield(L, base, "math");

  // The metatable of every evaluation's globals.
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, base);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kEnvironmentMetatableKey);

  lua_pushvalue(L, base);  // leave only the base environment
  lua_replace(L, G);
  lua_settop(L, G);
}

void make_read_only(lua_State* L) {
  lua_newtable(L);           // the view
  lua_createtable(L, 0, 3);  // its metatable
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, &l_read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_replace(L, -2);
}

void push_environment(lua_State* L) {
  lua_newtable(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kEnvironmentMetatableKey);
  lua_setmetatable(L, -2);
}

CLocale::CLocale() {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  previous_ = static_cast<void*>(uselocale(c_locale));
}

CLocale::~CLocale() { uselocale(static_cast<locale_t>(previous_)); }

}  // namespace bastion::policy::sandbox
