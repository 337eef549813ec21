// Who is at the other end of a channel, as proven by its TLS certificate.
//
// A certificate that chains to the cluster CA names its holder in the subject common name (CN),
// which must be exactly one CN of 1..64 characters of [A-Za-z0-9_.-]:
//   - "replica-<N>" is replica N, accepted only if N is a configured replica AND the certificate's
//     Ed25519 key equals the key configured (pinned) for N: a CA that issued a second
//     "replica-1" certificate, by mistake or compromise, still cannot impersonate replica 1;
//   - any other name with the reserved prefix "replica-" (any case, e.g. "replica-01") is refused;
//   - any other valid name is a client principal of that name.
// When we dial replica N we also require that the server is replica N and no one else.
// (config/names.h states the same name rules for files; tests/unit/net checks they agree.)
//
// Thread-safety: PeerRules is immutable after construction; classify() may run on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "codec/result.h"

typedef struct x509_st X509;  // NOLINT: OpenSSL's own forward declaration

namespace bastion::net {

using ReplicaId = std::uint32_t;
// Identifies one TLS connection for the lifetime of a transport; never reused.
using ConnectionId = std::uint64_t;
using PublicKey = std::array<std::uint8_t, 32>;

enum class PeerKind : std::uint8_t { kReplica, kClient };

struct Peer {
  PeerKind kind = PeerKind::kClient;
  ReplicaId replica_id = 0;  // meaningful for kReplica only
  std::string name;          // the certificate's CN: "replica-<N>" or the client principal

  bool is_replica() const { return kind == PeerKind::kReplica; }
};

class PeerRules {
 public:
  // The pinned Ed25519 key of every configured replica.
  explicit PeerRules(std::map<ReplicaId, PublicKey> replica_keys)
      : replica_keys_(std::move(replica_keys)) {}

  // Identity of a certificate that already passed chain verification against the cluster CA.
  // `expected`: the replica we dialed, if any. The error says why the peer is refused.
  Result<Peer, std::string> classify(X509* cert, std::optional<ReplicaId> expected) const;
  // The same decision from already-extracted facts (for tests and for checking our own identity).
  Result<Peer, std::string> classify(std::string_view common_name,
                                     const std::optional<PublicKey>& ed25519_key,
                                     std::optional<ReplicaId> expected) const;

  bool is_replica(ReplicaId id) const { return replica_keys_.contains(id); }

 private:
  std::map<ReplicaId, PublicKey> replica_keys_;
};

// The single subject CN of a certificate; nullopt when absent, repeated or not UTF-8.
std::optional<std::string> certificate_common_name(X509* cert);
// The raw Ed25519 public key of a certificate; nullopt for other key types.
std::optional<PublicKey> certificate_ed25519_key(X509* cert);

}  // namespace bastion::net
