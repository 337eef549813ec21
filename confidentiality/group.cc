#include "confidentiality/group.h"

#include <cstdlib>
#include <cstring>

#include "codec/check.h"

namespace bastion::confidentiality {
namespace {

// libsodium is initialised by every Bastion binary before any key exists; a failing group
// operation on canonical inputs would be a broken library, not bad input.
void require(bool ok) { BASTION_CHECK(ok); }

}  // namespace

Scalar Scalar::random() {
  Scalar s;
  crypto_core_ristretto255_scalar_random(s.b_.data());
  return s;
}

Scalar Scalar::from_u64(std::uint64_t v) {
  Scalar s;
  for (std::size_t i = 0; i < 8; ++i) s.b_[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return s;
}

Scalar Scalar::from_wide(std::span<const std::uint8_t, 64> wide) {
  Scalar s;
  crypto_core_ristretto255_scalar_reduce(s.b_.data(), wide.data());
  return s;
}

std::optional<Scalar> Scalar::from_bytes(ByteView bytes) {
  if (bytes.size() != 32) return std::nullopt;
  std::array<std::uint8_t, 64> wide{};
  std::memcpy(wide.data(), bytes.data(), 32);
  Scalar s = from_wide(wide);
  if (std::memcmp(s.b_.data(), bytes.data(), 32) != 0) return std::nullopt;  // not below L
  return s;
}

Scalar Scalar::operator+(const Scalar& o) const {
  Scalar r;
  crypto_core_ristretto255_scalar_add(r.b_.data(), b_.data(), o.b_.data());
  return r;
}

Scalar Scalar::operator-(const Scalar& o) const {
  Scalar r;
  crypto_core_ristretto255_scalar_sub(r.b_.data(), b_.data(), o.b_.data());
  return r;
}

Scalar Scalar::operator*(const Scalar& o) const {
  Scalar r;
  crypto_core_ristretto255_scalar_mul(r.b_.data(), b_.data(), o.b_.data());
  return r;
}

Scalar Scalar::inverse() const {
  Scalar r;
  if (crypto_core_ristretto255_scalar_invert(r.b_.data(), b_.data()) != 0) return Scalar{};
  return r;
}

bool Scalar::is_zero() const { return sodium_is_zero(b_.data(), b_.size()) == 1; }

void Scalar::wipe() { sodium_memzero(b_.data(), b_.size()); }

Point Point::base_mul(const Scalar& s) {
  Point p;
  // -1 only when the product is the identity (s = 0), whose encoding is all zeros.
  if (crypto_scalarmult_ristretto255_base(p.b_.data(), s.bytes().data()) != 0) p.b_.fill(0);
  return p;
}

const Point& Point::generator() {
  static const Point b = base_mul(Scalar::from_u64(1));
  return b;
}

Point Point::from_wide(std::span<const std::uint8_t, 64> wide) {
  Point p;
  require(crypto_core_ristretto255_from_hash(p.b_.data(), wide.data()) == 0);
  return p;
}

std::optional<Point> Point::from_bytes(ByteView bytes) {
  if (bytes.size() != 32) return std::nullopt;
  Point p;
  std::memcpy(p.b_.data(), bytes.data(), 32);
  if (p.is_identity()) return p;
  if (crypto_core_ristretto255_is_valid_point(p.b_.data()) != 1) return std::nullopt;
  return p;
}

Point Point::operator*(const Scalar& s) const {
  Point r;
  if (is_identity()) return r;
  if (*this == generator()) return base_mul(s);
  // The point is canonical (every Point is), so -1 means the product is the identity.
  if (crypto_scalarmult_ristretto255(r.b_.data(), s.bytes().data(), b_.data()) != 0) r.b_.fill(0);
  return r;
}

Point Point::operator+(const Point& o) const {
  if (is_identity()) return o;
  if (o.is_identity()) return *this;
  Point r;
  require(crypto_core_ristretto255_add(r.b_.data(), b_.data(), o.b_.data()) == 0);
  return r;
}

Point Point::operator-(const Point& o) const {
  if (o.is_identity()) return *this;
  Point r;
  if (is_identity()) {
    // 0 - o: o's negation, computed as o·(L-1).
    return o * (Scalar{} - Scalar::from_u64(1));
  }
  require(crypto_core_ristretto255_sub(r.b_.data(), b_.data(), o.b_.data()) == 0);
  return r;
}

bool Point::is_identity() const { return sodium_is_zero(b_.data(), b_.size()) == 1; }

const Point& second_generator() {
  static const Point h = Transcript("bastion.pvss.second-generator.v1").point();
  return h;
}

Transcript::Transcript(std::string_view domain) {
  crypto_generichash_init(&state_, nullptr, 0, 64);
  add(domain);
}

Transcript& Transcript::add(ByteView item) {
  add_u64(item.size());
  crypto_generichash_update(&state_, item.data(), item.size());
  return *this;
}

Transcript& Transcript::add(std::string_view item) {
  return add(ByteView(reinterpret_cast<const std::uint8_t*>(item.data()), item.size()));
}

Transcript& Transcript::add_u64(std::uint64_t v) {
  std::array<std::uint8_t, 8> le{};
  for (std::size_t i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(v >> (8 * i));
  crypto_generichash_update(&state_, le.data(), le.size());
  return *this;
}

std::array<std::uint8_t, 64> Transcript::wide() {
  std::array<std::uint8_t, 64> out{};
  crypto_generichash_final(&state_, out.data(), out.size());
  return out;
}

Scalar Transcript::challenge() { return Scalar::from_wide(wide()); }

Point Transcript::point() { return Point::from_wide(wide()); }

}  // namespace bastion::confidentiality
