// The core's view of cryptography: replica signatures behind an injected interface.
//
// Requests are authenticated by the channel they arrive on (TLS with client certificates) and by
// replicas' vouches (see docs/protocol.md); the core signs only what must be transferable as
// proof: pre-prepares, prepares, checkpoints, view-changes and new-views. The daemon plugs in
// Ed25519 (bft/crypto); the simulator plugs in a cheap keyed-hash scheme. Digests are not
// injected: they are always BLAKE2b (codec/digest.h), as replicas must agree on them.
#pragma once

#include <array>
#include <cstdint>

#include "bft/core/types.h"

namespace bastion::bft {

using Signature = std::array<std::uint8_t, 64>;

// What a signature is about; part of the signed bytes, so a signature of one kind can never be
// presented as another.
enum class SignDomain : std::uint8_t {
  kPrePrepare = 1,
  kPrepare = 2,
  kCheckpoint = 3,
  kViewChange = 4,
  kNewView = 5,
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual Signature sign(SignDomain domain, ByteView message) = 0;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  // False for an unknown replica id or a bad signature; never throws.
  virtual bool verify(ReplicaId signer, SignDomain domain, ByteView message,
                      const Signature& signature) = 0;
};

}  // namespace bastion::bft
