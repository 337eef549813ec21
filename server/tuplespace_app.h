// The replicated application of a Bastion replica: the tuple space behind bft's StateMachine.
//
// Request payloads are encoded ts::Requests (tuplespace/ops.h); results are encoded ts::Replys.
// The principal of every request comes from the replication layer (the authenticated channel), so
// access lists, policies and quotas apply to the real caller. Every request passes the layer stack
// of tuplespace/layer.h: access control (admins, the space's access lists), then the space's
// policy script, then confidentiality (sealed tuples verified), then the engine; read-only
// requests pass the same layers. Admins, groups and the
// policy budgets are configuration, the same on every replica, not replicated state.
//
// Replies that carry tuples of a confidential space (Found, FoundAll, a CasResult that found one,
// completions of waiting rd/in included) are wrapped as ts::Confidential with the space's name, so
// that the replica can add its opened shares when it sends them (confidential_reply.h).
//
// Time: bft gives agreed times in microseconds; the tuple space counts milliseconds.
//
// Snapshot format 1 of the application (what snapshot() writes; digest() is BLAKE2b of it):
//   u8 0xA5             a first byte no engine snapshot has (they begin with their version, 1 or
//                       2), so the older format stays readable
//   u8 1                the application's snapshot version
//   32 bytes            the execution-settings digest of the replica that wrote it
//                       (execution_settings.h), so that checkpoint digests cover those settings
//   the engine snapshot (tuplespace/engine_snapshot.cc)
// Builds before format 1 wrote the engine snapshot alone; restore() still reads it (there is then
// no settings digest to compare).
//
// A snapshot written under other execution settings than this replica's is adopted or refused
// according to set_foreign_settings(): the driver refuses it while the replica repairs a
// checkpoint its own execution got wrong (the others' state was made under other settings: the
// cluster files differ, and repairing would only diverge again), and adopts it otherwise (a
// state restored from its own disk after the operator changed the file on every replica, or a
// catch-up to a checkpoint taken before such a change). Either way the other digest is reported.
//
// Thread-safety: none; owned by the thread that owns the Replica.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bft/core/state_machine.h"
#include "confidentiality/layer.h"
#include "policy/access_layer.h"
#include "policy/policy_layer.h"
#include "policy/principals.h"
#include "tuplespace/engine.h"
#include "tuplespace/layer.h"

namespace bastion::server {

// Every field but settings_digest changes execution, and must be in execution_settings_digest().
struct AppSettings {
  std::vector<std::string> admins;
  policy::Principals::Groups groups;
  policy::Limits policy_limits;
  // execution_settings_digest() of this replica (execution_settings.h), written into every
  // snapshot. Tests that run one configuration may leave it zero.
  bft::Digest settings_digest{};
  ts::EngineLimits engine_limits;  // bytes per principal and in all, over every space
  // The replicas' PVSS public keys, by id (threshold f+1 with n = 3f+1); empty when the cluster
  // has none, and then confidential spaces are refused.
  std::vector<std::array<std::uint8_t, 32>> pvss_public_keys;
};

// What restore() does with a snapshot that carries another execution-settings digest.
enum class ForeignSettings : std::uint8_t {
  kAdopt,   // install it, and report its digest in take_adopted_settings()
  kRefuse,  // refuse it (restore() returns false), and report its digest in settings_conflict()
};

class TupleSpaceApp final : public bft::StateMachine {
 public:
  explicit TupleSpaceApp(const AppSettings& settings);
  explicit TupleSpaceApp(const std::vector<std::string>& admins)
      : TupleSpaceApp([&] {
          AppSettings s;
          s.admins = admins;
          return s;
        }()) {}
  TupleSpaceApp(const TupleSpaceApp&) = delete;  // the layers point at the members
  TupleSpaceApp& operator=(const TupleSpaceApp&) = delete;

  std::vector<bft::Completion> begin_batch(bft::TimeUs now_us) override;
  bft::ExecuteResult execute(const bft::Request& request) override;
  std::optional<bft::Bytes> execute_read_only(const bft::Request& request) override;
  std::optional<bft::TimeUs> next_deadline_us() const override;
  void session_evicted(const bft::ClientKey& client) override;
  bft::Bytes snapshot() const override;
  // A header of its own, then the engine's pieces (ts::Engine::snapshot_pieces()).
  void snapshot_pieces(bft::StateBytes& out) const override;
  bft::Digest digest() const override;
  bool restore(bft::ByteView snapshot) override;

  const ts::Engine& engine() const { return engine_; }
  const policy::PolicyLayer::Counters& policy_counters() const { return policy_.counters(); }
  const confidentiality::ConfidentialityLayer::Counters& confidentiality_counters() const {
    return confidentiality_.counters();
  }

  const bft::Digest& settings_digest() const { return settings_digest_; }
  // kAdopt until changed.
  void set_foreign_settings(ForeignSettings mode) { foreign_ = mode; }
  // The digest of the last snapshot refused for its settings, if any (it stays set).
  const std::optional<bft::Digest>& settings_conflict() const { return conflict_; }
  // The digest of the last snapshot adopted despite other settings, once; then nullopt.
  std::optional<bft::Digest> take_adopted_settings() { return std::exchange(adopted_, {}); }

 private:
  ts::Context context(const bft::Request& request) const;
  std::vector<bft::Completion> to_bft(std::vector<ts::Completion> completions) const;
  // A reply that carries tuples of a confidential space, as ts::Confidential.
  ts::Reply wrap_confidential(std::string_view space, ts::Reply reply) const;
  bft::Bytes snapshot_header() const;

  bft::Digest settings_digest_;
  ts::EngineLimits engine_limits_;  // set again on every restored engine
  ForeignSettings foreign_ = ForeignSettings::kAdopt;
  std::optional<bft::Digest> conflict_;
  std::optional<bft::Digest> adopted_;
  ts::Engine engine_;
  policy::Principals principals_;
  ts::EngineLayer bottom_{engine_};
  confidentiality::ConfidentialityLayer confidentiality_;
  policy::PolicyLayer policy_;
  policy::AccessLayer access_;  // the top of the stack
};

}  // namespace bastion::server
