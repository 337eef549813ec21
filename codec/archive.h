// Canonical binary archives for cereal, and the bounded input archive every decoder goes through.
//
// Encoding (little-endian, no padding, no metadata):
//   - arithmetic values: their fixed-width little-endian bytes; bool is one byte, 0 or 1;
//   - size tags (container and string lengths): unsigned LEB128, minimal length;
//   - strings and byte vectors: size tag, then the raw bytes.
// The encoding of a value is unique, so equal values encode to equal bytes and digests of encodings
// can be compared across replicas.
//
// BoundedInputArchive reads from a byte span it does not own and never trusts the input:
//   - a read past the end, a size tag larger than the bytes left, a non-minimal size tag or a bool
//     byte other than 0/1 throws DecodeError before anything is allocated for it;
//   - a vector grows as its elements decode, never to the count its size tag claims: a count is a
//     claim, and each element must consume its own bytes before the next is made room for. So
//     decoding costs memory in proportion to the bytes actually consumed (at most about twice
//     sizeof(element) / least encoded size of an element, per byte), however the vectors nest;
//   - at_most(max, v) marks a vector whose count the protocol bounds: a larger count is refused
//     before any element is read.
// Use codec::decode() (codec.h), which also turns every failure into a Result.
//
// Thread-safety: an archive is used by one thread at a time.
#pragma once

#include <cereal/cereal.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/digest.h"

static_assert(std::endian::native == std::endian::little,
              "Bastion's canonical encoding assumes a little-endian host");

namespace bastion::codec {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Malformed input: always an operating error (hostile or corrupt bytes), never a crash.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends bytes to a vector.
class VectorSink {
 public:
  explicit VectorSink(Bytes& out) : out_(out) {}
  void write(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }

 private:
  Bytes& out_;
};

// Feeds bytes to a BLAKE2b hasher, so that a digest of an encoding needs no buffer.
class HashSink {
 public:
  explicit HashSink(Blake2b& hasher) : hasher_(hasher) {}
  void write(const void* data, std::size_t size) {
    hasher_.update(ByteView(static_cast<const std::uint8_t*>(data), size));
  }

 private:
  Blake2b& hasher_;
};

template <class Sink>
class BasicOutputArchive
    : public cereal::OutputArchive<BasicOutputArchive<Sink>, cereal::AllowEmptyClassElision> {
 public:
  explicit BasicOutputArchive(Sink sink)
      : cereal::OutputArchive<BasicOutputArchive<Sink>, cereal::AllowEmptyClassElision>(this),
        sink_(sink) {}

  void saveBinary(const void* data, std::size_t size) { sink_.write(data, size); }

  void saveVarint(std::uint64_t v) {
    std::uint8_t buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<std::uint8_t>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<std::uint8_t>(v);
    sink_.write(buf, n);
  }

 private:
  Sink sink_;
};

using OutputArchive = BasicOutputArchive<VectorSink>;
using HashingOutputArchive = BasicOutputArchive<HashSink>;

class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(ByteView in)
      : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this), in_(in) {}

  void loadBinary(void* data, std::size_t size) {
    if (size > remaining()) throw DecodeError("truncated input");
    if (size != 0) std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }

  // Reads a minimal LEB128 value.
  std::uint64_t loadVarint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) throw DecodeError("truncated varint");
      const std::uint8_t b = in_[pos_++];
      if (shift == 63 && b > 1) throw DecodeError("varint overflow");
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift != 0) throw DecodeError("non-minimal varint");
        return v;
      }
    }
    throw DecodeError("varint too long");
  }

  // A length read from the input: each element takes at least one byte, so a length larger than
  // the bytes left is malformed.
  std::uint64_t loadSize() {
    const std::uint64_t n = loadVarint();
    if (n > remaining()) throw DecodeError("length exceeds input");
    return n;
  }

  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

template <class A>
inline constexpr bool is_bastion_output_v =
    std::is_same_v<A, OutputArchive> || std::is_same_v<A, HashingOutputArchive>;

