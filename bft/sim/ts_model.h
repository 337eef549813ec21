// The sequential specification of the tuple space (server/tuplespace_app.h over ts::Engine) for
// the simulator's linearizability checker, written for what a client can see: results, never
// the agreed time.
//
// Partitions. A data operation belongs to (space, first template or tuple field): the workload's
// templates always have a concrete first field, so operations in different partitions never see
// each other's tuples. Space creation belongs to a partition of its own per space name. A
// partition's state: whether the space exists, its tuples in insertion order, and the templates
// of pending `in`s that might still take a later insertion.
//
// What agreed time hides, and how the model stays sound (never rejects a correct execution):
//   - Leases. A tuple with a lease shorter than kTsLongLeaseMs ("short") may expire at any point,
//     and once gone stays gone (agreed time never goes backwards and linearization follows the
//     execution order). A step expires exactly the short tuples its result shows absent and no
//     others: the state that keeps a short tuple allows every later result the state without it
//     allows (it can still expire later), so this minimal choice is the most permissive one.
//     A lease of kTsLongLeaseMs or more outlives any run, so such a tuple never expires.
//   - Waiting rd/in. A Found result is the rdp/inp at its linearization point, with one
//     exception that the engine documents: an `in` that waits is woken by the insertion of a
//     tuple it may remove and skips older readable tuples it may not remove; so an `in` may take
//     the tuple inserted by the step just before it (`fresh`) if every older visible match it
//     could have taken expired. timed_out and cancelled are an rdp/inp that found nothing at
//     some point of the interval (the waiter was registered only then).
//   - Spaces appear once (the workload never deletes): no_such_space requires that no earlier
//     step saw the space, and any other result shows it exists from then on.
//   - Pending operations (cut by the run's end, or a Byzantine client's alternatives): the
//     checker may leave them out, which covers every outcome without effect, and places the
//     others as early as it can. For the outcomes with an effect the step over-approximates: a
//     tuple a pending removal may have taken becomes `vanishable` (it may disappear at any
//     point, like a short lease); a pending `in` leaves a taker that makes every later matching
//     insertion it could take vanishable; a tuple a pending insertion stores is `floating` until
//     a result shows it: a result that shows it absent means "not inserted yet", so placing the
//     insertion early costs the search nothing (that is what keeps a Byzantine client's many
//     pending operations affordable), and once seen it is an ordinary tuple.
//   - Tuples are unique (the workload never inserts the same tuple twice), so a tuple in a
//     result names exactly one stored tuple.
//
// What it cannot see: when a short lease expires (too early or too late: any point is allowed),
// when a wait times out; whether an `in` that took the fresh tuple was invoked before that
// insertion (steps see no times); anything across partitions (a space's creation and the
// operations on it are not ordered in real time by the model). Pending operations weaken the
// check of the tuples they may have touched. Space delete, space list, outAll, cancel and
// quotas are not modelled (the workload does not use them; any result of them is rejected).
//
// Invokers. Access lists and the admin check depend on who calls: step_by() gets the client
// index the simulator assigns and names it ts_sim_principal(index), the simulator's name for a
// correct client. The Byzantine client has another name in the simulator; the workload names no
// such principal in access lists, and it is no admin, so any unlisted name behaves the same.
//
// Thread-safety: const methods only; a TsModel may be shared by threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bft/sim/app.h"
#include "tuplespace/ops.h"

namespace bastion::bft::sim {

// A lease this long (or longer) outlives any simulated run (runs last seconds of agreed time).
inline constexpr std::uint64_t kTsLongLeaseMs = 3'600'000;
// The cluster's one admin principal (space creation).
inline constexpr const char* kTsAdminPrincipal = "client-0";

// The simulator's name of correct client `index` ("client-<index>").
std::string ts_sim_principal(std::uint32_t index);

// The model's partition of a request: "space <name>" for space administration, else
// "<space>/<first field>" (the first field of the template, or of the tuple for insertions).
std::string ts_partition(const ts::Request& request);

class TsModel final : public SequentialModel {
 public:
  State initial() const override;
  std::string partition(const Bytes& op) const override;
  // As an anonymous client (named in no access list, not an admin).
  std::optional<State> step(const State& s, const Bytes& op,
                            const std::optional<Bytes>& result) const override;
  std::optional<State> step_by(std::uint32_t client, const State& s, const Bytes& op,
                               const std::optional<Bytes>& result) const override;
  bool is_read(const Bytes& op) const override;
  std::string describe_op(const Bytes& op) const override;
  std::string describe_result(const Bytes& result) const override;
  std::string describe_state(const State& s) const override;

 private:
  std::optional<State> step_as(const std::string& principal, const State& s, const Bytes& op,
                               const std::optional<Bytes>& result) const;
};

}  // namespace bastion::bft::sim
