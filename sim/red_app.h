// The ReD leader election in the simulator (`bastion-sim --app red`): every correct client is a
// ReD coordinator running the thesis's Algorithm 2 (examples/red/coordinator.h, docs/red.md)
// against the real tuple space with the real policy (examples/policies/red.lua) on every replica,
// under the simulator's faults: Byzantine replicas, crashes, partitions, clock skew, and a
// Byzantine client that tries to pose as the writer, take its role or remove its tuple.
//
// A coordinator is a step machine: each operation it issues is one step of the algorithm, and
// a blocking rd on a tuple nobody writes is its sleep (renew period, in agreed time). Client 0 is
// the admin: it first creates the space with the policy (without its comment lines: simulated
// requests are at most 4 KiB). Coordinators start at seed-chosen times; some crash (they stop
// issuing steps that matter) and some restart later under the same identity, as a new
// incarnation that first waits until the tuples of the previous one expired (its old COPIER
// tuple would otherwise pass for an admission). The timing rule is the real coordinator's: lease
// L = 2 x clock_skew_max + 10 renew periods (200 ms), and a writer holds its role until (send
// time of its last successful renewal or winning cas) + L - 2 x skew - renew; a writer whose
// deadline passes gives up, like one that crashed. Now and then a writer stalls for up to two
// leases (its sleep lasts that long), so that its deadline, not a crash, ends its term.
//
// What is checked (problems(), at the end of the run):
//   S1  the writer terms never overlap. A term starts when the winning cas's result is observed
//       and ends at the writer's deadline (the latest moment its replica could still consider
//       itself writer), or at its crash if earlier;
//   S2  each copier was admitted by a writer (the writer's ACK came after this incarnation
//       booted and before it saw its COPIER tuple) or made itself a copier while no writer
//       existed: no writer term covers the whole interval of its `out` COPIER.
// The workload's sequential model is trivial (every result is accepted): linearizability of the
// tuple space is the tuplespace plug-in's subject; this one's is the election built on it.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include "bft/sim/app.h"

namespace bastion::sim {

using bft::sim::AppPlugin;

AppPlugin red_app_plugin();

}  // namespace bastion::sim
