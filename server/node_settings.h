// How a replica daemon turns the shared cluster file into the settings of its parts: the
// replication core (bft::Config), the transport (net::ReplicaTransportOptions) and the storage
// (data directory). One place, so every replica of a cluster derives the same protocol values
// from the same file.
//
// Rules beyond a field-by-field copy:
//   - log_window = 4 x checkpoint_interval (room to keep ordering while a checkpoint stabilises);
//   - a frame must carry a full batch plus one request above the cap (the core lets a lone large
//     request through) plus headers: the batch cap the core uses is lowered to fit
//     protocol.frame_max_bytes if needed, and a frame that cannot carry a batch of even 1 KiB
//     is a configuration error;
//   - request_bytes_max = protocol.client_frame_max_bytes (a payload never exceeds its frame);
//   - the replica's data lives in <data_dir>/replica-<id>, so replicas sharing a machine and a
//     cluster file never share a directory.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "bft/core/config.h"
#include "bft/net/options.h"
#include "codec/result.h"
#include "config/cluster_config.h"

namespace bastion::server {

struct NodeSettings {
  bft::Config protocol;
  net::ReplicaTransportOptions transport;
  std::filesystem::path data_dir;
  bool in_memory = false;
  // Back-pressure: over this many bytes waiting for the disk, client reads pause (replica_node.h).
  std::uint64_t held_bytes_max = 0;
  // The batch cap of the cluster file, when it had to be lowered to fit a frame (0: unchanged).
  std::uint64_t batch_bytes_requested = 0;
};

// The settings of replica `id`. Errors name the cluster file and the key at fault.
Result<NodeSettings, config::ConfigError> node_settings(const config::ClusterConfig& cluster,
                                                        std::uint32_t id);

// <data_dir>/replica-<id>.
std::filesystem::path replica_data_dir(const config::ClusterConfig& cluster, std::uint32_t id);

}  // namespace bastion::server
