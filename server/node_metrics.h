// NodeMetrics: a replica's Prometheus metrics, published from snapshots.
//
// The protocol state belongs to the io thread and the HTTP server scrapes from its own threads,
// so nothing here reads the protocol state: the io thread takes a NodeSnapshot every
// publish interval and publish() turns cumulative values into counter increments and gauges.
// Storage sync latency is observed per sync, directly into a histogram.
//
// Names (all prefixed bastion_, all with the label replica="<id>"):
//   messages_in_total{type}, messages_out_total{type}, drops_total{reason},
//   requests_total{outcome}, batches_total{kind}, replies_total{result},
//   <other core counter>_total (view_changes_total, state_transfers_total, ...),
//   storage_sync_seconds (histogram), storage_*_total, storage_log_bytes, transport_*,
//   crypto_operations_total{op}, crypto_seconds_total{op},
//   view, primary, view_changing, last_executed, stable_checkpoint, agreed_time_seconds,
//   fetching_state, pool_entries{container}, links_connected, client_sessions_routed,
//   policy_decisions_total{result} (allow, deny, fail), policy_compiles_total.
//
// Thread-safety: publish() and observe_sync() from the io thread; render() from any thread
// (prometheus-cpp's registry and metrics are thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "server/node_snapshot.h"

namespace prometheus {
class Registry;
class Histogram;
}  // namespace prometheus

namespace bastion::server {

class NodeMetrics {
 public:
  explicit NodeMetrics(bft::ReplicaId id);
  ~NodeMetrics();
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

  void publish(const NodeSnapshot& snapshot);
  void observe_sync(double seconds);

  // The Prometheus text exposition of every metric.
  std::string render() const;

 private:
  class Families;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  prometheus::Histogram* sync_seconds_ = nullptr;
};

// Prometheus metric name for a core counter outside the labelled groups: "view_change.timeouts"
// -> "bastion_view_change_timeouts_total". Exposed for tests.
std::string core_counter_metric(const std::string& counter);

}  // namespace bastion::server
