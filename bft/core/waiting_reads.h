// Read-only requests waiting for a barrier seq to be executed (docs/protocol.md, "Read-only
// requests"): the replica queues a read that arrives while it has prepared batches it has not
// executed yet, and answers it once they are.
//
// Bounded in all (read_queue_max), per session (its client window) and per principal (a quarter
// of the queue, at least one), so that one principal cannot crowd out the others however many
// sessions it opens. A read that does not fit is refused; the replica then tells the client to
// retry it ordered.
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bft/core/config.h"
#include "bft/core/types.h"

namespace bastion::bft {

class WaitingReads {
 public:
  explicit WaitingReads(const Config& config);

  // Whether the queue, the session's share and its principal's all have room for one more.
  bool has_room(const ClientKey& client) const;
  // Queues `request` until `barrier` is executed (has_room() first).
  void add(SeqNum barrier, Request request);
  // Removes and returns the oldest read among those of the lowest barrier, if that barrier is
  // at most `executed`.
  std::optional<Request> take_ready(SeqNum executed);
  std::size_t size() const { return reads_.size(); }

 private:
  std::size_t max_;
  std::uint32_t per_session_max_;
  std::uint32_t per_principal_max_;
  std::multimap<SeqNum, Request> reads_;  // by barrier, in arrival order within one
  std::map<ClientKey, std::uint32_t> per_session_;
  std::map<std::string, std::uint32_t> per_principal_;
};

}  // namespace bastion::bft
