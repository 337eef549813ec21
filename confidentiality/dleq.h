// Chaum-Pedersen proofs that two discrete logarithms are equal, made non-interactive with
// Fiat-Shamir over a Transcript.
//
// prove() shows, for a witness x, that h1 = x·g1 and h2 = x·g2 without revealing x. The challenge
// hashes a caller-chosen domain and context (what the proof is about: a tuple, a replica index)
// together with the four points and the two commitments, so a proof made for one statement or
// context never verifies for another.
//
// A proof is (c, r) with r = w - c·x for a fresh random w; verify() recomputes the commitments
// a1 = r·g1 + c·h1 and a2 = r·g2 + c·h2 and checks that they hash to c.
#pragma once

#include <string_view>

#include "confidentiality/group.h"

namespace bastion::confidentiality {

struct DleqProof {
  Scalar challenge;
  Scalar response;

  friend bool operator==(const DleqProof&, const DleqProof&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(challenge, response);
  }
};

// The statement: log_{g1} h1 = log_{g2} h2.
struct DleqStatement {
  const Point& g1;
  const Point& h1;
  const Point& g2;
  const Point& h2;
};

DleqProof dleq_prove(std::string_view domain, ByteView context, const DleqStatement& statement,
                     const Scalar& witness);
bool dleq_verify(std::string_view domain, ByteView context, const DleqStatement& statement,
                 const DleqProof& proof);

}  // namespace bastion::confidentiality
