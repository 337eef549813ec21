#include "bft/core/early_votes.h"

namespace bastion::bft {

EarlyVotes::EarlyVotes(std::uint32_t n, std::size_t per_kind_max)
    : by_sender_(n), per_kind_max_(per_kind_max) {}

template <typename M>
EarlyVotes::Outcome EarlyVotes::keep_in(std::map<SeqNum, M> Votes::*kind, ReplicaId from,
                                        ViewNum view, SeqNum seq, SeqNum floor, const M& vote) {
  Votes& sender = by_sender_.at(from);
  if (view != sender.view) {
    if (view < sender.view) return Outcome::kOlderView;
    sender = Votes{view, {}, {}, {}};
  }
  auto& votes = sender.*kind;
  if (seq <= floor || votes.size() >= per_kind_max_ || votes.contains(seq)) {
    return Outcome::kRefused;
  }
  votes.emplace(seq, vote);
  return Outcome::kKept;
}

EarlyVotes::Outcome EarlyVotes::keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor,
                                     const PrePrepareMsg& vote) {
  return keep_in(&Votes::pre_prepares, from, view, seq, floor, vote);
}

EarlyVotes::Outcome EarlyVotes::keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor,
                                     const PrepareMsg& vote) {
  return keep_in(&Votes::prepares, from, view, seq, floor, vote);
}

EarlyVotes::Outcome EarlyVotes::keep(ReplicaId from, ViewNum view, SeqNum seq, SeqNum floor,
                                     const CommitMsg& vote) {
  return keep_in(&Votes::commits, from, view, seq, floor, vote);
}

std::vector<std::pair<ReplicaId, EarlyVotes::Votes>> EarlyVotes::take(ViewNum view) {
  std::vector<std::pair<ReplicaId, Votes>> out;
  for (ReplicaId r = 0; r < by_sender_.size(); ++r) {
    Votes& sender = by_sender_[r];
    if (sender.view > view) continue;  // a later view's: they wait on
    if (sender.view == view) out.emplace_back(r, std::move(sender));
    sender = Votes{};
  }
  return out;
}

std::size_t EarlyVotes::size() const {
  std::size_t n = 0;
  for (const Votes& v : by_sender_)
    n += v.pre_prepares.size() + v.prepares.size() + v.commits.size();
  return n;
}

}  // namespace bastion::bft
