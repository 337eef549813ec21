// What a replica must keep across crashes, as records the driver writes durably.
//
// The core emits PersistRecords in its Output; the driver must make them durable (write + fsync,
// or the simulator's disk) BEFORE it carries out the sends and replies of the same Output. That
// ordering is what makes a restarted replica safe: it never contradicts a vote it sent, and it
// never forgets a batch whose results it may have replied to.
//
// On restart the driver (bft/storage) folds the records into a PersistedState and gives it to
// Replica::start(). Records below the latest stable checkpoint may be discarded once a
// StableRecord for it is durable.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "bft/core/messages.h"

namespace bastion::bft {

// The replica entered `view` (view_changing: it sent a VIEW-CHANGE for it and waits for NEW-VIEW).
struct ViewRecord {
  ViewNum view = 0;
  bool view_changing = false;
  template <class A>
  void serialize(A& ar) {
    ar(view, view_changing);
  }
};

// The replica accepted (as backup) or sent (as primary) this pre-prepare; written before its
// PREPARE (or the PRE-PREPARE itself) goes out. Carries the batch's requests.
struct PrePreparedRecord {
  PrePrepareMsg pre_prepare;
  template <class A>
  void serialize(A& ar) {
    ar(pre_prepare);
  }
};

// The replica holds a prepared certificate; written before its COMMIT goes out.
struct PreparedRecord {
  PreparedCert cert;
  template <class A>
  void serialize(A& ar) {
    ar(cert);
  }
};

// The batch at header.seq committed; written before its results are replied. The requests are
// those of the PrePreparedRecord with the same digest, or carried here when the replica learnt
// the batch from CommittedMsgs or a fetch.
struct CommittedRecord {
  BatchHeader header;
  std::optional<std::vector<Request>> batch;
  template <class A>
  void serialize(A& ar) {
    ar(header, batch);
  }
};

// The replica's own checkpoint: the complete state at `seq` (see docs/protocol.md, "State
// transfer": core part followed by the application snapshot), whose BLAKE2b is `state_digest`.
struct CheckpointRecord {
  SeqNum seq = 0;
  Digest state_digest{};
  Bytes state;
  template <class A>
  void serialize(A& ar) {
    ar(seq, state_digest, state);
  }
};

// The checkpoint at proof.seq is stable (2f+1 signed). Everything below may be discarded.
struct StableRecord {
  CheckpointProofMsg proof;
  template <class A>
  void serialize(A& ar) {
    ar(proof);
  }
};

using PersistRecord = std::variant<ViewRecord, PrePreparedRecord, PreparedRecord, CommittedRecord,
                                   CheckpointRecord, StableRecord>;

// The records of a replica folded together, as given back to Replica::start() after a restart.
struct PersistedState {
  ViewRecord view;
  // Latest stable checkpoint and its state (state empty with seq 0: the initial state).
  std::optional<StableRecord> stable;
  std::optional<CheckpointRecord> stable_state;
  // Above the stable checkpoint, in seq order (latest record per seq and kind).
  std::vector<PrePreparedRecord> pre_prepared;
  std::vector<PreparedRecord> prepared;
  std::vector<CommittedRecord> committed;
  // Own checkpoints above the stable one (their states, for serving state transfer).
  std::vector<CheckpointRecord> checkpoints;
};

// Folds records in the order they were written (what bft/storage and the simulator's disk do).
class PersistedStateBuilder {
 public:
  void add(const PersistRecord& r);
  const PersistedState& state() const { return state_; }

 private:
  PersistedState state_;
};

}  // namespace bastion::bft
