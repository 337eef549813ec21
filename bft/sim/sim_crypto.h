// Fake replica signatures for the simulator: keyed BLAKE2b per replica.
//
// A signature by replica i over (domain, message) is BLAKE2b-512 keyed with i's secret key. The
// SimVerifier knows every replica's key (it plays all verifiers at once), so it can check any
// signature; a SimSigner holds one key only, so a Byzantine replica in the simulator can sign
// with its own identity and no other, exactly as with Ed25519 in the daemon. This is not a
// signature scheme (anyone with the verifier can forge); it only has to be deterministic, cheap
// and unforgeable by code that is given a single SimSigner.
//
// Keys are derived from the run's seed, so a run is reproducible.
//
// Thread-safety: none needed (no mutable state after construction).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bft/core/crypto.h"

namespace bastion::bft::sim {

using SimKey = std::array<std::uint8_t, 32>;

// The per-replica keys of a run.
std::vector<SimKey> derive_sim_keys(std::uint64_t seed, std::uint32_t n);

Signature sim_sign(const SimKey& key, SignDomain domain, ByteView message);

class SimSigner final : public Signer {
 public:
  explicit SimSigner(SimKey key) : key_(key) {}
  Signature sign(SignDomain domain, ByteView message) override;

 private:
  SimKey key_;
};

class SimVerifier final : public Verifier {
 public:
  explicit SimVerifier(std::vector<SimKey> keys) : keys_(std::move(keys)) {}
  bool verify(ReplicaId signer, SignDomain domain, ByteView message,
              const Signature& signature) override;

 private:
  std::vector<SimKey> keys_;
};

}  // namespace bastion::bft::sim
