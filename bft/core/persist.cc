// Folding persisted records into the state a restarted replica starts from.
//
// Invariants kept by the fold: at most one record per (kind, seq), the latest written; nothing at
// or below the latest stable checkpoint except its own state; vectors sorted by seq.
// Thread-safety: none (one owner).
#include "bft/core/persist.h"

#include <algorithm>

namespace bastion::bft {
namespace {

SeqNum seq_of(const PrePreparedRecord& r) { return r.pre_prepare.header.seq; }
SeqNum seq_of(const PreparedRecord& r) { return r.cert.header.seq; }
SeqNum seq_of(const CommittedRecord& r) { return r.header.seq; }
SeqNum seq_of(const CheckpointRecord& r) { return r.seq; }

// Inserts or replaces the record for its seq, keeping the vector sorted.
template <class R>
void upsert(std::vector<R>& records, const R& r) {
  const SeqNum seq = seq_of(r);
  auto it = std::lower_bound(records.begin(), records.end(), seq,
                             [](const R& a, SeqNum s) { return seq_of(a) < s; });
  if (it != records.end() && seq_of(*it) == seq) {
    *it = r;
  } else {
    records.insert(it, r);
  }
}

template <class R>
void drop_through(std::vector<R>& records, SeqNum seq) {
  std::erase_if(records, [seq](const R& r) { return seq_of(r) <= seq; });
}

}  // namespace

void PersistedStateBuilder::add(const PersistRecord& record) {
  const SeqNum stable = state_.stable ? state_.stable->proof.seq : 0;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, ViewRecord>) {
          state_.view = r;
        } else if constexpr (std::is_same_v<R, StableRecord>) {
          if (state_.stable && r.proof.seq <= stable) return;
          state_.stable = r;
          const SeqNum s = r.proof.seq;
          state_.stable_state.reset();
          auto it = std::find_if(state_.checkpoints.begin(), state_.checkpoints.end(),
                                 [s](const CheckpointRecord& c) { return c.seq == s; });
          if (it != state_.checkpoints.end()) state_.stable_state = std::move(*it);
          drop_through(state_.pre_prepared, s);
          drop_through(state_.prepared, s);
          drop_through(state_.committed, s);
          drop_through(state_.checkpoints, s);
        } else if constexpr (std::is_same_v<R, CheckpointRecord>) {
          if (state_.stable && r.seq < stable) return;
          if (state_.stable && r.seq == stable) {
            state_.stable_state = r;
          } else {
            upsert(state_.checkpoints, r);
          }
        } else {
          if (seq_of(r) <= stable) return;
          if constexpr (std::is_same_v<R, PrePreparedRecord>) upsert(state_.pre_prepared, r);
          if constexpr (std::is_same_v<R, PreparedRecord>) upsert(state_.prepared, r);
          if constexpr (std::is_same_v<R, CommittedRecord>) upsert(state_.committed, r);
        }
      },
      record);
}

}  // namespace bastion::bft
