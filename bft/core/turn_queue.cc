#include "bft/core/turn_queue.h"

#include <algorithm>

namespace bastion::bft {

void TurnQueue::submit(std::uint64_t records, Sends sends) {
  if (held_.empty() && records <= durable_records_) {
    deliver_(sends);
    return;
  }
  std::uint64_t bytes = 0;
  for (const OutMessage& m : sends.messages) bytes += m.bytes ? m.bytes->size() : 0;
  for (const OutReply& r : sends.replies) bytes += r.bytes ? r.bytes->size() : 0;
  held_bytes_ += bytes;
  held_.push_back(Held{records, std::move(sends), bytes});
}

void TurnQueue::durable(std::uint64_t records) {
  durable_records_ = std::max(durable_records_, records);
  while (!held_.empty() && held_.front().records <= durable_records_) {
    Held turn = std::move(held_.front());
    held_.pop_front();
    held_bytes_ -= turn.bytes;
    deliver_(turn.sends);
  }
}

}  // namespace bastion::bft
