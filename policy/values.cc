// Tuple-space values in Lua; see values.h.
#include "policy/values.h"

#include <cmath>
#include <cstring>

#include "policy/sandbox.h"
#include "tuplespace/ops.h"

namespace bastion::policy::values {
namespace {

char kBytesMetatableKey;
char kAnyKey;
char kFormalsKey;  // array: FORMAL sentinel of type t at t + 1

// The block of every userdata this file makes. Scripts cannot make userdata of their own, so a
// userdata of this size with this magic is one of ours.
struct Tag {
  std::uint32_t magic;
  std::uint8_t kind;
  std::uint8_t type;  // kFormal: the ts::Type
};
constexpr std::uint32_t kMagic = 0x42535456;  // "VTSB"
enum Kind : std::uint8_t { kBytes = 1, kAny = 2, kFormal = 3 };

const Tag* tag_at(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TUSERDATA || lua_rawlen(L, index) != sizeof(Tag)) return nullptr;
  const auto* tag = static_cast<const Tag*>(lua_touserdata(L, index));
  return tag->magic == kMagic ? tag : nullptr;
}

void new_tagged(lua_State* L, Kind kind, std::uint8_t type) {
  const Tag tag{kMagic, kind, type};
  std::memcpy(lua_newuserdatauv(L, sizeof(Tag), 1), &tag, sizeof tag);
}

void push_bytes(lua_State* L, const char* data, std::size_t size) {
  new_tagged(L, kBytes, 0);
  lua_pushlstring(L, data, size);
  lua_setiuservalue(L, -2, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kBytesMetatableKey);
  lua_setmetatable(L, -2);
}

// The octets of the bytes value at `index` (pushes nothing).
bool octets_of(lua_State* L, int index, const char** data, std::size_t* size) {
  const Tag* tag = tag_at(L, index);
  if (tag == nullptr || tag->kind != kBytes) return false;
  lua_getiuservalue(L, index, 1);
  *data = lua_tolstring(L, -1, size);  // a string: the pointer stays valid, the uservalue holds it
  lua_pop(L, 1);
  return true;
}

int check_bytes(lua_State* L, int index, const char** data, std::size_t* size) {
  if (!octets_of(L, index, data, size)) return luaL_typeerror(L, index, "bytes");
  return 0;
}

int l_bytes(lua_State* L) {
  std::size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  lua::charge(L, n / sandbox::kBytesPerInstruction + 1);
  push_bytes(L, s, n);
  return 1;
}

int l_bytes_eq(lua_State* L) {
  const char* a = nullptr;
  const char* b = nullptr;
  std::size_t na = 0;
  std::size_t nb = 0;
  lua_pushboolean(L, octets_of(L, 1, &a, &na) && octets_of(L, 2, &b, &nb) && na == nb &&
                         std::memcmp(a, b, na) == 0);
  return 1;
}

int l_bytes_len(lua_State* L) {
  const char* data = nullptr;
  std::size_t size = 0;
  check_bytes(L, 1, &data, &size);
  lua_pushinteger(L, static_cast<lua_Integer>(size));
  return 1;
}

void push_hex(lua_State* L, const char* prefix, const char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  lua::charge(L, size / sandbox::kBytesPerInstruction + 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, prefix);
  for (std::size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    luaL_addchar(&b, kDigits[c >> 4]);
    luaL_addchar(&b, kDigits[c & 15]);
  }
  luaL_pushresult(&b);
}

template <const char* kPrefix>
int l_bytes_hex(lua_State* L) {
  const char* data = nullptr;
  std::size_t size = 0;
  check_bytes(L, 1, &data, &size);
  push_hex(L, kPrefix, data, size);
  return 1;
}
constexpr char kHexPrefix[] = "0x";  // tostring(b)
constexpr char kNoPrefix[] = "";     // b:hex()

int l_bytes_raw(lua_State* L) {
  const char* data = nullptr;
  std::size_t size = 0;
  check_bytes(L, 1, &data, &size);
  lua_getiuservalue(L, 1, 1);
  return 1;
}

int l_pattern_tostring(lua_State* L) {
  lua_getiuservalue(L, 1, 1);
  return 1;
}

// Pushes field_type's answer for the value at `index`, or nil.
void push_field_type(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING:
      lua_pushliteral(L, "string");
      return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        lua_pushliteral(L, "int");
      } else {
        lua_pushliteral(L, "float");
      }
      return;
    case LUA_TBOOLEAN:
      lua_pushliteral(L, "bool");
      return;
    default:
      break;
  }
  const Tag* tag = tag_at(L, index);
  if (tag == nullptr) {
    lua_pushnil(L);
  } else if (tag->kind == kBytes) {
    lua_pushliteral(L, "bytes");
  } else {
    lua_getiuservalue(L, index, 1);  // "*" or "?int", ...
  }
}

