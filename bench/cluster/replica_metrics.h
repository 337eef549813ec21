// What the replicas themselves report over the window: their Prometheus metrics (GET /metrics on
// 127.0.0.1:<metrics_port>, docs/operations.md), scraped before and after, turned into a few
// figures that explain a throughput number: requests per batch, storage syncs per batch and
// their time, signature work, view changes.
//
// Replicas publish their metrics every 500 ms, so a counter lags by up to that much; ratios are
// taken between counters of the same scrape, and time shares against the replica's own uptime
// gauge from the same scrape, so both ends stay consistent. Metrics ports are bound to loopback:
// replicas on other machines are not visible (every figure is then absent).
//
// Thread-safety: plain functions and values; scraping blocks for at most about a second per
// replica.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/cluster_config.h"

namespace bastion::bench {

// One replica's metrics: "name{labels}" (the replica label dropped) -> value.
using MetricValues = std::map<std::string, double>;

// Parses the Prometheus text format (comments skipped, malformed lines ignored).
MetricValues parse_metrics(const std::string& text);

// Scrapes every replica of the cluster that answers on 127.0.0.1, by replica id.
std::map<std::uint32_t, MetricValues> scrape_replicas(const config::ClusterConfig& cluster);

struct ReplicaActivity {
  std::uint32_t replicas = 0;      // replicas scraped at both ends
  double batches_per_replica = 0;  // executed, averaged over the replicas
  double requests_per_batch = 0;   // executed requests per executed batch
  double syncs_per_batch = 0;      // storage syncs per executed batch, per replica
  double sync_ms_mean = 0;         // one sync, on average
  double sync_share = 0;           // of the replicas' uptime their storage thread spent syncing
  double crypto_share = 0;         // of the replicas' uptime spent signing and verifying
  double signs_per_batch = 0;      // per replica
  double verifies_per_batch = 0;   // per replica
  double crypto_s = 0;             // signing and verifying, all replicas together
  double view_changes = 0;         // the largest view advance of one replica
};

// Figures over the window between two scrapes; empty when no replica was scraped at both ends.
std::optional<ReplicaActivity> activity_between(const std::map<std::uint32_t, MetricValues>& before,
                                                const std::map<std::uint32_t, MetricValues>& after);

}  // namespace bastion::bench
