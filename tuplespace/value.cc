#include "tuplespace/value.h"

#include <cereal/types/string.hpp>
#include <cmath>
#include <cstring>

#include "codec/codec.h"

namespace bastion::ts {
namespace {

// A stable 64-bit mix (splitmix64 finaliser); std::hash is not specified across implementations.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t hash_octets(std::string_view s, std::uint64_t seed) {
  // FNV-1a over the octets, then mixed: fast for short strings and stable everywhere.
  std::uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return mix(h);
}

std::size_t varint_size(std::size_t n) {
  std::size_t k = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++k;
  }
  return k;
}

}  // namespace

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kString:
      return "string";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kBool:
      return "bool";
    case Type::kBytes:
      return "bytes";
  }
  return "?";
}

bool Value::valid() const { return type() != Type::kFloat || std::isfinite(as_float()); }

std::size_t Value::encoded_size() const {
  switch (type()) {
    case Type::kString:
      return 1 + varint_size(as_string().size()) + as_string().size();
    case Type::kBytes:
      return 1 + varint_size(as_bytes().data.size()) + as_bytes().data.size();
    case Type::kInt:
    case Type::kFloat:
      return 9;
    case Type::kBool:
      return 2;
  }
  return 0;
}

std::uint64_t Value::hash() const {
  const auto seed = static_cast<std::uint64_t>(type()) * 0x100000001b3ull;
  switch (type()) {
    case Type::kString:
      return hash_octets(as_string(), seed);
    case Type::kBytes:
      return hash_octets(as_bytes().data, seed);
    case Type::kInt:
      return mix(static_cast<std::uint64_t>(as_int()) ^ seed);
    case Type::kFloat: {
      std::uint64_t bits = 0;
      const double d = as_float();
      std::memcpy(&bits, &d, sizeof bits);
      return mix(bits ^ seed);
    }
    case Type::kBool:
      return mix((as_bool() ? 1u : 0u) ^ seed);
  }
  return 0;
}

bool matches(const Template& tmpl, const Tuple& tuple) {
  if (tmpl.size() != tuple.size()) return false;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (!tmpl[i].matches(tuple[i])) return false;
  }
  return true;
}

Template exact(const Tuple& tuple) { return Template(tuple.begin(), tuple.end()); }

std::size_t encoded_size(const Tuple& tuple) {
  std::size_t n = varint_size(tuple.size());
  for (const Value& v : tuple) n += v.encoded_size();
  return n;
}

bool valid(const Tuple& tuple) {
  for (const Value& v : tuple) {
    if (!v.valid()) return false;
  }
  return true;
}

bool valid(const Template& tmpl) {
  for (const Pattern& p : tmpl) {
    if (p.is_value() && !p.value().valid()) return false;
  }
  return true;
}

}  // namespace bastion::ts
