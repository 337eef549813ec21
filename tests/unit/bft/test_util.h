// Checks shared by the protocol tests: agreement and at-most-once execution across replicas.
#pragma once

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/bft/harness.h"

namespace bastion::bft::test {

// Replicas that executed the same seq executed the same batch at the same agreed time.
inline void expect_agreement(Cluster& c) {
  std::map<SeqNum, std::pair<Digest, TimeUs>> first;
  for (ReplicaId i = 0; i < c.n(); ++i) {
    for (const Executed& e : c.executed[i]) {
      auto [it, inserted] = first.emplace(e.seq, std::make_pair(e.batch_digest, e.agreed_time_us));
      if (inserted) continue;
      EXPECT_EQ(it->second.first, e.batch_digest) << "seq " << e.seq << " replica " << i;
      EXPECT_EQ(it->second.second, e.agreed_time_us) << "seq " << e.seq << " replica " << i;
    }
  }
}

// No replica's application executed a (client, number) twice.
inline void expect_each_executed_once(Cluster& c) {
  for (ReplicaId i = 0; i < c.n(); ++i) {
    if (!c.up(i)) continue;
    std::set<std::pair<ClientKey, std::uint64_t>> seen;
    for (const auto& h : c.app(i).history) {
      EXPECT_TRUE(seen.insert(h).second)
          << "replica " << i << " executed " << h.first.principal << "#" << h.second << " twice";
    }
  }
}

}  // namespace bastion::bft::test
