// The replicated application of a Bastion replica: the tuple space behind bft's StateMachine.
//
// Request payloads are encoded ts::Requests (tuplespace/ops.h); results are encoded ts::Replys.
// The principal of every request comes from the replication layer (the authenticated channel), so
// access lists, policies and quotas apply to the real caller. Every request passes the layer stack
// of tuplespace/layer.h: access control (admins, the space's access lists), then the space's
// policy script, then the engine; read-only requests pass the same layers. Admins, groups and the
// policy budgets are configuration, the same on every replica, not replicated state.
//
// Time: bft gives agreed times in microseconds; the tuple space counts milliseconds.
//
// Thread-safety: none; owned by the thread that owns the Replica.
#pragma once

#include <string>
#include <vector>

#include "bft/core/state_machine.h"
#include "policy/access_layer.h"
#include "policy/policy_layer.h"
#include "policy/principals.h"
#include "tuplespace/engine.h"
#include "tuplespace/layer.h"

namespace bastion::server {

struct AppSettings {
  std::vector<std::string> admins;
  policy::Principals::Groups groups;
  policy::Limits policy_limits;
};

class TupleSpaceApp final : public bft::StateMachine {
 public:
  explicit TupleSpaceApp(const AppSettings& settings);
  explicit TupleSpaceApp(const std::vector<std::string>& admins)
      : TupleSpaceApp(AppSettings{admins, {}, {}}) {}
  TupleSpaceApp(const TupleSpaceApp&) = delete;  // the layers point at the members
  TupleSpaceApp& operator=(const TupleSpaceApp&) = delete;

  std::vector<bft::Completion> begin_batch(bft::TimeUs now_us) override;
  bft::ExecuteResult execute(const bft::Request& request) override;
  std::optional<bft::Bytes> execute_read_only(const bft::Request& request) override;
  std::optional<bft::TimeUs> next_deadline_us() const override;
  void session_evicted(const bft::ClientKey& client) override;
  bft::Bytes snapshot() const override;
  bft::Digest digest() const override;
  bool restore(bft::ByteView snapshot) override;

  const ts::Engine& engine() const { return engine_; }
  const policy::PolicyLayer::Counters& policy_counters() const { return policy_.counters(); }

 private:
  ts::Context context(const bft::Request& request) const;

  ts::Engine engine_;
  policy::Principals principals_;
  ts::EngineLayer bottom_{engine_};
  policy::PolicyLayer policy_;
  policy::AccessLayer access_;  // the top of the stack
};

}  // namespace bastion::server
