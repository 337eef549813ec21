// The view change's data (PBFT section 4.4): the VIEW-CHANGE messages a replica holds, the
// proposals a NEW-VIEW must carry for a set of them, and the checks of these messages that need
// no signature.
//
// Pure and deterministic: the replica (view_change.cc) verifies signatures, keeps the timers and
// decides when to move. Bounds: one VIEW-CHANGE per replica, its highest view; the checks below
// cap every list a message carries by what the protocol allows (n, the log window).
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/messages.h"

namespace bastion::bft {

class ViewChanges {
 public:
  // The latest VIEW-CHANGE stored for `replica`; null if none.
  const ViewChangeMsg* of(ReplicaId replica) const;
  // `vc` is, byte for byte, the message stored for its sender: it was verified already.
  bool known(const ViewChangeMsg& vc) const;
  // Stores `vc` (verified) in place of its sender's earlier one.
  void store(ViewChangeMsg vc);
  // How many replicas want `view` or a higher one.
  std::size_t at_least(ViewNum view) const;
  // When f+1 replicas other than `self` want a view above `view` (so at least one correct one
  // does): the lowest view among the f+1 highest they want.
  std::optional<ViewNum> view_to_join(ViewNum view, ReplicaId self, std::uint32_t f) const;
  // The VIEW-CHANGEs a NEW-VIEW for `view` carries: `self`'s own first, then others' for that view
  // in replica order, `quorum` in all; nullopt while `self` has none for `view` or there are
  // fewer than `quorum`.
  std::optional<std::vector<ViewChangeMsg>> quorum_for(ViewNum view, ReplicaId self,
                                                       std::size_t quorum) const;
  // Forgets the messages for views below `view`.
  void discard_below(ViewNum view);
  std::size_t size() const { return stored_.size(); }

 private:
  struct Stored {
    ViewChangeMsg message;
    Digest digest{};  // of its encoding
  };
  std::map<ReplicaId, Stored> stored_;
};

// What a NEW-VIEW for `view` proposes, computed from its VIEW-CHANGEs: the highest stable
// checkpoint among them (min-s), and for each seq above it up to the highest prepared one
// (max-s) the certificate of the highest view (same digest, timestamp and null flag) or, where
// none is, a null batch.
struct NewViewProposals {
  SeqNum min_s = 0;
  CheckpointProofMsg stable;
  std::vector<BatchHeader> headers;
};
NewViewProposals new_view_proposals(ViewNum view, const std::vector<ViewChangeMsg>& vcs);

// The checks that need no signature; the caller then verifies every signature in the message.
// A prepared certificate: from a view below `below_view`, for a seq inside the log window above
// `stable_seq`, with 2f prepares by distinct backups of that view matching its header.
bool prepared_cert_well_formed(const PreparedCert& cert, ViewNum below_view, SeqNum stable_seq,
                               const Config& config);
// A VIEW-CHANGE: a well-formed stable checkpoint proof, then well-formed certificates in
// strictly increasing seq order above it, at most a log window of them.
bool view_change_well_formed(const ViewChangeMsg& vc, const Config& config);
// A NEW-VIEW: from the view's primary, with 2f+1 to n VIEW-CHANGEs for that view by distinct
// replicas and one signature per proposal. (Its proposals are then checked by recomputing them.)
bool new_view_well_formed(const NewViewMsg& nv, const Config& config);

}  // namespace bastion::bft
