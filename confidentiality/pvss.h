// Schoenmakers' publicly verifiable secret sharing (PVSS, CRYPTO '99) over ristretto255.
//
// A dealer shares a random secret S = s·H among n replicas so that any t of them (t = f+1) can
// rebuild it and t-1 learn nothing about it. Everyone can check, from public values alone, that
// the sharing is consistent (every t shares rebuild the same S) and, later, that a replica opened
// its share honestly.
//
//   B, H          two generators: B the standard one, H = second_generator() (log_B H unknown)
//   x_i, y_i      replica i's key pair: y_i = x_i·H (index i = 0..n-1 evaluates the polynomial
//                 at i+1)
//   p(z)          a random polynomial of degree t-1 with p(0) = s
//   C_j           commitments α_j·B to p's coefficients: X_i = Σ_j (i+1)^j·C_j = p(i+1)·B
//   Y_i           the encrypted share p(i+1)·y_i
//   proof         one Fiat-Shamir DLEQ proof per replica that log_B X_i = log_{y_i} Y_i, all under
//                 one challenge c (responses r_i), bound to the caller's context; the transcript
//                 holds the keys, the C_j and the Y_i (the X_i follow from the C_j)
//   S_i           replica i's opened share x_i^-1·Y_i = p(i+1)·H, with a DLEQ proof that
//                 log_H y_i = log_{S_i} Y_i
//   S             Σ λ_i·S_i over any t opened shares (Lagrange at zero) = s·H
//
// Fresh randomness (libsodium's CSPRNG) for every coefficient and proof nonce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <cereal/types/vector.hpp>

#include "codec/result.h"
#include "confidentiality/dleq.h"
#include "confidentiality/group.h"

namespace bastion::confidentiality {

// The largest cluster a sharing may address (bounds decoding; n = 3f+1 <= 100, as
// config::kFaultsMax allows).
inline constexpr std::size_t kMaxShareholders = 100;

struct Sharing {
  std::vector<Point> commitments;  // t
  std::vector<Point> shares;       // n, encrypted
  Scalar challenge;
  std::vector<Scalar> responses;  // n

  friend bool operator==(const Sharing&, const Sharing&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(codec::at_most(kMaxShareholders, commitments), codec::at_most(kMaxShareholders, shares),
       challenge, codec::at_most(kMaxShareholders, responses));
  }
};

struct OpenedShare {
  std::uint32_t index = 0;  // the replica's index, 0..n-1
  Point share;              // S_i
  DleqProof proof;

  friend bool operator==(const OpenedShare&, const OpenedShare&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(index, share, proof);
  }
};

// A replica's PVSS secret key. The bytes are wiped on destruction.
class PvssSecretKey {
 public:
  static PvssSecretKey generate();
  static std::optional<PvssSecretKey> from_bytes(ByteView bytes);  // canonical, non-zero

  PvssSecretKey(const PvssSecretKey&) = delete;
  PvssSecretKey& operator=(const PvssSecretKey&) = delete;
  PvssSecretKey(PvssSecretKey&& o) noexcept;
  PvssSecretKey& operator=(PvssSecretKey&& o) noexcept;
  ~PvssSecretKey();

  Point public_key() const { return public_; }
  const Scalar::Bytes& bytes() const { return secret_.bytes(); }

  // Opens encrypted share Y_i (replica `index` of a sharing bound to `context`).
  OpenedShare open(std::uint32_t index, const Point& encrypted_share, ByteView context) const;

 private:
  explicit PvssSecretKey(const Scalar& secret);
  Scalar secret_;
  Point public_;
};

class Pvss {
 public:
  // n = public_keys.size() shareholders, threshold t (1 <= t <= n <= kMaxShareholders).
  Pvss(std::vector<Point> public_keys, std::size_t threshold);
  // The parameters of a cluster of 3f+1 replicas (threshold f+1) from its public keys' encodings;
  // nothing when their count is not 3f+1 (at most kMaxShareholders) or one is not a valid key.
  static std::optional<Pvss> of_cluster(std::span<const Point::Bytes> public_keys);

  std::size_t n() const { return keys_.size(); }
  std::size_t threshold() const { return t_; }

  struct Dealt {
    Sharing sharing;
    Point secret;  // S = s·H
  };
  // A fresh sharing of a fresh random secret, with its proof bound to `context`.
  Dealt deal(ByteView context) const;

  // Checks the shape and every share's proof; on failure, which check failed.
  Result<Done, std::string> verify(const Sharing& sharing, ByteView context) const;

  // Checks replica share.index's opened share against its encrypted share Y_i.
  bool verify_opened(const Point& encrypted_share, const OpenedShare& share,
                     ByteView context) const;

  // S from exactly t opened shares with distinct indices below n (already verified); nothing
  // if the indices are not so.
  std::optional<Point> combine(std::span<const OpenedShare> shares) const;

 private:
  std::vector<Point> keys_;
  std::size_t t_;
};

}  // namespace bastion::confidentiality
