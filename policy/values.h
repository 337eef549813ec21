// Tuples, templates and their fields as Lua values, for policy scripts.
//
//   string, int, float, bool   a Lua string, integer, float, boolean (math.type tells int from
//                              float: Lua's 1 == 1.0, the tuple space's do not match)
//   bytes                      a `bytes` value: #b, b:hex() ("00ff"), b:raw() (the octets as a
//                              string), tostring(b) ("0x00ff"), == by content; bytes(s) makes one
//   *                          ANY
//   ?string ?int ?float ?bool ?bytes   FORMAL.string, FORMAL.int, ... (typed wildcards)
//   a tuple or a template      an array of those
// field_type(v) names any of them as the text syntax does: "string", "int", "float", "bool",
// "bytes", "*", "?int", ...; nil for anything else.
//
// Reading a Lua array back (read_tuple, read_template) never raises a Lua error: it reports
// problems in `error`, so callers may hold C++ objects while they read (lua_state.h).
//
// Thread-safety: none; per state.
#pragma once

#include <string>

#include "policy/lua_state.h"
#include "tuplespace/value.h"

namespace bastion::policy::values {

// Adds ANY, FORMAL, bytes and field_type to the table at `base`. Raises on allocation failure.
void install(lua_State* L, int base);

// Push values (raise on allocation failure).
void push_value(lua_State* L, const ts::Value& value);
void push_tuple(lua_State* L, const ts::Tuple& tuple);
void push_template(lua_State* L, const ts::Template& tmpl);

// The array at `index` as a tuple or template (1..ts::kFieldsCap fields, finite floats).
bool read_tuple(lua_State* L, int index, ts::Tuple& out, std::string& error);
bool read_template(lua_State* L, int index, ts::Template& out, std::string& error);

}  // namespace bastion::policy::values
