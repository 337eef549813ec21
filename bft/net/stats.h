// Counters of a transport, for metrics and tests. Monotonic except the *_open gauges.
//
// Thread-safety: owned by the io_context thread; stats() returns a copy.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bft/net/peer.h"

namespace bastion::net {

struct TransportStats {
  std::uint64_t frames_in = 0;  // delivered frames (keep-alives not included)
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_in = 0;  // plaintext bytes, headers included
  std::uint64_t bytes_out = 0;
  std::uint64_t keepalives_in = 0;
  std::uint64_t keepalives_out = 0;

  // Frames not sent, by reason.
  std::uint64_t drops_queue_full = 0;
  std::uint64_t drops_not_connected = 0;        // no live channel to that replica
  std::uint64_t drops_unknown_destination = 0;  // no such replica or connection
  std::uint64_t drops_too_large = 0;            // above what the destination accepts

  // Connections closed or refused, by reason.
  std::uint64_t oversized_frames = 0;    // a peer announced a frame above its limit
  std::uint64_t handshake_failures = 0;  // TLS failed: no, wrong-CA, expired or badly named cert
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t first_bytes_timeouts = 0;  // accepted, then silent past first_bytes_timeout_ms
  // Handshakes in progress closed to make room for a newer connection (the slots were full).
  std::uint64_t evicted_handshakes = 0;
  std::uint64_t idle_timeouts = 0;            // peer silent for 3 x keepalive
  std::uint64_t refused_client_limit = 0;     // too many client connections
  std::uint64_t refused_principal_limit = 0;  // too many connections of one principal
  // Accepted sockets closed before TLS: their address holds connections_per_source_max
  // established client connections.
  std::uint64_t refused_source_limit = 0;
  std::uint64_t replica_connections_replaced = 0;  // an older incoming link from the same replica
  std::uint64_t accept_errors = 0;

  std::uint64_t connections_accepted = 0;  // completed inbound handshakes
  std::uint64_t connections_dialed = 0;    // completed outbound handshakes
  std::uint64_t dial_attempts = 0;
  std::uint64_t dial_failures = 0;

  std::uint64_t connections_open = 0;         // gauge: every live connection
  std::uint64_t client_connections_open = 0;  // gauge
  std::uint64_t handshakes_in_progress = 0;   // gauge: accepted, handshake not yet complete
};

// The outgoing link to one replica (for `bastion status` and the daemon's status page).
enum class LinkState : std::uint8_t {
  kConnecting,  // connect and handshake under way
  kConnected,   // established; frames flow
  kBackoff,     // waiting before the next attempt
  kStopped,
};

struct LinkStatus {
  ReplicaId replica = 0;
  LinkState state = LinkState::kStopped;
  std::string last_error;      // why the last attempt or connection ended; empty if none
  std::uint64_t connects = 0;  // completed handshakes
  std::uint64_t failures = 0;  // attempts that ended before completing
  std::chrono::steady_clock::time_point since{};  // when `state` was entered
  std::size_t queued_bytes = 0;
};

std::string_view link_state_name(LinkState s);

}  // namespace bastion::net
