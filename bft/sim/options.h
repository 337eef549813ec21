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
};
inline constexpr int kByzBehaviourCount = 13;

const char* behaviour_name(ByzBehaviour b);
// Parses a comma-separated list of names ("all" = the default menu). False on an unknown name.
bool parse_behaviours(const std::string& list, std::set<ByzBehaviour>& out);
// The default menu: every behaviour.
std::set<ByzBehaviour> all_behaviours();

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

  // Parses "-name,-name" / "name" toggles (e.g. "-crashes,-partitions"). False on error.
  bool apply(const std::string& list, std::string& error);
  std::string describe() const;
};

struct SimOptions {
  std::uint64_t seed = 1;
  std::uint32_t f = 1;
  std::uint32_t clients = 3;
  std::uint32_t steps = 60;  // client operations issued by the correct clients in a run
  bool byzantine = false;    // up to f Byzantine replicas (and Byzantine clients)
  std::string app = "kv";
  const AppPlugin* plugin = nullptr;  // overrides `app` (tests plug in their own)
  FaultMenu faults;
  // Faults stop at a seed-chosen time in [fault_phase_min_us, fault_phase_max_us]; after that
  // every pending request of a correct client must complete within liveness_bound_us.
  TimeUs fault_phase_min_us = 500'000;
  TimeUs fault_phase_max_us = 5'000'000;
  TimeUs liveness_bound_us = 60'000'000;
  // Once the workload is done: correct replicas must all reach the same last executed sequence
  // number within this time (they catch up).
  TimeUs convergence_us = 10'000'000;
  bool random_faults = true;  // false: only scripted faults (tests)
  std::uint64_t event_budget = 20'000'000;
  bool verbose = false;        // print every event
  std::size_t trace_tail = 0;  // on failure, print the last events (0: none)

  // The CLI arguments that reproduce this run (without the program name).
  std::string repro_args() const;
};

}  // namespace bastion::bft::sim
