// The ristretto255 group (libsodium) as two value types, and the transcript that hashes into it.
//
// Scalar: an integer modulo the group order L, always canonical (< L). Point: a group element in
// its canonical 32-byte encoding; the identity is the all-zero encoding. Both are plain byte arrays
// with value semantics, so they serialize, compare and hash as bytes.
//
// Bytes from a peer become a Scalar or a Point only through from_bytes(), which rejects every
// non-canonical encoding, so two equal values always have equal bytes: a replica never stores or
// votes on a value that another encoding of the same element could replace.
//
// Thread-safety: values are immutable; every function may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <sodium.h>
#include <cereal/types/array.hpp>

#include "codec/archive.h"

namespace bastion::confidentiality {

using ByteView = std::span<const std::uint8_t>;

// Reads 32 bytes and accepts them only as T's canonical encoding (T::from_bytes).
template <class T, class Archive>
T load_canonical(Archive& ar, const char* refusal) {
  std::array<std::uint8_t, 32> b{};
  ar(b);
  auto v = T::from_bytes(b);
  if (!v) throw codec::DecodeError(refusal);
  return *v;
}

class Scalar {
 public:
  using Bytes = std::array<std::uint8_t, 32>;

  Scalar() = default;  // zero
  static Scalar random();
  static Scalar from_u64(std::uint64_t v);
  // Reduces 64 uniformly random bytes modulo L (a uniform scalar).
  static Scalar from_wide(std::span<const std::uint8_t, 64> wide);
  // The canonical encoding of a scalar, or nothing.
  static std::optional<Scalar> from_bytes(ByteView bytes);

  Scalar operator+(const Scalar& o) const;
  Scalar operator-(const Scalar& o) const;
  Scalar operator*(const Scalar& o) const;
  // The multiplicative inverse; the inverse of zero is zero (callers never invert zero).
  Scalar inverse() const;
  bool is_zero() const;

  const Bytes& bytes() const { return b_; }
  friend bool operator==(const Scalar&, const Scalar&) = default;

  template <class Archive>
  void save(Archive& ar) const {
    ar(b_);
  }
  template <class Archive>
  void load(Archive& ar) {
    *this = load_canonical<Scalar>(ar, "not a canonical scalar");
  }

  // Overwrites the bytes with zeros (for secrets).
  void wipe();

 private:
  Bytes b_{};
};

class Point {
 public:
  using Bytes = std::array<std::uint8_t, 32>;

  Point() = default;                       // the identity
  static const Point& generator();         // B
  static Point base_mul(const Scalar& s);  // s·B, B the standard generator
  // A point with unknown discrete logarithm to every other, from 64 uniformly random bytes.
  static Point from_wide(std::span<const std::uint8_t, 64> wide);
  static std::optional<Point> from_bytes(ByteView bytes);

  Point operator*(const Scalar& s) const;  // constant time; uses B's table when this is B
  Point operator+(const Point& o) const;
  Point operator-(const Point& o) const;
  bool is_identity() const;

  const Bytes& bytes() const { return b_; }
  friend bool operator==(const Point&, const Point&) = default;

  template <class Archive>
  void save(Archive& ar) const {
    ar(b_);
  }
  template <class Archive>
  void load(Archive& ar) {
    *this = load_canonical<Point>(ar, "not a canonical group element");
  }

 private:
  Bytes b_{};
};

// The second generator H of Schoenmakers' PVSS: hashed into the group, so nobody knows log_B H.
const Point& second_generator();

// A Fiat-Shamir transcript: BLAKE2b-512 over a domain and length-prefixed items, so no two
// different sequences of items hash alike. challenge() is a uniform scalar.
class Transcript {
 public:
  explicit Transcript(std::string_view domain);
  Transcript& add(ByteView item);
  Transcript& add(std::string_view item);
  Transcript& add(const Point& p) { return add(ByteView(p.bytes())); }
  Transcript& add(const Scalar& s) { return add(ByteView(s.bytes())); }
  Transcript& add_u64(std::uint64_t v);
  Scalar challenge();
  Point point();
  std::array<std::uint8_t, 64> wide();

 private:
  crypto_generichash_state state_;
};

}  // namespace bastion::confidentiality
