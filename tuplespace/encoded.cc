// Byte-level matching of canonical tuple encodings and the index hash (see encoded.h).
// Pure functions; thread-safe.
#include "tuplespace/encoded.h"

#include <cereal/types/vector.hpp>
#include <cstring>

#include "codec/check.h"
#include "codec/codec.h"

namespace bastion::ts::detail {
namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  return x ^ (x >> 32);
}

// Reads a (trusted, minimal) LEB128 value at enc[*pos] and advances *pos.
std::uint64_t read_varint(codec::ByteView enc, std::size_t* pos) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const std::uint8_t b = enc[(*pos)++];
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}

}  // namespace

std::size_t field_bytes(codec::ByteView enc, std::size_t pos) {
  switch (enc[pos]) {
    case static_cast<std::uint8_t>(Type::kString):
    case static_cast<std::uint8_t>(Type::kBytes): {
      std::size_t p = pos + 1;
      const std::uint64_t n = read_varint(enc, &p);
      return (p - pos) + static_cast<std::size_t>(n);
    }
    case static_cast<std::uint8_t>(Type::kInt):
    case static_cast<std::uint8_t>(Type::kFloat):
      return 9;
    case static_cast<std::uint8_t>(Type::kBool):
      return 2;
  }
  ::bastion::detail::check_failed("field tag of a stored encoding", __FILE__, __LINE__);
}

std::size_t encoded_arity(codec::ByteView enc, std::size_t* first_field) {
  std::size_t p = 0;
  const std::uint64_t arity = read_varint(enc, &p);
  *first_field = p;
  return static_cast<std::size_t>(arity);
}

std::uint64_t field_key(std::size_t arity, codec::ByteView field) {
  std::uint64_t h =
      mix(0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(arity) << 32) ^ field.size());
  std::size_t i = 0;
  for (; i + 8 <= field.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, field.data() + i, 8);
    h = mix(h ^ w) + 0x632be59bd9b4e019ull;
  }
  if (i < field.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, field.data() + i, field.size() - i);
    h = mix(h ^ w);
  }
  return mix(h);
}

Tuple decode_stored(codec::ByteView enc) {
  auto r = codec::decode<Tuple>(enc);
  BASTION_CHECK(r.ok());  // stored encodings come from codec::encode of valid tuples
  return std::move(r).value();
}

CompiledTemplate::CompiledTemplate(const Template& tmpl) {
  fields_.reserve(tmpl.size());
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    const Pattern& p = tmpl[i];
    if (p.is_any()) {
      fields_.push_back({Kind::kAny, 0, 0, 0});
    } else if (p.is_typed()) {
      fields_.push_back({Kind::kTyped, static_cast<std::uint8_t>(p.type()), 0, 0});
    } else {
      const codec::Bytes enc = codec::encode(p.value());
      const auto offset = static_cast<std::uint32_t>(bytes_.size());
      bytes_.append(reinterpret_cast<const char*>(enc.data()), enc.size());
      fields_.push_back({Kind::kExact, 0, offset, static_cast<std::uint32_t>(enc.size())});
      concrete_.push_back({static_cast<std::uint32_t>(i), field_key(tmpl.size(), enc)});
    }
  }
}

bool CompiledTemplate::matches(codec::ByteView enc) const {
  std::size_t pos = 0;
  if (encoded_arity(enc, &pos) != fields_.size()) return false;
  for (const Field& f : fields_) {
    const std::size_t n = field_bytes(enc, pos);
    switch (f.kind) {
      case Kind::kAny:
        break;
      case Kind::kTyped:
        if (enc[pos] != f.type) return false;
        break;
      case Kind::kExact:
        if (n != f.size || std::memcmp(enc.data() + pos, bytes_.data() + f.offset, n) != 0) {
          return false;
        }
        break;
    }
    pos += n;
  }
  return true;
}

}  // namespace bastion::ts::detail
