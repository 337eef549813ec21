// NodeSnapshot: a copy of everything a replica node reports (metrics, status page, stats log),
// taken on the io thread and then handed to code on other threads. Plain values only, so a
// snapshot can be read anywhere without touching protocol state.
//
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bft/core/replica.h"
#include "bft/net/stats.h"
#include "bft/storage/replica_storage.h"
#include "policy/policy_layer.h"
#include "server/checkpoint_capture.h"
#include "server/node_crypto.h"

namespace bastion::server {

// What the driver itself counts (the core counts protocol events; the transport counts frames).
struct DriverStats {
  std::uint64_t replica_frames_in = 0;
  std::uint64_t client_frames_in = 0;
  std::uint64_t turns = 0;  // take_output() calls that produced effects
  std::uint64_t persist_records = 0;
  std::uint64_t syncs = 0;  // sync() calls (one per turn that persisted something)
  std::uint64_t sync_ns = 0;
  std::uint64_t sync_ns_max = 0;
  // Messages handed to the transport, by MsgType byte, one per destination.
  std::array<std::uint64_t, 256> messages_out{};
  std::uint64_t messages_refused = 0;  // the transport did not take them (link down, queue full)
  std::uint64_t replies_sent = 0;
  std::uint64_t replies_unroutable = 0;  // no connection known for the reply's session
  std::uint64_t replies_refused = 0;     // the connection is gone or its queue is full
  std::uint64_t status_reports_sent = 0;
  std::uint64_t ticks = 0;
  // Back-pressure (replica_node.h): bytes waiting for the disk (held sends and records not yet
  // durable), the most there ever were, how many times client reads were paused, and whether
  // they are now.
  std::uint64_t held_bytes = 0;
  std::uint64_t held_bytes_peak = 0;
  std::uint64_t client_read_pauses = 0;
  bool client_reads_paused = false;
};

struct NodeSnapshot {
  bft::ReplicaStatus status;
  bft::Counters core;
  std::map<std::string, std::uint64_t> sizes;  // Replica::debug_sizes()
  DriverStats driver;
  net::TransportStats transport;
  std::vector<net::LinkStatus> links;
  bft::storage::StorageStats storage;
  bool in_memory = false;
  CryptoStats signer;
  CryptoStats verifier;
  CaptureStats capture;
  policy::PolicyLayer::Counters policy;
  std::uint64_t routed_sessions = 0;
  std::uint64_t client_connections = 0;
  std::int64_t uptime_ms = 0;
  std::string listen;                       // host:port the replica serves on
  bft::Digest execution_settings_digest{};  // execution_settings.h
};

}  // namespace bastion::server
