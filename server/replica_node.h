// ReplicaNode: one Bastion replica in a process: the replication core (bft::Replica) with the
// tuple space behind it, driven by the real network (TLS transport), disk (write-ahead log),
// clock and Ed25519 keys. bastiond is a ReplicaNode plus signal handling; tests and the client
// library's tests run several in one process.
//
// The drive loop, all on the io thread (the only thread that touches protocol state):
//   - a frame from replica i -> Replica::on_replica_message(i, ...); a frame from a client ->
//     on_client_message(principal, ...), noting which connection the (principal, session) used
//     so replies can be routed back (ClientRoutes);
//   - after a burst of events (the frames and timers ready at once; a flush is posted behind
//     them, not run after each), take_output() and carry it out:
//       1. hand the persist records to the storage thread (StorageWorker), which appends and
//          syncs them, group-committing every turn that arrived during the previous sync, and
//          reports them durable to the core (Replica::on_durable());
//       2. send the output's messages and replies: the core holds back those that must wait for
//          records to be durable (Output::sync: prepared certificates, views, checkpoints) and
//          hands them out after on_durable(); the io thread goes on reading and processing
//          meanwhile;
//   - a timer armed at Replica::next_tick_us() drives on_tick.
// Back-pressure: the bytes waiting for the disk (held sends, and records handed to the storage
// thread and not yet durable) are counted; over transport.held_bytes_max the node stops reading
// client connections (the transport pauses them, so TCP pushes back on the clients) and resumes
// once they fall to half. Replica links are always read (see apply_backpressure() for why), and
// durability alone brings the count down, so a paused node never waits for a frame to resume.
// A storage failure stops the node and drops every held send (the core's votes would otherwise
// outrun the disk); on_fatal is told, and a restart recovers what was durable.
//
// Execution settings (execution_settings.h): start() logs their digest, which the application
// writes into every snapshot. While the core repairs a checkpoint its own execution got wrong,
// the application refuses a state made under another digest; the node then stops like stop() and
// tells on_fatal (kConfig) "cluster file differs from the other replicas (execution settings
// digest X, theirs Y)". A state under another digest restored from its own disk or installed by a
// catch-up is adopted with a warning (the settings may have changed on every replica).
//
// Time: the core compares the primary's batch timestamps with its own clock, across replicas, so
// its clock must mean the same on every machine: CLOCK_REALTIME in microseconds (keep replicas
// NTP-synchronised within protocol.clock_skew_max_ms). The node never lets it go backwards: after
// a backward step of the system clock it holds the last reading until the clock catches up
// (timers then fire late by up to the step, never early).
//
// Restart: start() opens the storage, folds its records and calls Replica::start() with them,
// which restores the stable checkpoint and re-executes committed batches above it.
//
// Metrics and /status are served over HTTP by their own threads from snapshots the io thread
// publishes every publish_interval (see node_metrics.h, node_report.h).
//
// Thread-safety: construct on any thread; every other method on the io thread (or while the
// io_context is not running). Destroy on the io thread or while it is not running.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/fwd.h>

#include "bft/core/config.h"
#include "bft/core/replica.h"
#include "bft/net/options.h"
#include "codec/result.h"
#include "config/cluster_config.h"
#include "server/byzantine.h"
#include "server/node_snapshot.h"

namespace boost::asio {
class io_context;
}
namespace bastion::bft::storage {
class FileSystem;
}

namespace bastion::server {

enum class NodeErrc : std::uint8_t {
  kConfig = 1,   // the cluster file or a file it names is unusable (bad key, ...)
  kStorage = 2,  // the data directory cannot be used (permissions, corruption, locked, I/O)
  kNetwork = 3,  // the replica port cannot be bound or the TLS identity cannot be loaded
  kHttp = 4,     // the metrics port cannot be bound
};

struct NodeError {
  NodeErrc code = NodeErrc::kConfig;
  std::string message;
};

// bastiond's exit status for an error: 2 for configuration errors, 1 otherwise.
int exit_code(NodeErrc code);

struct NodeOptions {
  std::optional<bool> in_memory;   // nullopt: the cluster file's cluster.in_memory
  std::filesystem::path data_dir;  // empty: <cluster data_dir>/replica-<id>
  bool serve_http = true;
  std::optional<std::uint16_t> http_port;  // nullopt: the replica's metrics_port; 0: any free port
  std::string http_host = "127.0.0.1";
  std::shared_ptr<spdlog::logger> logger;  // null: a logger "replica-<id>" on spdlog's sinks
  std::function<bft::TimeUs()> clock;      // null: CLOCK_REALTIME in microseconds
  // Where the storage lives (tests: a fault-injecting one, used by the node's storage thread and
  // outliving the node); null: the real disk.
  bft::storage::FileSystem* file_system = nullptr;
  // Checkpoint states of this size or more are hashed on a worker thread, smaller ones on the io
  // thread (0: all on the worker; server/checkpoint_capture.h).
  std::uint64_t capture_thread_min_bytes = std::uint64_t{1} << 20;
  std::chrono::milliseconds publish_interval{500};
  std::chrono::milliseconds stats_log_interval{10'000};
  // Adjustments after the cluster file is applied (tests: short timeouts, fast reconnects).
  std::function<void(bft::Config&)> tune_protocol;
  std::function<void(net::ReplicaTransportOptions&)> tune_transport;
  // TEST ONLY: misbehave (server/byzantine.h). start() refuses it (kConfig) unless the cluster
  // file sets [test] allow_byzantine = true.
  std::optional<ByzantineMode> byzantine;
};

class ReplicaNode {
 public:
  ReplicaNode(boost::asio::io_context& io, config::ClusterConfig cluster, bft::ReplicaId id,
              NodeOptions options = {});
  ~ReplicaNode();
  ReplicaNode(const ReplicaNode&) = delete;
  ReplicaNode& operator=(const ReplicaNode&) = delete;

  // Loads keys, opens and recovers the storage, binds the replica and metrics ports, starts the
  // replica. On error nothing keeps running.
  Result<Done, NodeError> start();
  // Makes everything produced so far durable, closes every connection and timer, stops the HTTP
  // server; io_context::run() returns once nothing else uses it. Idempotent.
  void stop();
  bool running() const;

  // Called (on the io thread) when the node stopped by itself: a storage failure.
  void on_fatal(std::function<void(const NodeError&)> handler);

  bft::ReplicaStatus status() const;
  // Digest of the application state (the tuple space) as of the last executed batch.
  bft::Digest app_digest() const;
  NodeSnapshot snapshot() const;
  std::uint16_t port() const;       // the bound replica port
  std::uint16_t http_port() const;  // 0 when not serving HTTP
  const bft::Config& protocol_config() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The wall clock the daemon gives the core: CLOCK_REALTIME in microseconds.
bft::TimeUs realtime_us();

}  // namespace bastion::server
