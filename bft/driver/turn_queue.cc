#include "bft/driver/turn_queue.h"

#include <algorithm>

namespace bastion::bft {

void TurnQueue::submit(std::uint64_t ticket, Sends sends) {
  if (held_.empty() && ticket <= durable_ticket_) {
    deliver_(sends);
    return;
  }
  std::uint64_t bytes = 0;
  for (const OutMessage& m : sends.messages) bytes += m.bytes ? m.bytes->size() : 0;
  for (const OutReply& r : sends.replies) bytes += r.bytes ? r.bytes->size() : 0;
  held_bytes_ += bytes;
  held_.push_back(Held{ticket, std::move(sends), bytes});
}

void TurnQueue::durable(std::uint64_t ticket) {
  durable_ticket_ = std::max(durable_ticket_, ticket);
  while (!held_.empty() && held_.front().ticket <= durable_ticket_) {
    Held turn = std::move(held_.front());
    held_.pop_front();
    held_bytes_ -= turn.bytes;
    deliver_(turn.sends);
  }
}

void TurnQueue::clear() {
  held_.clear();
  held_bytes_ = 0;
}

}  // namespace bastion::bft
