#include "confidentiality/fingerprint.h"

#include <cstdlib>

#include "codec/check.h"

namespace bastion::confidentiality {
namespace {

constexpr std::string_view kProofDomain = "bastion.fingerprint.proof.v1";

Point value_point(ByteView value) {
  return Transcript("bastion.fingerprint.value.v1").add(value).point();
}

codec::Digest digest_of(const Point& gamma) {
  codec::Blake2b h;
  h.update("bastion.fingerprint.v1");
  h.update(gamma.bytes());
  return h.finish();
}

}  // namespace

FingerprintKey::FingerprintKey(const Scalar& k) : k_(k), public_(Point::base_mul(k)) {}

FingerprintKey FingerprintKey::derive(ByteView secret, std::string_view space,
                                      std::uint64_t epoch) {
  BASTION_CHECK(secret.size() == kFingerprintSecretBytes);
  Transcript tr("bastion.fingerprint.space-key.v1");
  tr.add(secret).add(space).add_u64(epoch);
  auto wide = tr.wide();
  Scalar k = Scalar::from_wide(wide);
  sodium_memzero(wide.data(), wide.size());
  if (k.is_zero()) k = Scalar::from_u64(1);  // probability 2^-252; keeps the key invertible
  FingerprintKey key(k);
  k.wipe();
  return key;
}

FingerprintKey::FingerprintKey(FingerprintKey&& o) noexcept : k_(o.k_), public_(o.public_) {
  o.k_.wipe();
}

FingerprintKey& FingerprintKey::operator=(FingerprintKey&& o) noexcept {
  if (this != &o) {
    k_ = o.k_;
    public_ = o.public_;
    o.k_.wipe();
  }
  return *this;
}

FingerprintKey::~FingerprintKey() { k_.wipe(); }

codec::Digest FingerprintKey::fingerprint(ByteView value) const {
  return digest_of(value_point(value) * k_);
}

FingerprintEvidence FingerprintKey::prove(ByteView value) const {
  const Point p = value_point(value);
  FingerprintEvidence e;
  e.gamma = p * k_;
  e.proof = dleq_prove(kProofDomain, value, {Point::generator(), public_, p, e.gamma}, k_);
  return e;
}

std::optional<codec::Digest> verify_fingerprint(const Point& public_key, ByteView value,
                                                const FingerprintEvidence& evidence) {
  const Point p = value_point(value);
  if (!dleq_verify(kProofDomain, value, {Point::generator(), public_key, p, evidence.gamma},
                   evidence.proof)) {
    return std::nullopt;
  }
  return digest_of(evidence.gamma);
}

}  // namespace bastion::confidentiality
