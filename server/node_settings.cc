// Cluster file -> settings of one replica's parts (see node_settings.h).
#include "server/node_settings.h"

#include <algorithm>

#include "bft/core/state_digest.h"

namespace bastion::server {
namespace {

// Headers and signatures around a batch or a state chunk in one message (the core's own slack).
constexpr std::uint64_t kMessageSlackBytes = 64 * 1024;
constexpr std::uint64_t kBatchBytesMin = 1024;
constexpr std::uint32_t kStateChunkBytesMax = 1 << 20;
constexpr std::uint32_t kStateChunkBytesMin = 4 << 10;
constexpr std::uint32_t kLogWindowCheckpoints = 4;

config::ConfigError error_at(const config::ClusterConfig& cluster, const std::string& key,
                             const std::string& problem) {
  return config::ConfigError{config::ConfigErrorCode::kInvalidValue,
                             cluster.file.string() + ": " + key + ": " + problem};
}

}  // namespace

std::filesystem::path replica_data_dir(const config::ClusterConfig& cluster, std::uint32_t id) {
  return cluster.data_dir / ("replica-" + std::to_string(id));
}

Result<NodeSettings, config::ConfigError> node_settings(const config::ClusterConfig& cluster,
                                                        std::uint32_t id) {
  if (id >= cluster.replicas.size()) {
    return fail(error_at(cluster, "replicas",
                         "no replica with id " + std::to_string(id) + " (ids are 0.." +
                             std::to_string(cluster.replicas.size() - 1) + ")"));
  }
  const config::ProtocolSettings& p = cluster.protocol;
  const config::TransportSettings& t = cluster.transport;
  NodeSettings s;

  bft::Config& c = s.protocol;
  c.n = cluster.n();
  c.f = cluster.f;
  c.self = id;
  c.checkpoint_interval = p.checkpoint_interval;
  const std::uint64_t window = std::uint64_t{p.checkpoint_interval} * kLogWindowCheckpoints;
  if (window > 0xffffffffu) {
    return fail(error_at(cluster, "protocol.checkpoint_interval", "too large"));
  }
  c.log_window = static_cast<std::uint32_t>(window);
  c.pipeline_max = std::min(p.pipeline_max, c.log_window);
  c.batch_max_requests = p.batch_max_requests;
  c.batch_delay_us = p.batch_delay_us;
  c.request_timeout_us = bft::TimeUs{p.request_timeout_ms} * 1000;
  c.view_change_timeout_us = bft::TimeUs{p.view_change_timeout_ms} * 1000;
  c.view_change_timeout_max_us = std::max(c.view_change_timeout_max_us, c.view_change_timeout_us);
  c.clock_skew_max_us = bft::TimeUs{p.clock_skew_max_ms} * 1000;
  c.agreed_time_slack_us = bft::TimeUs{p.agreed_time_slack_ms} * 1000;
  c.agreed_time_window_us = bft::TimeUs{p.agreed_time_window_ms} * 1000;
  // Entries only vouched for are forgotten well after any request could have been ordered.
  c.pool_entry_ttl_us = std::max(c.pool_entry_ttl_us, 5 * c.request_timeout_us);
  c.message_bytes_max = p.frame_max_bytes;
  const std::uint64_t request_bytes =
      std::min<std::uint64_t>(p.client_frame_max_bytes, 0xffffffffu);
  c.request_bytes_max = static_cast<std::uint32_t>(request_bytes);

  // A pre-prepare may hold a full batch plus one more request.
  const std::uint64_t room = p.frame_max_bytes > request_bytes + kMessageSlackBytes
                                 ? p.frame_max_bytes - request_bytes - kMessageSlackBytes
                                 : 0;
  std::uint64_t batch_bytes = std::min<std::uint64_t>(p.batch_max_bytes, 0xffffffffu);
  if (batch_bytes > room) {
    if (room < kBatchBytesMin) {
      return fail(error_at(cluster, "protocol.frame_max_bytes",
                           std::to_string(p.frame_max_bytes) +
                               " cannot carry a batch of 1 KiB plus one request of "
                               "client_frame_max_bytes (" +
                               std::to_string(p.client_frame_max_bytes) + ") plus " +
                               std::to_string(kMessageSlackBytes) + " bytes of header"));
    }
    s.batch_bytes_requested = p.batch_max_bytes;
    batch_bytes = room;
  }
  c.batch_max_bytes = static_cast<std::uint32_t>(batch_bytes);
  // The first state chunk also carries the leaf digests of a state of up to snapshot_bytes_max.
  const std::uint64_t leaf_digest_bytes = bft::state_first_chunk_digest_bytes(c.snapshot_bytes_max);
  if (p.frame_max_bytes < kMessageSlackBytes + leaf_digest_bytes + kStateChunkBytesMin) {
    return fail(error_at(cluster, "protocol.frame_max_bytes",
                         std::to_string(p.frame_max_bytes) + " cannot carry a state chunk of " +
                             std::to_string(kStateChunkBytesMin) + " bytes plus " +
                             std::to_string(leaf_digest_bytes) + " bytes of leaf digests plus " +
                             std::to_string(kMessageSlackBytes) + " bytes of header"));
  }
  c.state_chunk_bytes = static_cast<std::uint32_t>(std::min<std::uint64_t>(
      kStateChunkBytesMax, p.frame_max_bytes - kMessageSlackBytes - leaf_digest_bytes));
  if (const std::string why = c.validate(); !why.empty()) {
    return fail(error_at(cluster, "protocol", why));
  }

  net::ReplicaTransportOptions& o = s.transport;
  o.self = id;
  for (const config::ReplicaConfig& r : cluster.replicas) {
    o.replicas.push_back(net::ReplicaAddress{r.id, r.host, r.port, r.public_key});
  }
  const config::ReplicaConfig& self = cluster.replicas[id];
  o.tls = net::TlsFiles{self.cert, self.key, cluster.ca_cert};
  net::TransportLimits& l = o.limits;
  l.replica_frame_max_bytes = p.frame_max_bytes;
  l.client_frame_max_bytes = p.client_frame_max_bytes;
  l.replica_send_queue_max_bytes = t.send_queue_max_bytes;
  l.client_send_queue_max_bytes = t.client_send_queue_max_bytes;
  l.client_connections_max = t.client_connections_max;
  l.client_connections_per_principal_max = t.client_connections_per_principal_max;
  l.keepalive_ms = t.keepalive_ms;
  l.handshake_timeout_ms = t.handshake_timeout_ms;
  l.first_bytes_timeout_ms = t.first_bytes_timeout_ms;
  l.handshakes_in_progress_max = t.handshakes_in_progress_max;
  l.handshakes_per_source_max = t.handshakes_per_source_max;
  l.connections_per_source_max = t.connections_per_source_max;
  l.reconnect_min_ms = t.reconnect_min_ms;
  l.reconnect_max_ms = t.reconnect_max_ms;

  s.held_bytes_max = t.held_bytes_max;
  s.data_dir = replica_data_dir(cluster, id);
  s.in_memory = cluster.in_memory;
  return s;
}

}  // namespace bastion::server
