#include "bft/core/fetches.h"

namespace bastion::bft {

void RequestFetches::want(const Digest& d, const RequestId& id) {
  if (fetches_.contains(d)) return;
  fetches_[d] = Fetch{id, 0, 0};
  due_ = true;
}

std::map<ReplicaId, std::vector<Digest>> RequestFetches::round(TimeUs now_us, TimeUs retry_us,
                                                               std::size_t per_target_max,
                                                               const Vouchers& vouchers) {
  due_ = false;
  std::map<ReplicaId, std::vector<Digest>> by_target;
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    const Digest& d = it->first;
    Fetch& f = it->second;
    const std::optional<std::vector<ReplicaId>> from = vouchers(f.id, d);
    if (!from) {
      it = fetches_.erase(it);  // its bytes came, or its request is gone
      continue;
    }
    if (f.attempts > 0 && now_us - f.sent_us < retry_us) {
      ++it;
      continue;
    }
    if (from->empty()) {
      it = fetches_.erase(it);
      continue;
    }
    std::vector<Digest>& digests = by_target[(*from)[f.attempts % from->size()]];
    if (digests.size() == per_target_max) {
      due_ = true;  // the rest in the next round
      ++it;
      continue;
    }
    digests.push_back(d);
    f.sent_us = now_us;
    ++f.attempts;
    ++it;
  }
  return by_target;
}

std::optional<ReplicaId> BatchFetches::ask(SeqNum seq, const Digest& d, TimeUs now_us,
                                           TimeUs retry_us) {
  Fetch& f = fetches_[seq];
  if (f.digest == d && f.attempts > 0 && now_us - f.sent_us < retry_us) return std::nullopt;
  if (f.digest != d) f = Fetch{d, 0, 0};
  const auto target = static_cast<ReplicaId>((self_ + 1 + f.attempts % (n_ - 1)) % n_);
  f.sent_us = now_us;
  ++f.attempts;
  return target;
}

std::vector<std::pair<SeqNum, Digest>> BatchFetches::prune(
    const std::function<bool(SeqNum seq, const Digest& d)>& wanted) {
  std::vector<std::pair<SeqNum, Digest>> kept;
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    if (wanted(it->first, it->second.digest)) {
      kept.emplace_back(it->first, it->second.digest);
      ++it;
    } else {
      it = fetches_.erase(it);
    }
  }
  return kept;
}

}  // namespace bastion::bft
