// Tuples, templates and matching: the data model of the tuple space.
//
// A tuple is an ordered list of typed fields: string, int (int64), float (double), bool, bytes.
// A template is a list of template fields: a concrete value, the wildcard `*` (any value of any
// type), or a typed wildcard (`?string`, `?int`, `?float`, `?bool`, `?bytes`: any value of that
// type, Linda's formal fields).
//
// Matching: a template matches a tuple of the same arity when every concrete field equals the
// tuple's field in type and value and every typed wildcard has the tuple field's type. Values of
// different types never match: int 1 and float 1.0 differ; bytes and strings with the same octets
// differ.
//
// Floats: only finite values are valid (NaN and the infinities are rejected by validate(), the
// text parser and the decoder), and -0.0 is normalised to +0.0 when a Value is built. So float
// equality is numeric equality and also bit equality, and matching, indexing, hashing and the
// canonical encoding agree on every replica.
//
// Values are plain data: copyable, comparable, hashable, with a canonical encoding (the
// serialize/load functions below go through codec's archives).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <cereal/types/string.hpp>

#include "codec/archive.h"

namespace bastion::ts {

enum class Type : std::uint8_t { kString = 0, kInt = 1, kFloat = 2, kBool = 3, kBytes = 4 };
inline constexpr int kTypeCount = 5;

// The name used by the text syntax and messages: "string", "int", "float", "bool", "bytes".
std::string_view type_name(Type t);

// An octet string, distinct from std::string so that the two field types cannot be confused.
struct Blob {
  std::string data;
  friend bool operator==(const Blob&, const Blob&) = default;
  friend auto operator<=>(const Blob&, const Blob&) = default;
};

class Value {
 public:
  Value() : v_(std::int64_t{0}) {}
  Value(std::string s) : v_(std::move(s)) {}    // NOLINT: values convert implicitly by design
  Value(const char* s) : v_(std::string(s)) {}  // NOLINT
  Value(std::int64_t i) : v_(i) {}              // NOLINT
  Value(int i) : v_(std::int64_t{i}) {}         // NOLINT
  Value(double d) : v_(d == 0.0 ? 0.0 : d) {}   // NOLINT: -0.0 becomes +0.0
  Value(bool b) : v_(b) {}                      // NOLINT
  Value(Blob b) : v_(std::move(b)) {}           // NOLINT

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is(Type t) const { return type() == t; }

  const std::string& as_string() const { return std::get<0>(v_); }
  std::int64_t as_int() const { return std::get<1>(v_); }
  double as_float() const { return std::get<2>(v_); }
  bool as_bool() const { return std::get<3>(v_); }
  const Blob& as_bytes() const { return std::get<4>(v_); }

  // False only for non-finite floats.
  bool valid() const;
  // Bytes this value occupies in the canonical encoding (for size limits).
  std::size_t encoded_size() const;
  // A hash that depends only on type and value (the same on every run and replica).
  std::uint64_t hash() const;

  friend bool operator==(const Value& a, const Value& b) = default;

  template <class Archive>
  void save(Archive& ar) const;
  template <class Archive>
  void load(Archive& ar);
  // Decodes the payload that follows a value tag (shared with Pattern's decoder).
  template <class Archive>
  static Value load_payload(Archive& ar, std::uint8_t tag);

 private:
  std::variant<std::string, std::int64_t, double, bool, Blob> v_;
};

using Tuple = std::vector<Value>;

// A template field: a value, `*`, or a typed wildcard.
class Pattern {
 public:
  Pattern() : kind_(Kind::kAny) {}
  Pattern(Value v) : kind_(Kind::kValue), value_(std::move(v)) {}  // NOLINT
  static Pattern any() { return Pattern(); }
  static Pattern typed(Type t) {
    Pattern p;
    p.kind_ = Kind::kTyped;
    p.type_ = t;
    return p;
  }

  bool is_value() const { return kind_ == Kind::kValue; }
  bool is_any() const { return kind_ == Kind::kAny; }
  bool is_typed() const { return kind_ == Kind::kTyped; }
  const Value& value() const { return value_; }  // only when is_value()
  Type type() const { return type_; }            // only when is_typed()

