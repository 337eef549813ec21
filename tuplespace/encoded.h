// Stored tuples are kept as their canonical encoding (value.h); templates are compiled once per
// operation into a form that matches those bytes directly, without decoding the tuple.
//
// Why bytes: the encoding is canonical, so two fields are equal in type and value exactly when
// their encodings (tag byte + payload) are equal. Keeping the encoding instead of a vector of
// Values makes a stored tuple one compact allocation (a Value is 40 bytes before its payload), and
// matching is a length check and a memcmp per concrete field.
//
// Index keys: field_key(arity, field bytes) is a fixed 64-bit hash (the same on every platform).
// Only lookups use it, never iteration order, and every candidate is matched in full, so hash
// collisions cost time, never correctness.
//
// The functions taking an encoding require a well-formed one (made by codec::encode of a valid
// Tuple); they are not decoders for hostile bytes.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/archive.h"
#include "tuplespace/value.h"

namespace bastion::ts::detail {

// Bytes of the field (tag + payload) that starts at enc[pos].
std::size_t field_bytes(codec::ByteView enc, std::size_t pos);

// The arity prefix of an encoding and the offset of its first field.
std::size_t encoded_arity(codec::ByteView enc, std::size_t* first_field);

// Hash of one field of a tuple of the given arity: the key of the per-position index.
std::uint64_t field_key(std::size_t arity, codec::ByteView field);

// Calls f(position, field bytes) for each field of a well-formed encoding.
template <class F>
void for_each_field(codec::ByteView enc, F&& f) {
  std::size_t pos = 0;
  const std::size_t arity = encoded_arity(enc, &pos);
  for (std::size_t i = 0; i < arity; ++i) {
    const std::size_t n = field_bytes(enc, pos);
    f(i, enc.subspan(pos, n));
    pos += n;
  }
}

// Decodes an encoding this module produced; a failure is a broken invariant and aborts.
Tuple decode_stored(codec::ByteView enc);

class CompiledTemplate {
 public:
  CompiledTemplate() = default;
  explicit CompiledTemplate(const Template& tmpl);

  std::size_t arity() const { return fields_.size(); }
  bool matches(codec::ByteView enc) const;

  struct Concrete {
    std::uint32_t position;
    std::uint64_t key;  // field_key() of the value at this position
  };
  // Concrete (non-wildcard) fields, in position order: candidates for an index lookup.
  const std::vector<Concrete>& concrete() const { return concrete_; }

 private:
  enum class Kind : std::uint8_t { kAny, kTyped, kExact };
  struct Field {
    Kind kind;
    std::uint8_t type;     // the tag, for kTyped
    std::uint32_t offset;  // into bytes_, for kExact
    std::uint32_t size;    // for kExact
  };
  std::string bytes_;  // concatenated encodings of the concrete fields
  std::vector<Field> fields_;
  std::vector<Concrete> concrete_;
};

}  // namespace bastion::ts::detail
