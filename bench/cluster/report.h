// The summary bastion-bench prints: one block for people, or one JSON object with --json.
//
// Latencies are in milliseconds, percentiles by the nearest-rank method over every successful
// operation completed in the measuring window. Replica CPU is the user + system time of the
// replica processes over the window, per 1000 successful operations; beside it, the time their
// threads were runnable but waited for a CPU (machine load), over the window.
//
// Thread-safety: plain functions and values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/cluster/replica_metrics.h"

namespace bastion::bench {

struct LatencySummary {
  std::uint64_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  double mean_ms = 0;
};

// Sorts `latency_ns` in place.
LatencySummary summarize(std::vector<std::uint64_t>& latency_ns);

struct ReplicaCpu {
  std::vector<std::string> ids;      // --id of each replica process found
  double seconds = 0;                // over the window, all replicas together
  std::optional<double> run_wait_s;  // runnable but waiting for a CPU, all replicas together
};

struct Summary {
  std::string op;
  std::string space;
  std::uint64_t clients = 0;
  std::uint64_t connections = 0;
  std::uint64_t size_bytes = 0;
  bool confidential = false;  // a confidential space (--confidential)
  double warmup_s = 0;
  double duration_s = 0;     // the measuring window as it actually ran
  bool interrupted = false;  // ended early by a signal

  std::uint64_t ops = 0;  // successful operations in the window
  double ops_per_s = 0;
  LatencySummary latency;
  std::map<std::string, LatencySummary> by_step;  // mix only: "out", "rdp", "inp"
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t refills = 0;

  std::optional<ReplicaCpu> replica_cpu;        // empty: not visible
  std::optional<ReplicaActivity> replica_work;  // from their metrics; empty: not visible
  double bench_cpu_s = 0;
  double load_start = -1;
  double load_end = -1;
};

std::string to_text(const Summary& s);
std::string to_json(const Summary& s);

}  // namespace bastion::bench
