// Peer classification (the name rule itself: codec/principal_names.h,
// tests/unit/config/names_test.cc).
#include "bft/net/peer.h"

#include <gtest/gtest.h>

namespace bastion::net {
namespace {

PublicKey key_of(std::uint8_t b) {
  PublicKey k;
  k.fill(b);
  return k;
}

TEST(PeerRules, ReplicaNeedsConfiguredIdAndPinnedKey) {
  const PeerRules rules({{0, key_of(1)}, {1, key_of(2)}});
  auto r1 = rules.classify("replica-1", key_of(2), std::nullopt);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(r1->is_replica());
  EXPECT_EQ(r1->replica_id, 1u);

  EXPECT_EQ(rules.classify("replica-1", key_of(1), std::nullopt).error(),
            "replica-1 presented a key other than its pinned key");
  EXPECT_FALSE(rules.classify("replica-1", std::nullopt, std::nullopt).ok());
  EXPECT_EQ(rules.classify("replica-5", key_of(2), std::nullopt).error(),
            "replica-5 is not a configured replica");
  EXPECT_FALSE(rules.classify("replica-01", key_of(2), std::nullopt).ok());
  EXPECT_FALSE(rules.classify("Replica-1", key_of(2), std::nullopt).ok());
  EXPECT_FALSE(rules.classify("REPLICA-x", key_of(2), std::nullopt).ok());
}

TEST(PeerRules, ClientsAreNamedByTheirCertificate) {
  const PeerRules rules({{0, key_of(1)}});
  auto c = rules.classify("alice.ops-1", std::nullopt, std::nullopt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, PeerKind::kClient);
  EXPECT_EQ(c->name, "alice.ops-1");
  EXPECT_FALSE(rules.classify("", std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(rules.classify("a b", std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(rules.classify(std::string(65, 'a'), std::nullopt, std::nullopt).ok());
}

TEST(PeerRules, DialedPeerMustBeTheExpectedReplica) {
  const PeerRules rules({{0, key_of(1)}, {1, key_of(2)}});
  EXPECT_TRUE(rules.classify("replica-1", key_of(2), 1u).ok());
  EXPECT_EQ(rules.classify("replica-0", key_of(1), 1u).error(),
            "expected replica-1, found \"replica-0\"");
  EXPECT_FALSE(rules.classify("client1", std::nullopt, 1u).ok());
}

}  // namespace
}  // namespace bastion::net
