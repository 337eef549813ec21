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
//     could have taken expired (the waiting `rd`s the insertion woke read it before that `in`
//     took it, which the same `fresh` rule allows). timed_out and cancelled are an rdp/inp that
//     found nothing at some point of the interval (the waiter was registered only then).
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
// Invokers. Access lists, the admin check and the policy depend on who calls: step_by() gets the
// client index the simulator assigns and names it as the simulator does: ts_sim_principal(index)
// ("client-<index>") for a correct client. The Byzantine client comes after the correct ones
// ("client-byz-0"); the model can tell it from a correct client only where it knows how many
// correct clients there are, which is in the names of policy spaces (below). Elsewhere it names
// it "client-<index>" too: the workload names no such principal in access lists, and it is no
// admin, so any unlisted name behaves the same there.
//
// Policies. A space whose name starts with "p" carries the simulator's policy, kTsPolicy (the
// workload creates it with that script, and never changes it); other spaces carry none. The
// policy is stateless (it reads only the invoker and the operation's arguments, never the space),
// so the model mirrors it exactly: ts_policy_allows() is its C++ twin. A data operation on a "p"
// space that the rule denies has one acceptable result, `denied` (or `no_such_space` before the
// space exists: the policy comes with the space), and no effect, not even as a pending operation
// (nor does it end the window in which the last insertion is fresh); one it allows is modelled
// as on any other space (a `denied` then can only come from an access list). The workload names
// policy spaces "p<i>-c<n>", n the number of correct clients, so that the model knows the
// Byzantine client (index n and above) for the stranger it is to the policy; in a "p" space
// named otherwise (hand-written tests) every index is a correct client.
//
// Thread-safety: const methods only; a TsModel may be shared by threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bft/sim/app.h"
#include "tuplespace/ops.h"

namespace bastion::sim {

using bft::Bytes;
using bft::sim::SequentialModel;

// A lease this long (or longer) outlives any simulated run (runs last seconds of agreed time).
inline constexpr std::uint64_t kTsLongLeaseMs = 3'600'000;
// The cluster's one admin principal (space creation).
inline constexpr const char* kTsAdminPrincipal = "client-0";

// The simulator's name of correct client `index` ("client-<index>").
std::string ts_sim_principal(std::uint32_t index);
// The simulator's name of client `index` when it runs `correct_clients` correct clients: the
// correct ones are "client-<index>", the Byzantine ones after them "client-byz-<k>", k from 0
// (bft/sim/simulation.cc).
std::string ts_sim_principal(std::uint32_t index, std::uint32_t correct_clients);

// The simulator's policy script (Lua, docs/policies.md), which spaces named "p..." carry:
//   - strangers (any invoker not named "client-<n>", the Byzantine client among them) only read
//     (rdp, rd, rdAll);
//   - the key "k0" (the first field of the template, else of the tuple) is changed, by any other
//     operation, only by even clients;
//   - odd clients use rdAll only with a bound (max > 0);
//   - no tuple whose second field is an integer multiple of 7 is inserted (out, cas, replace:
//     their tuple, whether or not the cas would insert it).
// Everything else is allowed; the text is in ts_model.cc, next to its mirror.
extern const std::string_view kTsPolicy;

// The model's mirror of kTsPolicy: true if decide(req) allows `invoker` to perform `request`.
// Exact for every governed operation (policy/script.h) and every invoker named "client-<n>" with
// n < 2^53 (Lua's tonumber turns longer digit strings into floats), or not so named.
bool ts_policy_allows(const ts::Request& request, std::string_view invoker);

// True if `space` carries kTsPolicy (its name starts with "p").
bool ts_policy_space(std::string_view space);
// The name the workload gives policy space `index` when the simulator runs `correct_clients`
// correct clients: "p<index>-c<correct_clients>".
std::string ts_policy_space_name(std::size_t index, std::uint32_t correct_clients);
// The number of correct clients a policy space's name records; nullopt for other names.
std::optional<std::uint32_t> ts_policy_space_clients(std::string_view space);

// The model's partition of a request: "space <name>" for space administration, else
// "<space>/<first field>" (the first field of the template, or of the tuple for insertions).
std::string ts_partition(const ts::Request& request);

class TsModel final : public SequentialModel {
 public:
  State initial() const override;
  std::string partition(const Bytes& op) const override;
  // As an anonymous client (named in no access list, not an admin, a stranger to the policy).
  std::optional<State> step(const State& s, const Bytes& op,
                            const std::optional<Bytes>& result) const override;
  std::optional<State> step_by(std::uint32_t client, const State& s, const Bytes& op,
                               const std::optional<Bytes>& result) const override;
  bool is_read(const Bytes& op) const override;
  std::string describe_op(const Bytes& op) const override;
  std::string describe_result(const Bytes& result) const override;
  std::string describe_state(const State& s) const override;

 private:
  // As client `client` (ts_sim_principal; the Byzantine one only in policy spaces), or as an
  // anonymous client.
  std::optional<State> step_as(std::optional<std::uint32_t> client, const State& s, const Bytes& op,
                               const std::optional<Bytes>& result) const;
};

}  // namespace bastion::sim
