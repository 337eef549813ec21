// When a replica's sends may leave (persist.h, "persist before send"). Every take_output() is a
// turn; a turn whose records must be durable first (Output::sync) is held until the driver reports
// them durable with Replica::on_durable(), and no turn leaves before an earlier one. Records are
// counted from start(): a turn waits for the first `records` of them.
//
// Thread-safety: none; the replica's thread owns it.
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

  // A turn whose sends wait for the first `records` records (0: for nothing but earlier turns).
  void submit(std::uint64_t records, Sends sends);
  // The first `records` records are durable: the turns that waited for them leave, in order.
  void durable(std::uint64_t records);

  std::uint64_t durable_records() const { return durable_records_; }
  std::size_t held_turns() const { return held_.size(); }
  // Bytes of the held turns' messages and replies.
  std::uint64_t held_bytes() const { return held_bytes_; }

 private:
  struct Held {
    std::uint64_t records = 0;
    Sends sends;
    std::uint64_t bytes = 0;
  };
  Deliver deliver_;
  std::deque<Held> held_;
  std::uint64_t durable_records_ = 0;
  std::uint64_t held_bytes_ = 0;
};

}  // namespace bastion::bft
