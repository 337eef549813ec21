// A seeded workload of policy evaluations whose every outcome (decision, reason, instructions
// and bytes counted) is written to one text, so that runs in different processes, and runs with
// different histories in one process, can be compared byte for byte.
#pragma once

#include <cstdint>
#include <string>

namespace bastion::policy::testing {

// `history`: 0 evaluates everything on long-lived scripts in order; 1 compiles a fresh script
// for every evaluation; 2 interleaves unrelated evaluations (and their garbage) in between.
std::string determinism_workload(std::uint64_t seed, int history);

}  // namespace bastion::policy::testing
