// What one simulation run does: cluster size, workload, and the fault menu.
//
// A run is a pure function of SimOptions (the seed included). The CLI and the tests build
// SimOptions; a failure prints the arguments that rebuild the same options (repro_args()).
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "bft/core/types.h"

namespace bastion::bft::sim {

struct AppPlugin;

// Byzantine replica behaviours (each one a mutation of a real replica's inputs or outputs).
enum class ByzBehaviour : std::uint8_t {
  kSilence,          // drops (some or all) of its outgoing messages and replies
  kEquivocate,       // as primary: different batches to different backups
  kCensorClient,     // as primary: leaves one client's requests out of its batches
  kDelayClient,      // as primary: holds back pre-prepares carrying one client's requests
  kBadTimestamp,     // as primary: stale, equal, zero or far-future batch timestamps
  kForgeRequest,     // as primary: adds a request no client issued
  kWrongDigest,      // prepares and commits for digests that were never proposed
  kWrongCheckpoint,  // checkpoints with wrong state digests, corrupt state chunks
  kCorruptReply,     // replies with altered results, numbers or sessions
  kForgeReply,       // replies claiming to come from another replica
  kGarbage,          // random bytes, and well-framed messages with random bodies
  kReplay,           // old messages (its own and others') sent again to random peers
  kStaleRead,        // answers read-only requests from an old copy of its state
  // Dissemination and catch-up lies (each re-signed or sent from its own endpoint only).
  kWrongVouch,       // vouches with wrong digests, for invented requests and other principals
  kWrongRequests,    // REQUESTS with altered bodies (answers and unsolicited), bogus fetches
  kWrongBatch,       // BATCH answers with altered requests, unsolicited batches
  kWrongCommitted,   // COMMITTED claims with wrong headers or altered batches
  kWrongStatus,      // STATUS lying about its view, last executed and stable sequence numbers
  kLargeGarbage,     // well-framed messages of every type near or above their size cap, and
                     // vectors claiming huge counts
  kViewChangeFlood,  // VIEW-CHANGEs for view after view, re-signed, reusing real certificates
  kSlowState,        // as a state-transfer source: short chunks, or chunks held back
  kEdgeTimestamp,    // its clock runs clock_skew_max_us ahead of the slowest correct clock:
                     // as primary, timestamps at the edge of what backups accept
  kSlowPrimary,      // as primary: every pre-prepare held a little less than request_timeout_us
};
inline constexpr int kByzBehaviourCount = 23;

const char* behaviour_name(ByzBehaviour b);
// Parses a comma-separated list of names ("all" = the default menu). False on an unknown name.
bool parse_behaviours(const std::string& list, std::set<ByzBehaviour>& out);
// The default menu: every behaviour.
std::set<ByzBehaviour> all_behaviours();

// Byzantine client behaviours (with --byzantine and the byzantine-clients fault class). The
// client is a real principal with its own channel; each run draws 1..3 of the menu.
enum class ByzClientBehaviour : std::uint8_t {
  kEquivocate,  // different payloads under one request number to different replicas, or one
                // payload to a random subset of them
  kOneReplica,  // each request to one replica only
  kFlood,       // bursts of read requests filling its window, in several sessions
  kChurn,       // a new session for every few requests (the core evicts its oldest sessions)
  kWaiters,     // blocking reads with long timeouts (or none), parked in the application
};
inline constexpr int kByzClientBehaviourCount = 5;
const char* client_behaviour_name(ByzClientBehaviour b);
std::set<ByzClientBehaviour> all_client_behaviours();

// Fault classes of the random fault plan. Byzantine ones also need SimOptions::byzantine.
struct FaultMenu {
  bool drops = true;              // message loss during the fault phase
  bool duplicates = true;         // duplicated messages
  bool reorder = true;            // occasional long delays that reorder messages
  bool partitions = true;         // partitions that heal
  bool crashes = true;            // crashes and restarts (with what the replica had persisted)
  bool torn_writes = true;        // a crash in the middle of an output: a prefix of its records
                                  // reached the disk, none of its sends left
  bool clock_skew = true;         // clock offsets and drift within the configured skew bound
  bool byzantine_clients = true;  // with --byzantine: clients sending to some replicas only,
                                  // or different payloads under one number
  std::set<ByzBehaviour> behaviours = all_behaviours();  // with --byzantine
  std::set<ByzClientBehaviour> client_behaviours = all_client_behaviours();

  // Parses "-name,-name" / "name" toggles (e.g. "-crashes,-partitions"). False on error.
  bool apply(const std::string& list, std::string& error);
  std::string describe() const;
};

struct SimOptions {
  std::uint64_t seed = 1;
  std::uint32_t f = 1;
  std::uint32_t clients = 3;
  std::uint32_t steps = 60;           // client operations issued by the correct clients in a run
  bool byzantine = false;             // up to f Byzantine replicas (and Byzantine clients)
  const AppPlugin* plugin = nullptr;  // the replicated application; null: kv_app.h's map
  FaultMenu faults;
  // Faults stop at a seed-chosen time in [fault_phase_min_us, fault_phase_max_us]; after that
  // every pending request of a correct client must complete within liveness_bound_us.
  TimeUs fault_phase_min_us = 500'000;
  TimeUs fault_phase_max_us = 5'000'000;
  TimeUs liveness_bound_us = 60'000'000;
  // Throughput. The run starts with a fault-free warm-up of warmup_us (no network or process
  // faults; Byzantine replicas and clients behave correctly until it ends). In the healthy tail,
  // the median latency of the correct clients' operations invoked after the heal (leaving out
  // those that waited in the application, on both sides) must stay
  // within max(throughput_ratio_max times the warm-up's median, throughput_timeout_fraction of
  // request_timeout_us plus the longest checkpoint capture): a correct client has one operation
  // outstanding, so this bounds the collapse of their throughput (docs/simulation.md). Operations
  // during which a Byzantine replica was the primary count only with throughput_strict: the core
  // does not yet replace a primary that orders slowly without letting a request time out. warmup_us
  // = 0: no warm-up, no check.
  TimeUs warmup_us = 300'000;
  double throughput_ratio_max = 4.0;
  double throughput_timeout_fraction = 0.7;
  bool throughput_strict = false;
  // Once the workload is done: correct replicas must all reach the same last executed sequence
  // number within this time (they catch up).
  TimeUs convergence_us = 10'000'000;
  bool random_faults = true;  // false: only scripted faults (tests)
  // Every replica persists through bft/storage (ReplicaStorage over a FaultFileSystem that loses
  // or tears what was not synced when the replica crashes) and recovers with its open(), instead
  // of the simulator's model of a disk.
  bool real_storage = false;
  std::uint64_t event_budget = 20'000'000;
  bool verbose = false;        // print every event
  std::size_t trace_tail = 0;  // on failure, print the last events (0: none)

  // The CLI arguments that reproduce this run (without the program name).
  std::string repro_args() const;
};

}  // namespace bastion::bft::sim
