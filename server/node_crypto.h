// Ed25519 behind bft's Signer and Verifier interfaces: how a replica daemon signs and checks the
// protocol messages that must be shown to third parties (pre-prepares, prepares, checkpoints,
// view-changes, new-views).
//
// Each bft::SignDomain maps to its own bastion::crypto::SignatureDomain ("bft.prepare.v1", ...),
// so a signature of one kind never verifies as another, and none is a valid TLS handshake
// signature (bft/crypto/ed25519.h explains the prefix). The mapping is part of the wire format:
// never change a name, add new ones.
//
// Keys: the signer is the replica's own key (the key of its TLS certificate), loaded from the key
// file the cluster file names and checked against the public key pinned there; the verifier holds
// every replica's pinned public key. A mismatch is a configuration error (fail closed: a replica
// whose signatures nobody would accept must not start).
//
// The adapters time their own work (sign_ns, verify_ns) so the daemon can tell whether signature
// checks are worth moving off the io thread.
//
// Thread-safety: none; both are used by the thread that owns the replica.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "bft/core/crypto.h"
#include "bft/crypto/ed25519.h"
#include "codec/result.h"
#include "config/cluster_config.h"

namespace bastion::server {

struct CryptoStats {
  std::uint64_t signs = 0;
  std::uint64_t sign_ns = 0;
  std::uint64_t verifies = 0;
  std::uint64_t verify_ns = 0;
  std::uint64_t verify_failures = 0;
};

class Ed25519Signer final : public bft::Signer {
 public:
  explicit Ed25519Signer(crypto::SigningKey key) : key_(std::move(key)) {}
  bft::Signature sign(bft::SignDomain domain, bft::ByteView message) override;
  const CryptoStats& stats() const { return stats_; }

 private:
  crypto::SigningKey key_;
  CryptoStats stats_;
};

class Ed25519Verifier final : public bft::Verifier {
 public:
  // keys[i] is replica i's key.
  explicit Ed25519Verifier(std::vector<crypto::VerifyKey> keys) : keys_(std::move(keys)) {}
  bool verify(bft::ReplicaId signer, bft::SignDomain domain, bft::ByteView message,
              const bft::Signature& signature) override;
  const CryptoStats& stats() const { return stats_; }

 private:
  std::vector<crypto::VerifyKey> keys_;
  CryptoStats stats_;
};

// Replica `id`'s signing key, from the key file of its [[replicas]] entry, checked against the
// entry's public_key. Errors name the cluster file, the key ("replicas[2].key") and the problem.
Result<std::unique_ptr<Ed25519Signer>, config::ConfigError> load_signer(
    const config::ClusterConfig& cluster, std::uint32_t id);

// Every replica's pinned public key. An invalid key is a configuration error.
Result<std::unique_ptr<Ed25519Verifier>, config::ConfigError> load_verifier(
    const config::ClusterConfig& cluster);

}  // namespace bastion::server
