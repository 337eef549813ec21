// ClusterConfig: the cluster.toml every replica and client of one cluster shares.
//
// The file's schema is documented in docs/operations.md ("The cluster file"). Loading has two
// steps, kept apart so the text parser can be fuzzed without touching the file system:
//   parse_cluster_config(text, file)  pure: TOML syntax, schema (unknown keys are errors, so a
//                                     typo never passes silently), types, ranges, cross-field
//                                     rules (n == 3f+1, ids 0..n-1 once each, distinct ports);
//   check_cluster_files(config)       the CA certificate and every replica certificate exist,
//                                     each replica certificate is issued by the CA with common
//                                     name "replica-<id>" and the key pinned as public_key.
// load_cluster_config(file) does both. Replica private keys are not read: only the machine of
// that replica has its key file.
//
// Every error names the file, the key and the problem, e.g.
//   cluster.toml: replicas[2].port: 70000 is not a valid port
//   cluster.toml: cluster.f: 2 needs 7 replicas, found 4
// Relative paths in the file are resolved against the file's directory.
//
// A ClusterConfig is a plain value: copy it, pass it in; it is never global.
// Thread-safety: functions are pure or read files only; values are immutable once loaded.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/result.h"

namespace bastion::config {

enum class ConfigErrorCode : std::uint8_t {
  kIo = 1,            // the file could not be read
  kSyntax = 2,        // not valid TOML
  kUnknownKey = 3,    // a key the schema does not have
  kMissingKey = 4,    // a required key is absent
  kWrongType = 5,     // a value of the wrong TOML type
  kInvalidValue = 6,  // a value out of range or breaking a rule
  kFile = 7,          // a file the configuration names is missing or unusable
  kKeyMismatch = 8,   // a certificate does not carry the configured key or name
  kExists = 9,        // cluster init / add_identity would overwrite something
};

struct ConfigError {
  ConfigErrorCode code;
  std::string message;  // "<file>: <key>: <problem>"
};

using PublicKey = std::array<std::uint8_t, 32>;

// [protocol]: replication tuning. Plain values: the daemon maps them onto bft's own types.
struct ProtocolSettings {
  std::uint32_t checkpoint_interval = 128;  // batches between checkpoints
  std::uint32_t batch_max_requests = 1024;
  std::uint64_t batch_max_bytes = 1 << 20;
  std::uint32_t batch_delay_us = 200;       // how long the primary waits to fill a batch
  std::uint32_t pipeline_max = 4;           // batches the primary keeps in flight at most
  std::uint32_t request_timeout_ms = 2000;  // before backups suspect the primary
  std::uint32_t view_change_timeout_ms = 4000;
  std::uint32_t clock_skew_max_ms = 2000;          // accepted skew of the primary's timestamp
  std::uint32_t agreed_time_slack_ms = 100;        // agreed time's gain on a backup's clock...
  std::uint32_t agreed_time_window_ms = 10'000;    // ...per half of this window
  std::uint64_t frame_max_bytes = 16 << 20;        // largest frame between replicas
  std::uint64_t client_frame_max_bytes = 1 << 20;  // largest frame from a client
};

// [transport]: channel limits and timers.
struct TransportSettings {
  std::uint32_t keepalive_ms = 1000;  // idle channels send a keep-alive; silent 3x this: closed
  std::uint32_t handshake_timeout_ms = 5000;
  std::uint32_t first_bytes_timeout_ms = 1000;  // an accepted socket silent this long: closed
  // Handshakes in progress at once, in all and from one source address; over either, the
  // oldest is closed to make room for the newcomer.
  std::uint32_t handshakes_in_progress_max = 256;
  std::uint32_t handshakes_per_source_max = 128;
  // Handshakes plus established client connections from one source address.
  std::uint32_t connections_per_source_max = 1024;
  std::uint64_t send_queue_max_bytes = 64ull << 20;        // per replica peer
  std::uint64_t client_send_queue_max_bytes = 8ull << 20;  // per client connection
  // Bytes a replica holds for a slow disk (sends waiting for their records, records not yet
  // durable); over it, client connections stop being read until half of it drains.
  std::uint64_t held_bytes_max = 64ull << 20;
  std::uint32_t client_connections_max = 4096;
  std::uint32_t client_connections_per_principal_max = 64;
  std::uint32_t reconnect_min_ms = 50;
  std::uint32_t reconnect_max_ms = 5000;
};

// [policy]: the budgets of one evaluation of a space's policy script (policy::Limits).
struct PolicySettings {
  std::uint64_t instructions_max = 200'000;
  std::uint64_t memory_bytes_max = 8ull << 20;
};

// [tuplespace]: bytes of tuples and waiting requests, per client over every space and in all
// (ts::EngineLimits).
struct TupleSpaceSettings {
  std::uint64_t bytes_per_client_max = 256ull << 20;
  std::uint64_t state_bytes_max = 3ull << 30;
};

// [test]: switches for measurements and tests only, never for a production cluster.
struct TestSettings {
  // bastiond --byzantine MODE (server/byzantine.h) is refused unless this is true.
  bool allow_byzantine = false;
};

// One [[replicas]] entry; replicas[i].id == i after parsing.
struct ReplicaConfig {
  std::uint32_t id = 0;
  std::string host;
  std::uint16_t port = 0;
  std::uint16_t metrics_port = 0;
  PublicKey public_key{};  // Ed25519, the key of `cert`
  std::filesystem::path cert;
  std::filesystem::path key;  // present only on that replica's machine
  // Confidential spaces (docs/confidentiality.md): the replica's PVSS public key, a ristretto255
  // point, and the file of its private key (only on that replica's machine). Every replica has
  // both, or none does (a cluster made before confidentiality existed).
  std::optional<PublicKey> pvss_public_key;
  std::filesystem::path pvss_key;
};

struct ClusterConfig {
  std::filesystem::path file;  // the cluster.toml this came from
  std::filesystem::path dir;   // its directory: the base of relative paths
  std::string name;
  std::uint32_t f = 1;
  std::filesystem::path ca_cert;
  std::vector<std::string> admins;
  // [groups]: group name -> member client names (access lists and policies name them "@name");
  // "admins" is implicit: the admins above.
  std::map<std::string, std::vector<std::string>, std::less<>> groups;
  std::string default_identity;  // empty: none
  std::filesystem::path data_dir;
  bool in_memory = false;
  ProtocolSettings protocol;
  TransportSettings transport;
  PolicySettings policy;
  TupleSpaceSettings tuplespace;
  TestSettings test;
  std::vector<ReplicaConfig> replicas;  // indexed by id

  std::uint32_t n() const { return static_cast<std::uint32_t>(replicas.size()); }
  std::uint32_t quorum() const { return 2 * f + 1; }
  // Whether the replicas have PVSS keys (confidential spaces need them).
  bool has_pvss_keys() const {
    return !replicas.empty() && replicas[0].pvss_public_key.has_value();
  }
  // Where the identity called `name` lives by convention: <dir>/identities/<name>/.
  std::filesystem::path identity_dir(std::string_view identity) const;
};

Result<ClusterConfig, ConfigError> parse_cluster_config(std::string_view text,
                                                        const std::filesystem::path& file);
Result<Done, ConfigError> check_cluster_files(const ClusterConfig& config);
Result<ClusterConfig, ConfigError> load_cluster_config(const std::filesystem::path& file);

// Largest accepted cluster.toml; a larger file is refused unread.
inline constexpr std::size_t kClusterFileMaxBytes = 1 << 20;
// f is at most this (n = 3f+1 = 100 replicas).
inline constexpr std::uint32_t kFaultsMax = 33;

}  // namespace bastion::config
