// Normal-case operation (PBFT 4.2), batching and pipelining, agreed time, client table.
#include <gtest/gtest.h>

#include "tests/unit/bft/harness.h"

namespace bastion::bft::test {
namespace {

// Every replica executed the same batches at the same seqs.
void expect_agreement(Cluster& c) {
  for (ReplicaId i = 1; i < c.n(); ++i) {
    const auto& a = c.executed[0];
    const auto& b = c.executed[i];
    const std::size_t common = std::min(a.size(), b.size());
    for (std::size_t k = 0; k < common; ++k) {
      EXPECT_EQ(a[k].seq, b[k].seq);
      EXPECT_EQ(a[k].batch_digest, b[k].batch_digest) << "seq " << a[k].seq << " replica " << i;
      EXPECT_EQ(a[k].agreed_time_us, b[k].agreed_time_us);
    }
  }
}

TEST(NormalCase, OneRequestIsOrderedExecutedAndReplied) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().last_executed, 1u) << i;
    EXPECT_EQ(c.app(i).kv.at("x"), "1");
    ASSERT_EQ(c.app(i).history.size(), 1u);
  }
  EXPECT_EQ(c.replies_for("alice", 1, 1).size(), c.n());
  expect_agreement(c);
}

}  // namespace
}  // namespace bastion::bft::test
