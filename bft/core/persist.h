// What a replica must keep across crashes, as records the driver writes durably.
//
// The core emits PersistRecords in its Output; the driver appends them to its log in order and
// makes them durable (write + fsync, or the simulator's disk) in order: a crash keeps a prefix.
// When Output::sync is set, the records must be durable BEFORE the sends and replies of that
// Output (and of any later one) leave: the core holds them back (turn_queue.h) until the driver
// reports the records durable (Replica::on_durable()), so a driver sends whatever an Output
// carries at once. sync is set by the records a view change relies on (PreparedRecord: a
// replica's certificates are what carries a committed batch into the next view; with f faulty
// replicas every correct one must still report its own), by ViewRecord and by CheckpointRecord.
// PrePreparedRecord, CommittedRecord and StableRecord do not set it: their sends may leave first,
// one sync per batch on the critical path instead of three.
//
// Why losing those is safe:
//   - A replica that restarts from records (it always finds some: a fresh start writes a
//     ViewRecord before sending anything) abstains in the view it was in: it sends no PREPARE
//     and proposes nothing there but what its durable records hold (it may have sent a prepare
//     or a pre-prepare whose record it lost), until the next view, whose entry is recorded
//     durably before its first vote. Abstaining is what a crashed replica does anyway. After a
//     clean stop (PersistedState::clean_stop: everything was synced) it need not.
//   - A COMMIT leaves only after its PreparedRecord (and so the pre-prepare, appended before) is
//     durable, and execution needs 2f+1 COMMITs: a batch a client saw results of is prepared,
//     durably, at 2f+1 replicas, which a restart of any number of them cannot undo (they commit
//     it again, or carry it into the next view). A lost CommittedRecord is learnt again.
//   - A lost StableRecord leaves the older stable checkpoint and the log above it (the log is
//     compacted only after a newer StableRecord is durable).
//
// On restart the driver (bft/storage) folds the records into a PersistedState and gives it to
// Replica::start(). Records below the latest stable checkpoint may be discarded once a
// StableRecord for it is durable.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "bft/core/messages.h"
#include "bft/core/state_bytes.h"

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
// transfer": core part followed by the application snapshot) in pages, with their page list; its
// digest (bft/core/state_digest.h) is `state_digest`. The state (possibly hundreds of MB) is
// shared pieces, never copied; the log stores it in a file of its own (bft/storage), so the record
// has no serialize().
struct CheckpointRecord {
  SeqNum seq = 0;
  Digest state_digest{};
  SharedBytes page_list;  // an entry per piece of `state` (state_digest.h); never null
  StateBytes state;
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
  // Set by the driver, not by records: the replica stopped cleanly, with every record it produced
  // durable (so it has no unrecorded vote and need not abstain; see above).
  bool clean_stop = false;
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
