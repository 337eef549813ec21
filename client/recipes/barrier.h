// Barrier: n parties wait until all of them arrived, round after round.
//
// Each round has an epoch number, the same for every party (the Barrier object counts rounds
// from `first_epoch`; parties that start together agree). One tuple per round counts arrivals:
// ("BARRIER", name, epoch, count), without a lease. A party arrives by replacing the count k
// with k + 1 (a cas creates it at 1), then waits with rd for ("BARRIER", name, epoch, n): the
// replace that makes the count n inserts exactly that tuple, which wakes every waiting rd at
// once. The party that completes round e removes round e - 1's tuple: every party has left round
// e - 1 by then (it could not arrive at e otherwise), so at most two rounds' tuples exist.
//
// arrive_and_wait(wait) returns true when the round completed (and moves to the next epoch), or
// false when `wait` passed first; the arrival still counts, and calling it again waits again
// without arriving twice. An arrival that failed with kUnavailable may or may not have counted.
//
// Exactly `parties` parties must arrive per round: a count that went past n never shows n again.
//
// Thread-safety: one thread per Barrier object (each party has its own).
#pragma once

#include <cstdint>
#include <string>

#include "client/client.h"

namespace bastion::recipes {

class Barrier {
 public:
  Barrier(Client& client, std::string space, std::string name, std::int64_t parties,
          std::int64_t first_epoch = 1, CallOptions call = {});

  Expected<bool> arrive_and_wait(Millis wait);
  std::int64_t epoch() const { return epoch_; }

 private:
  Expected<std::int64_t> arrive();

  Client& client_;
  const std::string space_;
  const std::string name_;
  const std::int64_t parties_;
  const CallOptions call_;
  std::int64_t epoch_;
  bool arrived_ = false;  // in epoch_
};

}  // namespace bastion::recipes
