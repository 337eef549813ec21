// ClientRoutes: which connection a client session last used, so replies find their way back.
//
// The core addresses a reply by ClientKey (principal, session); the transport knows connections.
// Every request frame from a client notes (principal from the certificate, session from the
// frame) -> connection; a reply goes to the connection the session used last. A client that
// reconnects is found again with its next request or retransmission.
//
// Bounded whatever clients send: each connection keeps at most sessions_per_connection_max
// sessions (the oldest noted is forgotten first), and a connection's sessions are forgotten
// when it closes. So the table holds at most connections x sessions_per_connection_max entries.
//
// peek_request_session() reads the session of a REQUEST without decoding its payload (the core
// decodes the whole message anyway; the daemon needs one field, ahead of it);
// peek_status_query_nonce() reads the nonce of a STATUS-QUERY, whose report the core addresses by
// (principal, nonce).
//
// Thread-safety: none; the io thread owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

#include "bft/core/types.h"
#include "bft/net/peer.h"

namespace bastion::server {

class ClientRoutes {
 public:
  explicit ClientRoutes(std::size_t sessions_per_connection_max);

  void note(const bft::ClientKey& key, net::ConnectionId connection);
  std::optional<net::ConnectionId> find(const bft::ClientKey& key) const;
  void drop_connection(net::ConnectionId connection);

  std::size_t sessions() const { return by_key_.size(); }
  std::size_t connections() const { return by_connection_.size(); }

 private:
  std::size_t sessions_per_connection_max_;
  std::map<bft::ClientKey, net::ConnectionId> by_key_;
  // Sessions noted on each connection, oldest first; may still name sessions that moved on to
  // another connection since (they are skipped when forgotten).
  std::unordered_map<net::ConnectionId, std::deque<bft::ClientKey>> by_connection_;
};

// The session field of an encoded REQUEST message; nullopt for anything else or a frame too
// short to hold it.
std::optional<std::uint64_t> peek_request_session(bft::ByteView frame);
// The nonce of an encoded STATUS-QUERY message; nullopt for anything else.
std::optional<std::uint64_t> peek_status_query_nonce(bft::ByteView frame);

}  // namespace bastion::server
