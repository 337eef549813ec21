// The vouches a replica makes during an event, sent at its end (docs/protocol.md,
// "Dissemination"): a first vouch goes to the primary at once and to every replica `defer_us`
// later (by then the primary has usually ordered the request, and the others need it no more); a
// repeated one (lost vouches, restarted peers), or any with no deferral, to every replica at once.
//
// Thread-safety: none.
#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "bft/core/messages.h"
#include "bft/core/types.h"

namespace bastion::bft {

class VouchOutbox {
 public:
  explicit VouchOutbox(TimeUs defer_us) : defer_us_(defer_us) {}

  // `at_primary`: this replica is the primary (the deferred copy is then the only one).
  void add(const VouchEntry& entry, bool repeat, bool at_primary, TimeUs now_us) {
    if (repeat || defer_us_ == 0) {
      to_all_.push_back(entry);
      return;
    }
    if (!at_primary) to_primary_.push_back(entry);
    deferred_.emplace_back(now_us + defer_us_, entry);
  }

  // Hands what is due to `send(entries, to_primary)`: the primary's vouches, then everyone's,
  // with the deferred ones that fell due and that `still_needed(entry)`.
  template <typename StillNeeded, typename Send>
  void flush(TimeUs now_us, StillNeeded still_needed, Send send) {
    while (!deferred_.empty() && deferred_.front().first <= now_us) {
      if (still_needed(deferred_.front().second)) to_all_.push_back(deferred_.front().second);
      deferred_.pop_front();
    }
    if (!to_primary_.empty()) {
      send(to_primary_, true);
      to_primary_.clear();
    }
    if (!to_all_.empty()) {
      send(to_all_, false);
      to_all_.clear();
    }
  }

  // When the next deferred vouch falls due.
  std::optional<TimeUs> next_due_us() const {
    if (deferred_.empty()) return std::nullopt;
    return deferred_.front().first;
  }
  std::size_t outgoing() const { return to_primary_.size() + to_all_.size(); }
  std::size_t deferred() const { return deferred_.size(); }

 private:
  TimeUs defer_us_;
  std::vector<VouchEntry> to_primary_;                  // at the end of this event
  std::vector<VouchEntry> to_all_;                      // at the end of this event
  std::deque<std::pair<TimeUs, VouchEntry>> deferred_;  // (due, entry), to every replica
};

}  // namespace bastion::bft
