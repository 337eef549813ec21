// The deterministic cluster simulator: n replicas and several clients in one process, on a
// simulated network and clock, driving the same Replica and ClientCore the daemon and the client
// library drive.
//
// One seed decides everything: the replicas' configuration, clocks (offset, drift), message
// latencies, losses, duplicates and reorderings, partitions and their healing, crashes and
// restarts (a restarted replica gets exactly what it had persisted), which replicas are Byzantine
// and how, Byzantine clients, and the workload. Events are processed in (time, sequence) order
// from one queue, so a run is a pure function of SimOptions.
//
// Drivers follow replica.h's effect order: after every event the replica's Output is carried
// out as persist (to its simulated disk) THEN sends and replies. A torn write crashes a replica
// between the two (a prefix of the records reached the disk, no send left).
//
// A run has a fault phase (faults as the plan says) and then a healthy phase (network heals, no
// loss, crashed replicas restart; Byzantine replicas stay Byzantine, at most f). Checked on every
// run (see checks.h, linearizability.h): agreement, validity/integrity, linearizability of the
// client history, liveness (every correct client's request completes within liveness_bound_us of
// the later of its invocation and the end of the fault phase), throughput (the correct clients'
// median latency after the heal against a fault-free warm-up at the start of the run, see
// SimOptions::warmup_us), convergence (correct replicas
// reach the same last executed sequence number once the workload is done) and that correct
// replicas at the same sequence number hold the same application state.
//
// Scripted faults (for scenario tests) are added before run(); with options.random_faults false
// they are the only faults.
//
// Thread-safety: none; a Simulation is used by one thread. Independent Simulations may run in
// parallel threads (no shared mutable state).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/replica.h"
#include "bft/sim/byzantine.h"
#include "bft/sim/network.h"
#include "bft/sim/options.h"

namespace bastion::bft::sim {

struct RunStats {
  std::uint64_t events = 0;
  std::uint64_t messages = 0;
  std::uint64_t dropped = 0;
  std::uint64_t ops_issued = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t read_only_completed = 0;
  std::uint64_t core_errors = 0;  // operations answered with a core error status
  std::uint64_t provisional = 0;  // provisional (kPending) completions of waiting operations
  SeqNum last_executed = 0;       // highest among correct replicas
  ViewNum view = 0;               // highest among correct replicas
  std::uint64_t crashes = 0;
  std::uint64_t byzantine_mutations = 0;
  std::uint64_t state_transfers = 0;
  std::uint64_t state_bytes_fetched = 0;  // by those transfers, and taken from pages held
  std::uint64_t state_bytes_held = 0;
  std::uint64_t abstained = 0;  // prepares restarted replicas withheld (recovery.abstained)
  TimeUs heal_us = 0;
  TimeUs end_us = 0;
  // The throughput check: correct operations completed in the warm-up, invoked after the heal,
  // and the median latency of each.
  std::uint64_t warmup_ops = 0;
  std::uint64_t tail_ops = 0;
  TimeUs warmup_latency_us = 0;
  TimeUs tail_latency_us = 0;
  std::uint64_t tail_correct_primary_ops = 0;
  TimeUs tail_correct_primary_latency_us = 0;
  TimeUs request_timeout_us = 0;
  TimeUs retransmit_interval_us = 0;
  TimeUs capture_delay_max_us = 0;
  std::map<std::string, std::uint64_t> sizes_max;  // Replica::debug_sizes(), max over the run
  std::uint64_t linearizability_steps = 0;         // the checker's search steps, all partitions
  std::uint64_t linearizability_steps_max = 0;     // ... in its costliest partition
};

struct RunResult {
  std::vector<std::string> failures;  // empty: every check passed
  RunStats stats;
  std::vector<std::string> trace_tail;  // the last events, when options.trace_tail > 0
  std::vector<std::string> cluster;     // on failure: configuration and each node's state
  bool passed() const { return failures.empty(); }
};

class Simulation {
 public:
  explicit Simulation(SimOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  std::uint32_t n() const;
  std::uint32_t f() const;

  // The replicas' configuration (chosen by the seed); a test may adjust it before run().
  Config& mutable_config();

  // ---- scripted faults (before run()) ----
  // End of the fault phase: everything heals, crashed replicas restart, losses stop.
  void set_heal_time(TimeUs at_us);
  void set_network(const NetworkParams& faulty);
  void crash(ReplicaId r, TimeUs at_us, bool torn = false);
  void restart(ReplicaId r, TimeUs at_us);
  // sides[i] for replica i (clients stay on side 0) from `from_us` until `until_us`.
  void partition(std::vector<std::uint8_t> replica_sides, TimeUs from_us, TimeUs until_us);
  void isolate(ReplicaId r, TimeUs from_us, TimeUs until_us);
  void make_byzantine(ReplicaId r, ByzProfile profile);
  // Calls `probe` every `period_us` of simulated time (tests observe replicas through it).
  void every(TimeUs period_us, std::function<void(Simulation&)> probe);

  RunResult run();

  // ---- introspection (during probes or after run()) ----
  TimeUs now_us() const;
  bool up(ReplicaId r) const;
  bool byzantine(ReplicaId r) const;
  ReplicaStatus status(ReplicaId r) const;  // of a replica that is up
  TimeUs clock_us(ReplicaId r) const;       // the replica's local clock now
  // A copy: Replica::counters() may rebuild its map on every call.
  Counters counters(ReplicaId r) const;
  Digest app_digest(ReplicaId r) const;
  const Config& config() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs one seed with `options` and returns the result.
RunResult run_seed(const SimOptions& options);

}  // namespace bastion::bft::sim