int l_field_type(lua_State* L) {
  luaL_checkany(L, 1);
  push_field_type(L, 1);
  return 1;
}

void make_pattern(lua_State* L, Kind kind, std::uint8_t type, const char* text) {
  new_tagged(L, kind, type);
  lua_pushstring(L, text);
  lua_setiuservalue(L, -2, 1);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, &l_pattern_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "field pattern");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

// One field: a value (or, when patterns are allowed, * or a typed wildcard).
bool read_field(lua_State* L, int index, bool patterns, ts::Pattern& out, std::string& error) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, index, &n);
      out = ts::Pattern(ts::Value(std::string(s, n)));
      return true;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        out = ts::Pattern(ts::Value(static_cast<std::int64_t>(lua_tointeger(L, index))));
        return true;
      } else {
        const double d = lua_tonumber(L, index);
        if (!std::isfinite(d)) {
          error = "is not a finite number";
          return false;
        }
        out = ts::Pattern(ts::Value(d));
        return true;
      }
    case LUA_TBOOLEAN:
      out = ts::Pattern(ts::Value(lua_toboolean(L, index) != 0));
      return true;
    default:
      break;
  }
  const Tag* tag = tag_at(L, index);
  if (tag != nullptr && tag->kind == kBytes) {
    const char* data = nullptr;
    std::size_t size = 0;
    octets_of(L, index, &data, &size);
    out = ts::Pattern(ts::Value(ts::Blob{std::string(data, size)}));
    return true;
  }
  if (tag != nullptr && patterns) {
    out = tag->kind == kAny ? ts::Pattern::any()
                            : ts::Pattern::typed(static_cast<ts::Type>(tag->type));
    return true;
  }
  error = std::string("is ") + (tag != nullptr ? "a wildcard" : luaL_typename(L, index)) +
          ", not a field value";
  return false;
}

template <class Each>
bool read_array(lua_State* L, int index, const char* what, std::string& error, Each&& each) {
  if (lua_type(L, index) != LUA_TTABLE) {
    error = std::string(what) + " must be an array of fields, not " + luaL_typename(L, index);
    return false;
  }
  const lua_Unsigned n = lua_rawlen(L, index);
  if (n == 0 || n > ts::kFieldsCap) {
    error = std::string(what) + " has " + std::to_string(n) + " fields (1.." +
            std::to_string(ts::kFieldsCap) + ")";
    return false;
  }
  index = lua_absindex(L, index);
  for (lua_Unsigned i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, static_cast<lua_Integer>(i));
    std::string problem;
    const bool ok = each(problem);
    lua_pop(L, 1);
    if (!ok) {
      error = std::string(what) + " field " + std::to_string(i) + " " + problem;
      return false;
    }
  }
  return true;
}

}  // namespace

