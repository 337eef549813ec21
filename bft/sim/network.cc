// The simulated network; see network.h.
#include "bft/sim/network.h"

#include "codec/check.h"

namespace bastion::bft::sim {

void SimNetwork::partition(std::vector<std::uint8_t> sides) {
  BASTION_CHECK(sides.size() == sides_.size());
  sides_ = std::move(sides);
  partitioned_ = true;
}

void SimNetwork::heal() {
  std::fill(sides_.begin(), sides_.end(), 0);
  partitioned_ = false;
}

bool SimNetwork::connected(std::uint32_t from, std::uint32_t to) const {
  if (from < sides_.size() && to < sides_.size() && sides_[from] != sides_[to]) return false;
  return cut_.empty() || !cut_.contains(link(from, to));
}

TimeUs SimNetwork::latency() {
  TimeUs t = rng_.uniform_signed(params_.latency_min_us, params_.latency_max_us);
  if (params_.reorder > 0 && rng_.chance(params_.reorder)) {
    t += rng_.uniform_signed(0, params_.reorder_delay_max_us);
  }
  return t;
}

std::vector<TimeUs> SimNetwork::fate(std::uint32_t from, std::uint32_t to) {
  ++sent_;
  std::vector<TimeUs> out;
  if (!connected(from, to) || rng_.chance(params_.drop)) {
    ++dropped_;
    return out;
  }
  out.push_back(latency());
  if (rng_.chance(params_.duplicate)) {
    ++duplicated_;
    out.push_back(latency());
  }
  return out;
}

}  // namespace bastion::bft::sim
