// The order in which a driver carries out a replica's output (bft/core/persist.h): every
// Replica::take_output() is a turn, and a turn's messages and replies leave only once its records
// are durable when the core demands it (Output::sync), and never before an earlier turn's. A disk
// that makes records durable in the background reports them by ticket (durable()), and the turns
// that wait for them are held until then; a disk that syncs on the spot reports its ticket before
// the turn is submitted, and nothing is ever held.
//
// Used by bastiond (server/replica_node.cc, whose storage thread syncs in the background) and by
// the simulator (bft/sim, whose disk syncs on the spot).
//
// Thread-safety: none; the driver's thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "bft/core/replica.h"

namespace bastion::bft {

class TurnQueue {
 public:
  // A turn's messages and replies.
  struct Sends {
    std::vector<OutMessage> messages;
    std::vector<OutReply> replies;
  };
  // Sends them, in order.
  using Deliver = std::function<void(Sends& sends)>;

  explicit TurnQueue(Deliver deliver) : deliver_(std::move(deliver)) {}

  // A turn whose sends wait for the records of `ticket` (0: for nothing but earlier turns).
  void submit(std::uint64_t ticket, Sends sends);
  // The records up to `ticket` are durable: the turns that waited for them leave, in order.
  void durable(std::uint64_t ticket);
  // Forgets the held turns (a driver that stops sends nothing more).
  void clear();

  std::uint64_t durable_ticket() const { return durable_ticket_; }
  std::size_t held_turns() const { return held_.size(); }
  // Bytes of the held turns' messages and replies.
  std::uint64_t held_bytes() const { return held_bytes_; }

 private:
  struct Held {
    std::uint64_t ticket = 0;
    Sends sends;
    std::uint64_t bytes = 0;
  };
  Deliver deliver_;
  std::deque<Held> held_;
  std::uint64_t durable_ticket_ = 0;
  std::uint64_t held_bytes_ = 0;
};

}  // namespace bastion::bft