  bool matches(const Value& v) const {
    switch (kind_) {
      case Kind::kValue:
        return value_ == v;
      case Kind::kTyped:
        return v.type() == type_;
      case Kind::kAny:
        return true;
    }
    return false;
  }

  friend bool operator==(const Pattern& a, const Pattern& b) {
    return a.kind_ == b.kind_ && (a.kind_ != Kind::kValue || a.value_ == b.value_) &&
           (a.kind_ != Kind::kTyped || a.type_ == b.type_);
  }

  template <class Archive>
  void save(Archive& ar) const;
  template <class Archive>
  void load(Archive& ar);

 private:
  enum class Kind : std::uint8_t { kValue, kAny, kTyped };
  Kind kind_;
  Type type_ = Type::kString;
  Value value_;
};

using Template = std::vector<Pattern>;

bool matches(const Template& tmpl, const Tuple& tuple);

// A template that matches exactly this tuple.
Template exact(const Tuple& tuple);

// Bytes of the canonical encoding of a tuple (for size limits).
std::size_t encoded_size(const Tuple& tuple);

// All values valid (finite floats). Limits (arity, size) are the space's business.
bool valid(const Tuple& tuple);
bool valid(const Template& tmpl);

// ---- canonical encoding -------------------------------------------------------------------
// Value: one tag byte (the Type), then the payload: string/bytes as length-prefixed octets, int as
// 8 bytes little-endian, float as the 8 bytes of its IEEE-754 binary64, bool as one byte 0/1.
// Pattern: tag 0..4 a value as above; 0x80 `*`; 0x81 followed by a type byte: typed wildcard.
// The decoder rejects unknown tags, non-finite floats and -0.0.

template <class Archive>
void Value::save(Archive& ar) const {
  ar(static_cast<std::uint8_t>(type()));
  switch (type()) {
    case Type::kString:
      ar(as_string());
      break;
    case Type::kInt:
      ar(as_int());
      break;
    case Type::kFloat:
      ar(as_float());
      break;
    case Type::kBool:
      ar(as_bool());
      break;
    case Type::kBytes:
      ar(as_bytes().data);
      break;
  }
}

template <class Archive>
Value Value::load_payload(Archive& ar, std::uint8_t tag) {
  switch (tag) {
    case 0: {
      std::string s;
      ar(s);
      return Value(std::move(s));
    }
    case 1: {
      std::int64_t i = 0;
      ar(i);
      return Value(i);
    }
    case 2: {
      double d = 0;
      ar(d);
      if (!std::isfinite(d) || (d == 0.0 && std::signbit(d))) {
        throw codec::DecodeError("non-canonical float");
      }
      return Value(d);
    }
    case 3: {
      bool b = false;
      ar(b);
      return Value(b);
    }
    case 4: {
      Blob b;
      ar(b.data);
      return Value(std::move(b));
    }
    default:
      throw codec::DecodeError("unknown field type");
  }
}

template <class Archive>
void Value::load(Archive& ar) {
  std::uint8_t tag = 0;
  ar(tag);
  *this = load_payload(ar, tag);
}

template <class Archive>
void Pattern::save(Archive& ar) const {
  switch (kind_) {
    case Kind::kValue:
      ar(value_);
      break;
    case Kind::kAny:
      ar(std::uint8_t{0x80});
      break;
    case Kind::kTyped:
      ar(std::uint8_t{0x81}, static_cast<std::uint8_t>(type_));
      break;
  }
}

template <class Archive>
void Pattern::load(Archive& ar) {
  std::uint8_t tag = 0;
  ar(tag);
  if (tag == 0x80) {
    *this = any();
  } else if (tag == 0x81) {
    std::uint8_t t = 0;
    ar(t);
    if (t >= kTypeCount) throw codec::DecodeError("unknown field type");
    *this = typed(static_cast<Type>(t));
  } else {
    *this = Pattern(Value::load_payload(ar, tag));
  }
}

}  // namespace bastion::ts
