// The TLS context every channel of one transport shares (internal header).
//
// Policy: TLS 1.3 only; mutual authentication (SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT) against
// the cluster CA alone (the system trust store is never loaded); chain depth 1 (CA -> leaf); no
// session tickets or session cache, so every connection presents and verifies a certificate and a
// revoked-by-reconfiguration peer cannot resume. OpenSSL also checks the certificate's purpose
// against its role (a client-only certificate cannot serve as a replica).
//
// make_tls_context refuses to build a context whose own certificate would be refused by peers:
// not issued by the CA, expired, key not matching, or a name other than the one expected.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bft/net/asio.h"
#include "bft/net/options.h"
#include "bft/net/peer.h"
#include "codec/result.h"

namespace bastion::net {

struct TlsContext {
  std::shared_ptr<asio::ssl::context> ctx;
  Peer self;  // who our own certificate says we are
};

// expect_replica: our own certificate must be replica-<id> with its pinned key; nullopt: a client
// certificate (a valid name without the reserved prefix).
Result<TlsContext, std::string> make_tls_context(const TlsFiles& files, const PeerRules& rules,
                                                 std::optional<ReplicaId> expect_replica);

}  // namespace bastion::net
