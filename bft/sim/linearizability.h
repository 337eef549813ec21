// Linearizability checker for the client-observed history of a replicated application.
//
// Wing & Gong's search with Lowe's memoization ("just-in-time linearization"): within one model
// partition (e.g. one key), repeatedly pick an operation whose invocation precedes every
// not-yet-linearized response, apply it to the sequential model, and backtrack on a dead end;
// (set of linearized operations, model state) pairs already explored are cached, which keeps the
// search polynomial on realistic histories. Partitions are checked independently (P-
// compositionality), so work grows with the operations per partition, not in total.
//
// Pending operations (no response: the client gave up, or the run ended) may or may not have
// taken effect: the search may linearize them anywhere after their invocation, or never. A
// pending read is dropped (it constrains nothing). Operations sharing a `group` are alternatives
// (a Byzantine client's different payloads under one request number): at most one of them takes
// effect. A pending operation known never to have executed (`took_no_effect`: the simulator saw
// that no correct replica executed its request) is dropped: no correct replica's state, hence no
// correct client's observation, includes it. (Knowing that one did execute adds nothing: it can
// always be linearized last.) Each pending write left in a partition can double what the search
// explores.
//
// Times are simulated microseconds; an operation that responds at t and one invoked at t are
// treated as concurrent, which can only hide a violation, never invent one.
//
// Bounded work: at most `budget` search steps per partition, and a cache of at most
// kCacheBytesMax; beyond either the verdict is kBudgetExceeded (neither a pass nor a proof of
// violation), which fails a simulated run like a violation does. The default budget is a few
// seconds of search; the simulator's histories need far less (docs/simulation.md, "The
// linearizability checker's cost").
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bft/sim/app.h"

namespace bastion::bft::sim {

struct HistoryOp {
  std::uint32_t client = 0;
  Bytes op;
  TimeUs invoke_us = 0;
  std::optional<TimeUs> response_us;  // nullopt: pending
  std::optional<Bytes> result;        // set iff response_us is
  std::optional<std::uint64_t> group;
  bool took_no_effect = false;  // pending, and known never to have executed
};

struct LinearizabilityReport {
  enum class Verdict { kOk, kViolation, kBudgetExceeded };
  Verdict verdict = Verdict::kOk;
  std::string partition;        // the first partition that failed
  std::string explanation;      // the partition's history and the longest linearization found
  std::uint64_t steps = 0;      // search steps, all partitions
  std::uint64_t steps_max = 0;  // search steps of the costliest partition
};

LinearizabilityReport check_linearizable(const SequentialModel& model,
                                         const std::vector<HistoryOp>& history,
                                         std::uint64_t budget = 2'000'000);

// The memoization cache's bound per partition, counting each entry's bitset and state bytes.
inline constexpr std::uint64_t kCacheBytesMax = std::uint64_t{256} << 20;

}  // namespace bastion::bft::sim
