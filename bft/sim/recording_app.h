// A StateMachine decorator that records what the replication core makes the application do, so
// the simulator can check agreement and integrity on the application's side of the interface.
//
// Each begin_batch() opens an AppBatch: the agreed time, then every executed request (client,
// number, request digest) and a fingerprint over everything observable (time, request digests,
// results, completions in order). The simulator zips the recorded batches with the core's
// Output::executed after each event (one begin_batch per executed batch). restore() (a restart
// or a state transfer) is recorded too: batches before it belong to the replaced state.
//
// Thread-safety: none; used by the thread that owns the replica.
#pragma once

#include <memory>
#include <vector>

#include "bft/core/state_machine.h"
#include "codec/digest.h"

namespace bastion::bft::sim {

struct ExecutedRequest {
  ClientKey client;
  std::uint64_t number = 0;
  Digest digest{};
};

struct AppBatch {
  TimeUs agreed_time_us = 0;
  std::vector<ExecutedRequest> requests;
  Digest fingerprint{};
};

class RecordingApp final : public StateMachine {
 public:
  explicit RecordingApp(std::unique_ptr<StateMachine> inner) : inner_(std::move(inner)) {}

  std::vector<Completion> begin_batch(TimeUs now_us) override;
  ExecuteResult execute(const Request& request) override;
  std::optional<Bytes> execute_read_only(const Request& request) override;
  std::optional<TimeUs> next_deadline_us() const override { return inner_->next_deadline_us(); }
  void session_evicted(const ClientKey& client) override { inner_->session_evicted(client); }
  Bytes snapshot() const override { return inner_->snapshot(); }
  // The inner application's pieces as they are: captures share and hash them as on a real replica.
  void snapshot_pieces(StateBytes& out) const override { inner_->snapshot_pieces(out); }
  Digest digest() const override { return inner_->digest(); }
  bool restore(ByteView snapshot) override;

  // Batches begun since the last call (fingerprints finalized), and whether a restore happened.
  std::vector<AppBatch> take_batches();
  bool take_restored() { return std::exchange(restored_, false); }
  // execute() calls made outside any batch (a contract violation by the core).
  std::uint64_t executes_outside_batch() const { return executes_outside_batch_; }
  std::uint64_t read_only_executions() const { return read_only_executions_; }

  StateMachine& inner() { return *inner_; }

 private:
  void feed(const std::vector<Completion>& completions);

  std::unique_ptr<StateMachine> inner_;
  std::vector<AppBatch> batches_;
  std::vector<Bytes> transcripts_;  // per open batch: what the fingerprint covers
  bool restored_ = false;
  std::uint64_t executes_outside_batch_ = 0;
  std::uint64_t read_only_executions_ = 0;
};

}  // namespace bastion::bft::sim
