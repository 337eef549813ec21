// The simulated network: decides, for each message, whether it is delivered, when, and how
// many times.
//
// Endpoints are numbered: replicas 0..n-1, then clients n..n+c-1. Each message independently
// gets a latency (uniform in [latency_min_us, latency_max_us]; with probability `reorder` an
// extra delay up to reorder_delay_max_us, which reorders it behind later messages), may be
// dropped (`drop`) or delivered twice (`duplicate`, with an independent second latency). A
// partition assigns every endpoint a side; messages between different sides are dropped until
// heal(). Links can also be cut one by one (a replica isolated from one peer).
//
// Invariants: fate() depends only on the parameters, the partition and the generator's state, so
// a run is a function of its seed.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "bft/core/types.h"
#include "bft/sim/rng.h"

namespace bastion::bft::sim {

struct NetworkParams {
  TimeUs latency_min_us = 200;
  TimeUs latency_max_us = 2'000;
  double drop = 0;
  double duplicate = 0;
  double reorder = 0;
  TimeUs reorder_delay_max_us = 0;
};

class SimNetwork {
 public:
  SimNetwork(std::uint32_t endpoints, Rng rng) : rng_(rng), sides_(endpoints, 0) {}

  std::uint32_t endpoints() const { return static_cast<std::uint32_t>(sides_.size()); }
  void set_params(const NetworkParams& p) { params_ = p; }
  const NetworkParams& params() const { return params_; }

  // sides[i]: the side of endpoint i; messages between sides are dropped.
  void partition(std::vector<std::uint8_t> sides);
  void heal();
  bool partitioned() const { return partitioned_; }
  void cut(std::uint32_t a, std::uint32_t b) { cut_.insert(link(a, b)); }
  void mend(std::uint32_t a, std::uint32_t b) { cut_.erase(link(a, b)); }
  void mend_all() { cut_.clear(); }

  bool connected(std::uint32_t from, std::uint32_t to) const;

  // Delivery delays of one message from `from` to `to`: none (lost), one, or two (duplicated).
  std::vector<TimeUs> fate(std::uint32_t from, std::uint32_t to);

  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }

 private:
  static std::pair<std::uint32_t, std::uint32_t> link(std::uint32_t a, std::uint32_t b) {
    return a < b ? std::pair{a, b} : std::pair{b, a};
  }
  TimeUs latency();

  Rng rng_;
  NetworkParams params_;
  std::vector<std::uint8_t> sides_;
  bool partitioned_ = false;
  std::set<std::pair<std::uint32_t, std::uint32_t>> cut_;
  std::uint64_t sent_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t duplicated_ = 0;
};

}  // namespace bastion::bft::sim
