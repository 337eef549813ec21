// What a transport needs to know: its TLS identity, the replicas, and its limits.
//
// Plain values, filled by the daemon or the client library from config::ClusterConfig (bft/ does
// not depend on config/). Limits are named after the kind of peer at the other end: a frame
// *from* a client is bounded by client_frame_max_bytes, a queue *towards* a replica by
// replica_send_queue_max_bytes, and so on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bft/net/peer.h"

namespace bastion::net {

// PEM files: our certificate and private key, and the cluster CA that every peer must chain to.
struct TlsFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;
};

struct ReplicaAddress {
  ReplicaId id = 0;
  std::string host;  // a name or an IP literal
  std::uint16_t port = 0;
  PublicKey public_key{};  // pinned Ed25519 key of replica-<id>
};

struct TransportLimits {
  std::size_t replica_frame_max_bytes = 16u << 20;
  std::size_t client_frame_max_bytes = 1u << 20;
  std::size_t replica_send_queue_max_bytes = 64u << 20;
  std::size_t client_send_queue_max_bytes = 8u << 20;
  std::uint32_t client_connections_max = 4096;
  std::uint32_t client_connections_per_principal_max = 64;
  // Accepted connections still in their TLS handshake, in all and from one source address (an
  // IPv4 address or an IPv6 /64). These bound the memory and CPU a flood of half-open
  // connections can take, but never lock anyone out: a newcomer that finds the slots full makes
  // room by closing the OLDEST handshake in progress (of its source, or of all), so a peer that
  // speaks at once gets in even while a flood from its own address holds every slot.
  std::uint32_t handshakes_in_progress_max = 256;
  std::uint32_t handshakes_per_source_max = 128;
  // Connections from one source address: handshakes in progress plus established client
  // connections (replica peers are not counted once authenticated). Over it, the source's oldest
  // handshake makes room; with none, the newcomer is refused before TLS.
  std::uint32_t connections_per_source_max = 1024;
  std::uint32_t keepalive_ms = 1000;  // idle for this long: send a keep-alive; silent 3x: close
  std::uint32_t handshake_timeout_ms = 5000;  // connect + TLS handshake
  // An accepted connection that has sent no byte for this long is closed (at most
  // handshake_timeout_ms; a peer that dials speaks at once, a squatter never does).
  std::uint32_t first_bytes_timeout_ms = 1000;
  std::uint32_t reconnect_min_ms = 50;
  std::uint32_t reconnect_max_ms = 5000;
  std::size_t write_chunk_bytes = 64u << 10;  // coalesced bytes per TLS write
  std::size_t read_buffer_bytes = 16u << 10;  // per connection, grows for one large frame
};

struct ReplicaTransportOptions {
  ReplicaId self = 0;
  std::vector<ReplicaAddress> replicas;  // all of them, self included
  std::string listen_host;               // empty: our own entry's host
  std::uint16_t listen_port = 0;         // 0: our own entry's port
  TlsFiles tls;
  TransportLimits limits;
  std::uint64_t seed = 0;  // for reconnect jitter; 0: from std::random_device
};

struct ClientTransportOptions {
  std::vector<ReplicaAddress> replicas;
  TlsFiles tls;
  TransportLimits limits;
  std::uint64_t seed = 0;
};

}  // namespace bastion::net
