// Fingerprints of comparable fields: equal values give equal fingerprints within a space, and
// nobody without the space's key can compute one, so a replica cannot test guesses of a
// low-entropy value against what it stores.
//
// A space's key is a scalar k, derived by clients from the cluster's fingerprint secret and the
// space's name; replicas see only k·B. A value v maps to Γ = k·P(v), with P a hash into the group,
// and its fingerprint is BLAKE2b-256(Γ). This is a verifiable random function: a reader can prove
// to the replicas what a value's true fingerprint is (a DLEQ proof that log_B k·B = log_P(v) Γ)
// without revealing k, which is how a repair shows that a writer stored a wrong fingerprint.
#pragma once

#include <optional>
#include <string_view>

#include "codec/digest.h"
#include "confidentiality/dleq.h"
#include "confidentiality/group.h"

namespace bastion::confidentiality {

inline constexpr std::size_t kFingerprintSecretBytes = 32;

// A claim of a value's fingerprint that anyone holding the space's public key can check.
struct FingerprintEvidence {
  Point gamma;
  DleqProof proof;

  friend bool operator==(const FingerprintEvidence&, const FingerprintEvidence&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(gamma, proof);
  }
};

class FingerprintKey {
 public:
  // The key of `space` (its name) in the cluster whose fingerprint secret is `secret`
  // (kFingerprintSecretBytes bytes) at key `epoch` (0 until the space's key is first rotated).
  static FingerprintKey derive(ByteView secret, std::string_view space, std::uint64_t epoch);

  FingerprintKey(const FingerprintKey&) = delete;
  FingerprintKey& operator=(const FingerprintKey&) = delete;
  FingerprintKey(FingerprintKey&& o) noexcept;
  FingerprintKey& operator=(FingerprintKey&& o) noexcept;
  ~FingerprintKey();

  const Point& public_key() const { return public_; }
  codec::Digest fingerprint(ByteView value) const;
  FingerprintEvidence prove(ByteView value) const;

 private:
  explicit FingerprintKey(const Scalar& k);
  Scalar k_;
  Point public_;
};

// The fingerprint `evidence` proves for `value` under `public_key`, or nothing if the proof fails.
std::optional<codec::Digest> verify_fingerprint(const Point& public_key, ByteView value,
                                                const FingerprintEvidence& evidence);

}  // namespace bastion::confidentiality
