// The replicated application of a Bastion replica: the tuple space behind bft's StateMachine.
//
// Request payloads are encoded ts::Requests (tuplespace/ops.h); results are encoded ts::Replys.
// The principal of every request comes from the replication layer (the authenticated channel), so
// access lists and quotas apply to the real caller. Space administration (create, delete) is
// reserved to the admin identities of the cluster configuration: the list is configuration, the
// same on every replica, not replicated state.
//
// Time: bft gives agreed times in microseconds; the tuple space counts milliseconds.
//
// Thread-safety: none; owned by the thread that owns the Replica.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "bft/core/state_machine.h"
#include "tuplespace/engine.h"

namespace bastion::server {

class TupleSpaceApp final : public bft::StateMachine {
 public:
  explicit TupleSpaceApp(std::vector<std::string> admins);

  std::vector<bft::Completion> begin_batch(bft::TimeUs now_us) override;
  bft::ExecuteResult execute(const bft::Request& request) override;
  std::optional<bft::Bytes> execute_read_only(const bft::Request& request) override;
  std::optional<bft::TimeUs> next_deadline_us() const override;
  void session_evicted(const bft::ClientKey& client) override;
  bft::Bytes snapshot() const override;
  bft::Digest digest() const override;
  bool restore(bft::ByteView snapshot) override;

  const ts::Engine& engine() const { return engine_; }

 private:
  ts::Context context(const bft::Request& request) const;
  // An error reply for requests that never reach the engine (malformed, not an admin).
  std::optional<ts::Reply> refuse(const bft::Request& request, const ts::Request& op) const;

  std::set<std::string, std::less<>> admins_;
  ts::Engine engine_;
};

}  // namespace bastion::server
