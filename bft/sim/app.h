// The simulator's application plug-in point: what it replicates, what clients ask of it, and the
// sequential specification the linearizability checker holds the client-observed history to.
//
// An AppPlugin bundles three factories:
//   - make_state_machine(): a fresh StateMachine for a replica (also after a crash: the old one
//     is destroyed with the replica's memory);
//   - make_workload(rng, clients): the generator of client operations;
//   - make_model(): the sequential model (deterministic: an operation's effect is a function of
//     the state, so a pending operation has one possible successor state).
// The default plug-in is the key-value map of kv_app.h; the tuple space is ts_app.h.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bft/core/state_machine.h"
#include "bft/sim/rng.h"

namespace bastion::bft::sim {

struct WorkloadOp {
  Bytes payload;
  bool read_only = false;  // sent as a read-only request (the client may retry it ordered)
};

// What a workload may know of the run besides its results.
struct WorkloadContext {
  std::function<TimeUs()> now;   // the world's time: what a client's clock reads
  TimeUs clock_skew_max_us = 0;  // the run's configuration
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Called once, before the first operation.
  virtual void attach(const WorkloadContext& /*context*/) {}
  // What the workload found wrong in the results it observed (e.g. two ReD writers at once),
  // asked once at the end of a run: each entry fails the seed.
  virtual std::vector<std::string> problems() const { return {}; }
  // The next operation of client `client`.
  virtual WorkloadOp next_op(std::uint32_t client) = 0;
  // The accepted result of an operation, so later operations can be plausible (a cas expecting
  // the value last seen, a wait for a value someone wrote).
  virtual void observe(std::uint32_t client, const WorkloadOp& op, const Bytes& result) = 0;
  // For a Byzantine client: two or more payloads it sends under the same request number to
  // different replicas. All must fall in the same model partition.
  virtual std::vector<Bytes> equivocation(std::uint32_t client) = 0;
  // For a Byzantine client's floods: an operation the model counts as a read (is_read), so that
  // whether it took effect changes nothing a correct client can observe; `blocking`: one that
  // waits in the application (with a long timeout, or none). By default a payload the
  // application refuses.
  virtual WorkloadOp harmless(std::uint32_t client, bool blocking) {
    (void)client;
    (void)blocking;
    return {};
  }
};

// A sequential specification. States are opaque bytes (compared and hashed as bytes).
class SequentialModel {
 public:
  using State = Bytes;
  virtual ~SequentialModel() = default;

  virtual State initial() const = 0;
  // Operations in different partitions never observe each other (e.g. different keys), so the
  // history is checked one partition at a time.
  virtual std::string partition(const Bytes& op) const = 0;
  // With a result: the state after `op` returned `result` in `s`, or nullopt if it could not
  // have. Without (the operation is pending: it may or may not have taken effect): the state
  // after it, whatever it would have returned.
  virtual std::optional<State> step(const State& s, const Bytes& op,
                                    const std::optional<Bytes>& result) const = 0;
  // step() for an operation invoked by client `client` (the index the workload saw). Models
  // whose semantics depend on the invoker (access lists, administrators) override it; the
  // checker calls this one.
  virtual std::optional<State> step_by(std::uint32_t client, const State& s, const Bytes& op,
                                       const std::optional<Bytes>& result) const {
    (void)client;
    return step(s, op, result);
  }
  // True if `op` never changes the state (a pending one can be left out of the history).
  virtual bool is_read(const Bytes& op) const = 0;
  virtual std::string describe_op(const Bytes& op) const = 0;
  virtual std::string describe_result(const Bytes& result) const = 0;
  virtual std::string describe_state(const State& s) const = 0;
};

struct AppPlugin {
  std::string name;
  std::function<std::unique_ptr<StateMachine>()> make_state_machine;
  std::function<std::unique_ptr<Workload>(Rng rng, std::uint32_t clients)> make_workload;
  std::function<std::unique_ptr<SequentialModel>()> make_model;
};

}  // namespace bastion::bft::sim
