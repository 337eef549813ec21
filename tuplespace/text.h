// The text syntax of tuples and templates (parser and printer) and their JSON form.
//
//   ("job", 42, -3.5e2, true, 0x00ff, *, ?int)
//
// This is what users type in the `bastion` tool and shell, what tests and docs show, and what the
// tool prints. The full grammar, every error message and the JSON form are in docs/syntax.md.
//
// Invariants:
//   - Round trip: for every Tuple or Template t of finite floats, parse(to_text(t)) == t, and
//     to_text is canonical: to_text(parse(to_text(t))) == to_text(t).
//   - Strings are octet strings. Valid UTF-8 prints as itself (control, line-separator and bidi
//     code points as \uXXXX); a byte that is not part of well-formed UTF-8 prints as \xHH, an
//     escape the parser turns back into that one byte. So every string round-trips, and the
//     output of to_text is always valid UTF-8.
//   - The parser runs in time linear in its input, never recurses, and never asserts on input:
//     every malformed input is a ParseError.
//   - to_json emits one JSON value without newlines; it is valid JSON (RFC 8259) for every value.
//     A string that is not valid UTF-8 cannot be a JSON string, so it becomes
//     {"string_hex":"..."}; bytes are {"bytes":"..."}.
//
// Thread-safety: pure functions, no shared state; safe to call from any thread.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

#include "codec/result.h"
#include "tuplespace/value.h"

namespace bastion::ts {

// Where and why parsing failed. `column` is 1-based and counts code points (characters) of the
// input, so a caret printed under the input lines up in a terminal; each byte that is not part of
// well-formed UTF-8 counts as one column. `offset` is the same place in bytes (0-based).
struct ParseError {
  std::size_t column = 0;
  std::size_t offset = 0;
  std::string message;

  // "column 12: unterminated string"
  std::string to_string() const;
  friend bool operator==(const ParseError&, const ParseError&) = default;
};
std::ostream& operator<<(std::ostream& os, const ParseError& e);

// A parenthesised list of values. Wildcards are rejected with an error that says so.
Result<Tuple, ParseError> parse_tuple(std::string_view text);
// A parenthesised list of values and wildcards (`*`, `?string`, `?int`, ...).
Result<Template, ParseError> parse_template(std::string_view text);
// One literal on its own ("x", 42, 1.5, true, 0x00), surrounded by optional whitespace.
Result<Value, ParseError> parse_value(std::string_view text);

// Canonical text. Non-finite floats (which no valid tuple holds) print as nan, inf, -inf, which
// the parser rejects.
std::string to_text(const Value& v);
std::string to_text(const Pattern& p);
std::string to_text(const Tuple& t);
std::string to_text(const Template& t);

// Compact JSON: a tuple or template is an array. Non-finite floats print as null.
std::string to_json(const Value& v);
std::string to_json(const Pattern& p);
std::string to_json(const Tuple& t);
std::string to_json(const Template& t);

}  // namespace bastion::ts
