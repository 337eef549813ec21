// Ed25519 adapters for bft's Signer and Verifier (see node_crypto.h).
#include "server/node_crypto.h"

#include <chrono>
#include <string>

namespace bastion::server {
namespace {

// Part of the wire format: one distinct name per kind of signed message.
constexpr crypto::SignatureDomain kPrePrepareDomain{"bft.pre-prepare.v1"};
constexpr crypto::SignatureDomain kPrepareDomain{"bft.prepare.v1"};
constexpr crypto::SignatureDomain kCheckpointDomain{"bft.checkpoint.v1"};
constexpr crypto::SignatureDomain kViewChangeDomain{"bft.view-change.v1"};
constexpr crypto::SignatureDomain kNewViewDomain{"bft.new-view.v1"};
// Never produced by a correct replica; a domain value outside the enum (a programmer error) signs
// and verifies under a name nobody else uses, so it can never be confused with a real kind.
constexpr crypto::SignatureDomain kUnknownDomain{"bft.unknown.v1"};

crypto::SignatureDomain domain_of(bft::SignDomain d) {
  switch (d) {
    case bft::SignDomain::kPrePrepare:
      return kPrePrepareDomain;
    case bft::SignDomain::kPrepare:
      return kPrepareDomain;
    case bft::SignDomain::kCheckpoint:
      return kCheckpointDomain;
    case bft::SignDomain::kViewChange:
      return kViewChangeDomain;
    case bft::SignDomain::kNewView:
      return kNewViewDomain;
  }
  return kUnknownDomain;
}

std::uint64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since)
          .count());
}

config::ConfigError error_at(const config::ClusterConfig& cluster, const std::string& key,
                             config::ConfigErrorCode code, const std::string& problem) {
  return config::ConfigError{code, cluster.file.string() + ": " + key + ": " + problem};
}

}  // namespace

bft::Signature Ed25519Signer::sign(bft::SignDomain domain, bft::ByteView message) {
  const auto start = std::chrono::steady_clock::now();
  bft::Signature s = key_.sign(domain_of(domain), message);
  ++stats_.signs;
  stats_.sign_ns += elapsed_ns(start);
  return s;
}

bool Ed25519Verifier::verify(bft::ReplicaId signer, bft::SignDomain domain, bft::ByteView message,
                             const bft::Signature& signature) {
  if (signer >= keys_.size()) return false;
  const auto start = std::chrono::steady_clock::now();
  const bool ok = keys_[signer].verify(domain_of(domain), message, signature);
  ++stats_.verifies;
  stats_.verify_ns += elapsed_ns(start);
  if (!ok) ++stats_.verify_failures;
  return ok;
}

Result<std::unique_ptr<Ed25519Signer>, config::ConfigError> load_signer(
    const config::ClusterConfig& cluster, std::uint32_t id) {
  const std::string key_name = "replicas[" + std::to_string(id) + "].key";
  if (id >= cluster.replicas.size()) {
    return fail(error_at(cluster, "replicas", config::ConfigErrorCode::kInvalidValue,
                         "no replica with id " + std::to_string(id)));
  }
  const config::ReplicaConfig& r = cluster.replicas[id];
  auto key = crypto::SigningKey::from_pem_file(r.key);
  if (!key) {
    const auto code = key.error().code == crypto::KeyErrorCode::kIo
                          ? config::ConfigErrorCode::kFile
                          : config::ConfigErrorCode::kInvalidValue;
    // The message names the file already.
    return fail(error_at(cluster, key_name, code, key.error().message));
  }
  if (key->verify_key().bytes() != r.public_key) {
    return fail(error_at(cluster, key_name, config::ConfigErrorCode::kKeyMismatch,
                         r.key.string() + " is not the private key of replicas[" +
                             std::to_string(id) + "].public_key"));
  }
  return std::make_unique<Ed25519Signer>(std::move(*key));
}

Result<std::unique_ptr<Ed25519Verifier>, config::ConfigError> load_verifier(
    const config::ClusterConfig& cluster) {
  std::vector<crypto::VerifyKey> keys;
  keys.reserve(cluster.replicas.size());
  for (const config::ReplicaConfig& r : cluster.replicas) {
    auto key = crypto::VerifyKey::from_bytes(r.public_key);
    if (!key) {
      return fail(error_at(cluster, "replicas[" + std::to_string(r.id) + "].public_key",
                           config::ConfigErrorCode::kInvalidValue, key.error().message));
    }
    keys.push_back(*key);
  }
  return std::make_unique<Ed25519Verifier>(std::move(keys));
}

}  // namespace bastion::server