// Reads `count` elements into `v`, growing it only as they decode. The first reservation is
// bounded by the bytes left, so it costs no more memory than the input could fill.
template <class T, class A>
void load_elements(BoundedInputArchive& ar, std::vector<T, A>& v, std::uint64_t count) {
  v.clear();
  if constexpr (std::is_arithmetic_v<T>) {
    if (count > ar.remaining() / sizeof(T)) throw DecodeError("length exceeds input");
    v.resize(static_cast<std::size_t>(count));
    ar.loadBinary(v.data(), v.size() * sizeof(T));
  } else {
    v.reserve(
        static_cast<std::size_t>(std::min<std::uint64_t>(count, ar.remaining() / sizeof(T) + 1)));
    for (std::uint64_t i = 0; i < count; ++i) ar(v.emplace_back());
  }
}

// A vector whose element count the protocol bounds (replicas in a quorum, slots in the log
// window): encoded exactly like the vector, and a decoder refuses a count above `max` before it
// reads an element. Use in serialize(): ar(codec::at_most(kMax, field)).
template <class T>
struct AtMost {
  std::vector<T>& v;
  std::size_t max;
};
template <class T>
AtMost<T> at_most(std::size_t max, std::vector<T>& v) {
  return {v, max};
}

template <class Archive, class T>
std::enable_if_t<is_bastion_output_v<Archive>> CEREAL_SAVE_FUNCTION_NAME(Archive& ar,
                                                                         const AtMost<T>& a) {
  ar(a.v);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, AtMost<T>& a) {
  const std::uint64_t n = ar.loadSize();
  if (n > a.max) throw DecodeError("count above the protocol's bound");
  load_elements(ar, a.v, n);
}

}  // namespace bastion::codec

namespace cereal {

template <class Archive, class T>
std::enable_if_t<bastion::codec::is_bastion_output_v<Archive> && std::is_arithmetic_v<T>>
CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    const std::uint8_t b = t ? 1 : 0;
    ar.saveBinary(&b, 1);
  } else {
    ar.saveBinary(std::addressof(t), sizeof(t));
  }
}

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(
    bastion::codec::BoundedInputArchive& ar, T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    std::uint8_t b = 0;
    ar.loadBinary(&b, 1);
    if (b > 1) throw bastion::codec::DecodeError("invalid bool");
    t = b == 1;
  } else {
    ar.loadBinary(std::addressof(t), sizeof(t));
  }
}

template <class Archive, class T>
std::enable_if_t<bastion::codec::is_bastion_output_v<Archive>> CEREAL_SAVE_FUNCTION_NAME(
    Archive& ar, const NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(bastion::codec::BoundedInputArchive& ar, NameValuePair<T>& t) {
  ar(t.value);
}

template <class Archive, class T>
std::enable_if_t<bastion::codec::is_bastion_output_v<Archive>> CEREAL_SAVE_FUNCTION_NAME(
    Archive& ar, const SizeTag<T>& t) {
  ar.saveVarint(static_cast<std::uint64_t>(t.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(bastion::codec::BoundedInputArchive& ar, SizeTag<T>& t) {
  const std::uint64_t n = ar.loadSize();
  using Size = std::remove_reference_t<T>;
  if (n > static_cast<std::uint64_t>(std::numeric_limits<Size>::max())) {
    throw bastion::codec::DecodeError("length out of range");
  }
  t.size = static_cast<Size>(n);
}

// Every vector decodes through load_elements (more specialised than cereal's own vector load,
// which resizes to the claimed count first). vector<bool> keeps cereal's: it is bit-packed.
template <class T, class A>
requires(!std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(
    bastion::codec::BoundedInputArchive& ar, std::vector<T, A>& v) {
  bastion::codec::load_elements(ar, v, ar.loadSize());
}

template <class Archive, class T>
std::enable_if_t<bastion::codec::is_bastion_output_v<Archive>> CEREAL_SAVE_FUNCTION_NAME(
    Archive& ar, const BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(bastion::codec::BoundedInputArchive& ar, BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace cereal

CEREAL_REGISTER_ARCHIVE(bastion::codec::OutputArchive)
CEREAL_REGISTER_ARCHIVE(bastion::codec::HashingOutputArchive)
CEREAL_REGISTER_ARCHIVE(bastion::codec::BoundedInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(bastion::codec::BoundedInputArchive, bastion::codec::OutputArchive)
