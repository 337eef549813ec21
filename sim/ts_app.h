// The tuple space as a simulator application (`bastion-sim --app tuplespace`): the real
// server::TupleSpaceApp (ts::Engine behind bft's StateMachine) on every replica, a random
// workload of tuple-space operations, and the sequential model of ts_model.h.
//
// Workload. Client 0 is the cluster's admin (kTsAdminPrincipal): its first operations create the
// run's spaces (1..2); everyone else starts at once and sees no_such_space until then. A run with
// two spaces has one with the simulator's policy (kTsPolicy, ts_model.h; named "p<i>-c<n>") and
// one without ("s<i>"); a run with one space has either kind, drawn from the seed. Then every
// client draws from out (with and without leases and access lists), rdp and rdAll (half of
// them as read-only requests), inp, rd and in with timeouts, cas, replace, renew, inAll, and a
// rare space create (space_exists for the admin, denied for others). Everything works on 3..4
// keys per space so that operations collide (while each model partition keeps few enough
// operations for the checker): tuples ("k<i>", n) and ("k<i>", n, flag) with n unique across
// the run, templates ("k<i>", *), ("k<i>", ?int), ("k<i>", n seen before) and their 3-field
// forms. Short leases (30..1500 ms) and waits (20..800 ms) make agreed time matter; long leases
// (a day) never expire in a run. Access lists name correct clients only (see ts_model.h).
// The Byzantine client's alternatives are out/out, cas/out, inp/out and replace/out on one key;
// the flooding Byzantine client's requests are rdp and bounded rdAll, and rd waiting 5..60 s or
// forever on a real key or on "kbyz", which nobody writes (harmless(): a waiting rd never takes
// a tuple).
//
// Forbidden attempts. The same draws on a policy space include operations its policy refuses:
// odd clients changing "k0" and reading everything of a key with an unbounded rdAll, insertions
// of tuples whose number is a multiple of 7 (one in seven, by anyone), and every operation of the
// Byzantine client there (a stranger to the policy, which lets strangers only read). Correct
// replicas must agree on each decision, and correct clients must see exactly the model's.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bft/sim/app.h"
#include "tuplespace/ops.h"

namespace bastion::sim {

using bft::Bytes;
using bft::StateMachine;
using bft::sim::AppPlugin;
using bft::sim::Rng;
using bft::sim::Workload;
using bft::sim::WorkloadOp;

class TsWorkload final : public Workload {
 public:
  // `clients` counts every client slot the simulator has: the correct clients 0..clients-2,
  // then the Byzantine client's slot.
  TsWorkload(Rng rng, std::uint32_t clients);
  WorkloadOp next_op(std::uint32_t client) override;
  void observe(std::uint32_t client, const WorkloadOp& op, const Bytes& result) override;
  std::vector<Bytes> equivocation(std::uint32_t client) override;
  WorkloadOp harmless(std::uint32_t client, bool blocking) override;

  const std::vector<std::string>& spaces() const { return spaces_; }

 private:
  using Place = std::pair<std::string, std::string>;  // (space, key): a model partition

  Place pick_place();
  ts::Tuple fresh_tuple(const std::string& key);
  ts::Template pick_template(const Place& place);
  ts::TupleSpec pick_spec(const std::string& key, std::uint32_t client, bool byzantine);
  std::vector<std::string> pick_names(std::uint32_t client);
  std::uint64_t pick_lease_ms();
  void remember(const std::string& space, const ts::Tuple& tuple);

  Rng rng_;
  std::uint32_t correct_clients_;
  std::vector<std::string> spaces_;
  std::vector<std::string> keys_;
  std::size_t spaces_requested_ = 0;
  std::int64_t next_value_ = 1;
  std::map<Place, std::vector<std::int64_t>> seen_;  // recent second fields, per partition
};

AppPlugin ts_app_plugin();
// The real application of bastiond, with kTsAdminPrincipal as its only admin (also --app red's).
std::unique_ptr<StateMachine> make_ts_state_machine();

}  // namespace bastion::sim
