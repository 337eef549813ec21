// Votes of a view a replica has not entered yet: PRE-PREPAREs, PREPAREs and COMMITs that overtook
// the NEW-VIEW on the network (the new primary proposes and the backups prepare as soon as they
// install it). Kept per sender for one view (its latest), and replayed through the normal checks
// once the replica installs that view; dropped, they would wait for the senders' next
// retransmission, one to two intervals of the new view's request timers. The replica also keeps
// here votes of its current view for seqs just beyond its log window (its stable checkpoint lags
// the sender's), and replays them when its stable checkpoint advances.
//
// Bounds: per sender one view, at most `per_kind_max` (the log window) votes of each kind, one
// per seq (its first).
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "bft/core/messages.h"

namespace bastion::bft {

class EarlyVotes {
 public:
  EarlyVotes(std::uint32_t n, std::size_t per_kind_max);

  enum class Outcome : std::uint8_t {
    kKept,
    kOlderView,  // older than a view the sender has sent votes of already: it moved on itself
    kRefused,    // at or below `floor`, a seq kept already, or the sender's share is full
  };
  // Keeps `vote` of `view` for `seq` from `from` (a valid replica id). A vote for a later view
  // than the sender's earlier ones replaces them.
  Outcome keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor, const PrePrepareMsg& vote);
  Outcome keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor, const PrepareMsg& vote);
  Outcome keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor, const CommitMsg& vote);

  struct Votes {
    ViewNum view = 0;
    std::map<SeqNum, PrePrepareMsg> pre_prepares;
    std::map<SeqNum, PrepareMsg> prepares;
    std::map<SeqNum, CommitMsg> commits;
  };
  // Removes and returns the votes kept for `view`, by sender in replica order; those of later
  // views stay, those of earlier views are forgotten.
  std::vector<std::pair<ReplicaId, Votes>> take(ViewNum view);
  std::size_t size() const;  // votes kept

 private:
  template <typename M>
  Outcome keep_in(std::map<SeqNum, M> Votes::*kind, ReplicaId from, ViewNum view, SeqNum seq,
                  SeqNum floor, const M& vote);

  std::vector<Votes> by_sender_;
  std::size_t per_kind_max_;
};

}  // namespace bastion::bft