void install(lua_State* L, int base) {
  base = lua_absindex(L, base);
  lua_createtable(L, 0, 5);  // the bytes metatable
  lua_pushcfunction(L, &l_bytes_eq);
  lua_setfield(L, -2, "__eq");
  lua_pushcfunction(L, &l_bytes_len);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, &l_bytes_hex<kHexPrefix>);
  lua_setfield(L, -2, "__tostring");
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, &l_bytes_hex<kNoPrefix>);
  lua_setfield(L, -2, "hex");
  lua_pushcfunction(L, &l_bytes_raw);
  lua_setfield(L, -2, "raw");
  sandbox::make_read_only(L);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "bytes");
  lua_setfield(L, -2, "__metatable");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kBytesMetatableKey);

  make_pattern(L, kAny, 0, "*");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kAnyKey);
  lua_setfield(L, base, "ANY");

  // No std::string here: this code may raise (lua_state.h).
  static constexpr const char* kFormalText[ts::kTypeCount] = {"?string", "?int", "?float", "?bool",
                                                              "?bytes"};
  lua_createtable(L, ts::kTypeCount, 0);  // by type, for push_template
  lua_createtable(L, 0, ts::kTypeCount);  // by name, for scripts
  for (int t = 0; t < ts::kTypeCount; ++t) {
    const std::string_view name = ts::type_name(static_cast<ts::Type>(t));
    make_pattern(L, kFormal, static_cast<std::uint8_t>(t), kFormalText[t]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -4, t + 1);
    lua::push(L, name);
    lua_insert(L, -2);
    lua_rawset(L, -3);
  }
  sandbox::make_read_only(L);
  lua_setfield(L, base, "FORMAL");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kFormalsKey);

  lua_pushcfunction(L, &l_bytes);
  lua_setfield(L, base, "bytes");
  lua_pushcfunction(L, &l_field_type);
  lua_setfield(L, base, "field_type");
}

void push_value(lua_State* L, const ts::Value& value) {
  switch (value.type()) {
    case ts::Type::kString:
      lua::push(L, value.as_string());
      return;
    case ts::Type::kInt:
      lua_pushinteger(L, value.as_int());
      return;
    case ts::Type::kFloat:
      lua_pushnumber(L, value.as_float());
      return;
    case ts::Type::kBool:
      lua_pushboolean(L, value.as_bool() ? 1 : 0);
      return;
    case ts::Type::kBytes:
      push_bytes(L, value.as_bytes().data.data(), value.as_bytes().data.size());
      return;
  }
}

void push_tuple(lua_State* L, const ts::Tuple& tuple) {
  lua_createtable(L, static_cast<int>(tuple.size()), 0);
  for (std::size_t i = 0; i < tuple.size(); ++i) {
    push_value(L, tuple[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

void push_template(lua_State* L, const ts::Template& tmpl) {
  lua_createtable(L, static_cast<int>(tmpl.size()), 0);
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    const ts::Pattern& p = tmpl[i];
    if (p.is_value()) {
      push_value(L, p.value());
    } else if (p.is_any()) {
      lua_rawgetp(L, LUA_REGISTRYINDEX, &kAnyKey);
    } else {
      lua_rawgetp(L, LUA_REGISTRYINDEX, &kFormalsKey);
      lua_rawgeti(L, -1, static_cast<lua_Integer>(p.type()) + 1);
      lua_remove(L, -2);
    }
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

bool read_tuple(lua_State* L, int index, ts::Tuple& out, std::string& error) {
  out.clear();
  return read_array(L, index, "tuple", error, [&](std::string& problem) {
    ts::Pattern field;
    if (!read_field(L, -1, false, field, problem)) return false;
    out.push_back(field.value());
    return true;
  });
}

bool read_template(lua_State* L, int index, ts::Template& out, std::string& error) {
  out.clear();
  return read_array(L, index, "template", error, [&](std::string& problem) {
    ts::Pattern field;
    if (!read_field(L, -1, true, field, problem)) return false;
    out.push_back(std::move(field));
    return true;
  });
}

}  // namespace bastion::policy::values
