// The text syntax of tuples and templates and their JSON form (see text.h and docs/syntax.md).
//
// The parser is a single left-to-right pass with one byte of lookahead (two for `0x`, and a
// second \u escape for a surrogate pair): no recursion, no backtracking, so its time is linear in
// the input. Errors carry a byte offset; the column in code points is computed only once, when
// an error leaves the parser.
//
// Thread-safety: no state outside the stack.
#include "tuplespace/text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <system_error>
#include <type_traits>
#include <utility>

namespace bastion::ts {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// ---- UTF-8 ------------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence that starts at s[i] (Unicode table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), and its code point; 0 when s[i] starts none.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xbf) return 0;
  }
  char32_t c = b0 & (0x7fu >> len);
  for (std::size_t k = 1; k < len; ++k) c = (c << 6) | (byte(k) & 0x3fu);
  cp = c;
  return len;
}

bool valid_utf8(std::string_view s) {
  char32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence(s, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// 1-based column, in code points, of byte `offset`; every byte outside well-formed UTF-8 counts
// as one column.
std::size_t column_of(std::string_view s, std::size_t offset) {
  std::size_t column = 1;
  char32_t cp = 0;
  for (std::size_t i = 0; i < offset && i < s.size(); ++column) {
    const std::size_t len = utf8_sequence(s, i, cp);
    i += len == 0 ? 1 : len;
  }
  return column;
}

// Code points that print as \uXXXX although they are valid: C0 and C1 controls and DEL (a
// terminal would act on them), and invisible characters that change how the rest of a line reads
// (line and paragraph separators, bidi marks, embeddings, overrides and isolates, the BOM).
bool must_escape(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

void append_u_escape(std::string& out, char32_t cp) {  // cp <= 0xffff
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHexDigits[(cp >> shift) & 0xf];
}

void append_hex_byte(std::string& out, unsigned char b) {
  out += kHexDigits[b >> 4];
  out += kHexDigits[b & 0xf];
}

// Shared by the text and JSON printers: ", \ and the escapes above. Invalid UTF-8 bytes print as
// \xHH (text only; JSON callers check validity first).
void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  char32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence(s, i, cp);
    if (len == 0) {
      out += "\\x";
      append_hex_byte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (cp == '"') {
      out += "\\\"";
    } else if (cp == '\\') {
      out += "\\\\";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (must_escape(cp)) {
      append_u_escape(out, cp);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

// ---- printing numbers -------------------------------------------------------------------------

void append_float(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that reads back
  const std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  const std::size_t e = s.find('e');
  if (e == std::string_view::npos) {
    out.append(s);
    if (s.find('.') == std::string_view::npos) out += ".0";  // a float must look like one
    return;
  }
  // to_chars writes exponents as e+21 and e-07; the canonical form is e21 and e-7.
  out.append(s.substr(0, e + 1));
  std::size_t k = e + 1;
  if (s[k] == '-') out += s[k];
  if (s[k] == '-' || s[k] == '+') ++k;
  while (k + 1 < s.size() && s[k] == '0') ++k;
  out.append(s.substr(k));
}

void append_int(std::string& out, std::int64_t i) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

void append_text(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::kString:
      append_quoted(out, v.as_string());
      break;
    case Type::kInt:
      append_int(out, v.as_int());
      break;
    case Type::kFloat:
      append_float(out, v.as_float());
      break;
    case Type::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case Type::kBytes:
      out += "0x";
      for (char c : v.as_bytes().data) append_hex_byte(out, static_cast<unsigned char>(c));
      break;
  }
}

void append_text(std::string& out, const Pattern& p) {
  if (p.is_any()) {
    out += '*';
  } else if (p.is_typed()) {
    out += '?';
    out += type_name(p.type());
  } else {
    append_text(out, p.value());
  }
}

void append_json(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::kString:
      if (valid_utf8(v.as_string())) {
        append_quoted(out, v.as_string());
      } else {
        out += "{\"string_hex\":\"";
        for (char c : v.as_string()) append_hex_byte(out, static_cast<unsigned char>(c));
        out += "\"}";
      }
      break;
    case Type::kFloat:
      if (std::isfinite(v.as_float())) {
        append_float(out, v.as_float());
      } else {
        out += "null";
      }
      break;
    case Type::kBytes:
      out += "{\"bytes\":\"";
      for (char c : v.as_bytes().data) append_hex_byte(out, static_cast<unsigned char>(c));
      out += "\"}";
      break;
    case Type::kInt:
    case Type::kBool:
      append_text(out, v);
      break;
  }
}

void append_json(std::string& out, const Pattern& p) {
  if (p.is_any()) {
    out += "{\"any\":true}";
  } else if (p.is_typed()) {
    out += "{\"type\":\"";
    out += type_name(p.type());
    out += "\"}";
  } else {
    append_json(out, p.value());
  }
}

template <class Field>
std::string list_text(const std::vector<Field>& fields) {
  std::string out = "(";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ", ";
    append_text(out, fields[i]);
  }
  out += ')';
  return out;
}

template <class Field>
std::string list_json(const std::vector<Field>& fields) {
  std::string out = "[";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    append_json(out, fields[i]);
  }
  out += ']';
  return out;
}

// ---- parser -----------------------------------------------------------------------------------

struct Failure {
  std::size_t offset;
  std::string message;
};
template <class T>
using Parsed = Result<T, Failure>;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  // `(` [field {`,` field}] `)` and nothing after it but whitespace. Field is Value or Pattern.
  template <class Field>
  Parsed<std::vector<Field>> list() {
    std::vector<Field> fields;
    skip_space();
    if (!accept('(')) return fail_here("expected '('");
    skip_space();
    if (!accept(')')) {
      for (;;) {
        auto field = this->field<Field>();
        if (!field) return fail(std::move(field).error());
        fields.push_back(std::move(*field));
        skip_space();
        if (accept(')')) break;
        if (!accept(',')) return fail_here("expected ',' or ')'");
        skip_space();
      }
    }
    skip_space();
    if (!at_end()) return fail_here("unexpected text after ')'");
    return fields;
  }

  Parsed<Value> single() {
    skip_space();
    auto v = field<Value>();
    if (!v) return v;
    skip_space();
    if (!at_end()) return fail_here("unexpected text after the value");
    return v;
  }

 private:
  template <class Field>
  Parsed<Field> field() {
    if (at_end()) return fail_here("expected a value");
    if (peek() == '*' || peek() == '?') {
      const std::size_t start = pos_;
      auto wildcard = this->wildcard();
      if (!wildcard) return fail(std::move(wildcard).error());
      if constexpr (std::is_same_v<Field, Pattern>) {
        return *wildcard;
      } else {
        return fail_at(start, wildcard->is_any()
                                  ? "wildcard '*' is only allowed in a template"
                                  : "typed wildcard '?" + std::string(type_name(wildcard->type())) +
                                        "' is only allowed in a template");
      }
    } else {
      auto v = literal();
      if (!v) return fail(std::move(v).error());
      return Field(std::move(*v));
    }
  }

  Parsed<Pattern> wildcard() {
    const std::size_t question = pos_;
    if (accept('*')) return Pattern::any();
    ++pos_;  // '?'
    const std::size_t start = pos_;
    while (!at_end() && is_word_char(peek())) ++pos_;
    const std::string_view name = in_.substr(start, pos_ - start);
    for (int t = 0; t < kTypeCount; ++t) {
      if (name == type_name(static_cast<Type>(t))) return Pattern::typed(static_cast<Type>(t));
    }
    return fail_at(question, "unknown type after '?' (expected string, int, float, bool or bytes)");
  }

  Parsed<Value> literal() {
    const char c = peek();
    if (c == '"') return string();
    if (c == '0' && pos_ + 1 < in_.size() && in_[pos_ + 1] == 'x') return bytes();
    if (is_digit(c) || c == '-' || c == '+') return number();
    if (c == '.') {
      if (pos_ + 1 < in_.size() && is_digit(in_[pos_ + 1])) {
        return fail_here("a float needs a digit before '.' (write 0.5, not .5)");
      }
    } else if (is_word_char(c)) {
      return word();
    } else if (c == '(') {
      return fail_here("nested tuples are not supported");
    } else if (c == ',' || c == ')') {
      return fail_here("expected a value");
    }
    return fail_here(unexpected_character());
  }

  Parsed<Value> string() {
    const std::size_t open = pos_++;
    std::string out;
    for (;;) {
      const std::size_t run = pos_;
      while (!at_end() && plain_string_byte(peek())) ++pos_;
      out.append(in_.substr(run, pos_ - run));
      if (at_end()) return fail_at(open, "unterminated string");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return Value(std::move(out));
      }
      if (c != '\\') {
        return fail_here("raw control character in string (write it as an escape, e.g. \\n)");
      }
      auto ok = escape(open, out);
      if (!ok) return fail(std::move(ok).error());
    }
  }

  static bool plain_string_byte(char c) {
    const auto b = static_cast<unsigned char>(c);
    return b != '"' && b != '\\' && b >= 0x20 && b != 0x7f;
  }

  // At a backslash inside the string opened at `open`; appends what the escape stands for.
  Parsed<Done> escape(std::size_t open, std::string& out) {
    const std::size_t start = pos_++;
    if (at_end()) return fail_at(open, "unterminated string");
    const char c = in_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return Done{};
      case 'n':
        out += '\n';
        return Done{};
      case 't':
        out += '\t';
        return Done{};
      case 'r':
        out += '\r';
        return Done{};
      case 'b':
        out += '\b';
        return Done{};
      case 'f':
        out += '\f';
        return Done{};
      case 'x': {
        const int hi = pos_ < in_.size() ? hex_value(in_[pos_]) : -1;
        const int lo = pos_ + 1 < in_.size() ? hex_value(in_[pos_ + 1]) : -1;
        if (hi < 0 || lo < 0) return fail_at(start, "\\x needs 2 hex digits");
        pos_ += 2;
        out += static_cast<char>(hi * 16 + lo);
        return Done{};
      }
      case 'u':
        return unicode_escape(start, out);
      default:
        if (c > 0x20 && c < 0x7f) {
          return fail_at(start, std::string("unknown escape '\\") + c + "'");
        }
        return fail_at(start, "unknown escape");
    }
  }

  // After "\u" (the backslash at `start`): four hex digits, and a second \uXXXX for a surrogate
  // pair.
  Parsed<Done> unicode_escape(std::size_t start, std::string& out) {
    const long first = hex4();
    if (first < 0) return fail_at(start, "\\u needs 4 hex digits");
    char32_t cp = static_cast<char32_t>(first);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const std::size_t second_start = pos_;
      long second = -1;
      if (in_.substr(pos_, 2) == "\\u") {
        pos_ += 2;
        second = hex4();
      }
      if (second < 0xdc00 || second > 0xdfff) {
        pos_ = second_start;
        return fail_at(start, lone_surrogate(cp));
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (static_cast<char32_t>(second) - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return fail_at(start, lone_surrogate(cp));
    }
    append_utf8(out, cp);
    return Done{};
  }

  static std::string lone_surrogate(char32_t cp) {
    std::string m = "lone surrogate ";
    append_u_escape(m, cp);
    return m + " (a high surrogate \\uD800-\\uDBFF must be followed by a low one \\uDC00-\\uDFFF)";
  }

  // Four hex digits at pos_ (consumed), or -1 (nothing consumed).
  long hex4() {
    if (in_.size() - pos_ < 4) return -1;
    long v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int h = hex_value(in_[pos_ + k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    pos_ += 4;
    return v;
  }

  Parsed<Value> number() {
    const std::size_t start = pos_;
    const bool plus = peek() == '+';
    if (plus || peek() == '-') ++pos_;
    if (at_end() || !is_digit(peek())) {
      if (pos_ + 1 < in_.size() && peek() == '.' && is_digit(in_[pos_ + 1])) {
        return fail_at(start, "a float needs a digit before '.' (write 0.5, not .5)");
      }
      const std::size_t word = pos_;
      while (!at_end() && is_word_char(peek())) ++pos_;
      if (is_non_finite_word(in_.substr(word, pos_ - word))) {
        return fail_at(start, "floats must be finite");
      }
      pos_ = word;
      return fail_here(std::string("expected a digit after '") + in_[start] + "'");
    }
    if (in_.substr(pos_, 2) == "0x") return fail_at(start, "bytes cannot have a sign");
    const std::size_t digits = pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    if (in_[digits] == '0' && pos_ - digits > 1) {
      return fail_at(digits, "leading zeros are not allowed");
    }
    bool is_float = false;
    if (accept('.')) {
      is_float = true;
      if (at_end() || !is_digit(peek())) return fail_here("expected a digit after '.'");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      is_float = true;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) return fail_here("expected a digit in the exponent");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (is_word_char(peek()) || peek() == '.')) {
      return fail_here(std::string("unexpected '") + peek() + "' in number");
    }
    // from_chars takes no '+'.
    const std::string_view text = in_.substr(start + (plus ? 1 : 0), pos_ - start - (plus ? 1 : 0));
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (is_float) {
      double d = 0;
      const auto r = std::from_chars(first, last, d, std::chars_format::general);
      // Out of range covers both overflow and a nonzero literal that rounds to zero.
      if (r.ec == std::errc::result_out_of_range) return fail_at(start, "float out of range");
      if (r.ec != std::errc() || r.ptr != last) return fail_at(start, "malformed float");
      return Value(d);
    }
    std::int64_t i = 0;
    const auto r = std::from_chars(first, last, i);
    if (r.ec == std::errc::result_out_of_range) return fail_at(start, "integer out of range");
    if (r.ec != std::errc() || r.ptr != last) return fail_at(start, "malformed integer");
    return Value(i);
  }

  static bool is_non_finite_word(std::string_view w) {
    return equals_ignoring_case(w, "nan") || equals_ignoring_case(w, "inf") ||
           equals_ignoring_case(w, "infinity");
  }

  Parsed<Value> bytes() {
    const std::size_t start = pos_;
    pos_ += 2;
    const std::size_t digits = pos_;
    while (!at_end() && hex_value(peek()) >= 0) ++pos_;
    if (!at_end() && is_word_char(peek())) {
      return fail_here(std::string("invalid hex digit '") + peek() + "' in bytes");
    }
    const std::size_t count = pos_ - digits;
    if (count % 2 != 0) return fail_at(start, "odd number of hex digits in bytes");
    Blob b;
    b.data.reserve(count / 2);
    for (std::size_t k = digits; k < pos_; k += 2) {
      b.data += static_cast<char>(hex_value(in_[k]) * 16 + hex_value(in_[k + 1]));
    }
    return Value(std::move(b));
  }

  Parsed<Value> word() {
    const std::size_t start = pos_;
    while (!at_end() && is_word_char(peek())) ++pos_;
    const std::string_view w = in_.substr(start, pos_ - start);
    if (w == "true") return Value(true);
    if (w == "false") return Value(false);
    if (equals_ignoring_case(w, "true") || equals_ignoring_case(w, "false")) {
      return fail_at(start, "booleans are written true and false (lowercase)");
    }
    if (is_non_finite_word(w)) return fail_at(start, "floats must be finite");
    std::string shown(w.substr(0, 24));
    if (w.size() > 24) shown += "...";
    return fail_at(start, "unknown word '" + shown + "' (strings need double quotes)");
  }

  // Describes the character at pos_ without echoing raw bytes into the message.
  std::string unexpected_character() const {
    const auto b = static_cast<unsigned char>(peek());
    if (b > 0x20 && b < 0x7f) return std::string("unexpected character '") + peek() + "'";
    char32_t cp = 0;
    if (utf8_sequence(in_, pos_, cp) == 0) {
      std::string m = "unexpected byte 0x";
      append_hex_byte(m, b);
      return m;
    }
    char buf[16];
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint32_t>(cp), 16);
    std::string hex(buf, r.ptr);
    for (char& h : hex) h = (h >= 'a' && h <= 'f') ? static_cast<char>(h - 'a' + 'A') : h;
    std::string m =
        "unexpected character U+" + std::string(hex.size() < 4 ? 4 - hex.size() : 0, '0') + hex;
    if (cp == 0x201c || cp == 0x201d) m += " (strings use plain double quotes \")";
    return m;
  }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return in_[pos_]; }
  bool accept(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }

  static Unexpected<Failure> fail(Failure f) { return {std::move(f)}; }
  static Unexpected<Failure> fail_at(std::size_t offset, std::string message) {
    return {Failure{offset, std::move(message)}};
  }
  Unexpected<Failure> fail_here(std::string message) const {
    return fail_at(pos_, std::move(message));
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

template <class T>
Result<T, ParseError> finish(std::string_view text, Parsed<T> r) {
  if (r) return std::move(*r);
  Failure& f = r.error();
  return fail(ParseError{column_of(text, f.offset), f.offset, std::move(f.message)});
}

}  // namespace

std::string ParseError::to_string() const {
  return "column " + std::to_string(column) + ": " + message;
}

std::ostream& operator<<(std::ostream& os, const ParseError& e) { return os << e.to_string(); }

Result<Tuple, ParseError> parse_tuple(std::string_view text) {
  return finish(text, Parser(text).list<Value>());
}

Result<Template, ParseError> parse_template(std::string_view text) {
  return finish(text, Parser(text).list<Pattern>());
}

Result<Value, ParseError> parse_value(std::string_view text) {
  return finish(text, Parser(text).single());
}

std::string to_text(const Value& v) {
  std::string out;
  append_text(out, v);
  return out;
}

std::string to_text(const Pattern& p) {
  std::string out;
  append_text(out, p);
  return out;
}

std::string to_text(const Tuple& t) { return list_text(t); }
std::string to_text(const Template& t) { return list_text(t); }

std::string to_json(const Value& v) {
  std::string out;
  append_json(out, v);
  return out;
}

std::string to_json(const Pattern& p) {
  std::string out;
  append_json(out, p);
  return out;
}

std::string to_json(const Tuple& t) { return list_json(t); }
std::string to_json(const Template& t) { return list_json(t); }

}  // namespace bastion::ts
