#include "confidentiality/dleq.h"

namespace bastion::confidentiality {
namespace {

Scalar challenge_of(std::string_view domain, ByteView context, const DleqStatement& s,
                    const Point& a1, const Point& a2) {
  return Transcript(domain)
      .add(context)
      .add(s.g1)
      .add(s.h1)
      .add(s.g2)
      .add(s.h2)
      .add(a1)
      .add(a2)
      .challenge();
}

}  // namespace

DleqProof dleq_prove(std::string_view domain, ByteView context, const DleqStatement& statement,
                     const Scalar& witness) {
  Scalar w = Scalar::random();
  const Point a1 = statement.g1 * w;
  const Point a2 = statement.g2 * w;
  DleqProof proof;
  proof.challenge = challenge_of(domain, context, statement, a1, a2);
  proof.response = w - proof.challenge * witness;
  w.wipe();
  return proof;
}

bool dleq_verify(std::string_view domain, ByteView context, const DleqStatement& statement,
                 const DleqProof& proof) {
  const Point a1 = statement.g1 * proof.response + statement.h1 * proof.challenge;
  const Point a2 = statement.g2 * proof.response + statement.h2 * proof.challenge;
  return challenge_of(domain, context, statement, a1, a2) == proof.challenge;
}

}  // namespace bastion::confidentiality
