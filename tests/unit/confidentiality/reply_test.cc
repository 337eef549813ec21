// Replies about confidential tuples: a replica appends its opened shares; the client splits
// them off again and votes on the common part.
#include "confidentiality/reply.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

#include "codec/codec.h"
#include "tests/unit/confidentiality/replica_keys.h"

namespace bastion::confidentiality {
namespace {

class ReplyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
  ReplyTest()
      : pvss(keys.publics, 2), space(pvss, FingerprintKey::derive(secret, "s", 0), "s", "w") {}

  ts::Tuple sealed(const std::string& v) {
    return *space.seal({ts::Value(v), ts::Value("secret")},
                       {Protection::kPublic, Protection::kPrivate});
  }
  codec::Bytes confidential(const ts::Reply& inner) {
    return codec::encode(ts::Reply{ts::Confidential{"s", codec::encode(inner)}});
  }

  std::array<std::uint8_t, kFingerprintSecretBytes> secret{};
  ReplicaKeys keys{4};
  Pvss pvss;
  SpaceKeys space;
};

TEST_F(ReplyTest, EachReplicaAppendsItsSharesAndTheCommonPartSplitsOff) {
  const std::vector<ts::Tuple> tuples = {sealed("a"), sealed("b")};
  const codec::Bytes common = confidential(ts::FoundAll{tuples});
  for (std::uint32_t i = 0; i < 4; ++i) {
    auto sent = with_opened_shares(common, keys.secrets[i], i);
    ASSERT_TRUE(sent);
    auto parts = split(*sent);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->common, common);
    ASSERT_TRUE(parts->shares);
    ASSERT_EQ(parts->shares->shares.size(), tuples.size());
    for (std::size_t k = 0; k < tuples.size(); ++k) {
      const StoredTuple t = *parse_stored("s", tuples[k]);
      const OpenedShare& share = parts->shares->shares[k];
      EXPECT_EQ(share.index, i);
      EXPECT_TRUE(pvss.verify_opened(t.envelope.sharing.shares[i], share, t.context));
    }
  }
}

// With a memo, a tuple's share is opened once (proofs are randomized, so equal bytes show reuse);
// a memo that is full drops its oldest entries.
TEST_F(ReplyTest, AShareCacheOpensEachTupleOnce) {
  ShareCache cache(2, 2);
  const ts::Tuple a = sealed("a");
  const codec::Bytes reply = confidential(ts::Found{a});
  const auto first = with_opened_shares(reply, keys.secrets[1], 1, &cache);
  ASSERT_TRUE(first);
  EXPECT_EQ(with_opened_shares(reply, keys.secrets[1], 1, &cache), first);
  EXPECT_NE(with_opened_shares(reply, keys.secrets[1], 1), first);  // no memo: a fresh proof
  // Two more tuples push `a` out.
  ASSERT_TRUE(with_opened_shares(confidential(ts::Found{sealed("b")}), keys.secrets[1], 1, &cache));
  ASSERT_TRUE(with_opened_shares(confidential(ts::Found{sealed("c")}), keys.secrets[1], 1, &cache));
  const auto again = with_opened_shares(reply, keys.secrets[1], 1, &cache);
  ASSERT_TRUE(again);
  EXPECT_NE(again, first);
  auto parts = split(*again);
  const StoredTuple t = *parse_stored("s", a);
  EXPECT_TRUE(
      pvss.verify_opened(t.envelope.sharing.shares[1], parts->shares->shares[0], t.context));
}

TEST_F(ReplyTest, OtherRepliesAreLeftAsTheyAre) {
  for (const ts::Reply& r :
       std::vector<ts::Reply>{ts::Ack{}, ts::Found{{ts::Value("x")}}, ts::Error{}}) {
    EXPECT_FALSE(with_opened_shares(codec::encode(r), keys.secrets[0], 0));
  }
  EXPECT_FALSE(with_opened_shares({}, keys.secrets[0], 0));
  EXPECT_FALSE(with_opened_shares(codec::Bytes{7, 1, 2}, keys.secrets[0], 0));  // malformed
  // A wrapped reply whose tuple is not sealed, or whose index is beyond the sharing.
  EXPECT_FALSE(with_opened_shares(confidential(ts::Found{{ts::Value("x")}}), keys.secrets[0], 0));
  EXPECT_FALSE(with_opened_shares(confidential(ts::Found{sealed("a")}), keys.secrets[0], 9));
  EXPECT_FALSE(with_opened_shares(confidential(ts::Ack{}), keys.secrets[0], 0));
}

TEST_F(ReplyTest, SplitTakesPlainResultsWholeAndRefusesTrailingGarbage) {
  const codec::Bytes plain = codec::encode(ts::Reply{ts::Ack{}});
  auto parts = split(plain);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->common, plain);
  EXPECT_FALSE(parts->shares);
  codec::Bytes trailing = plain;
  trailing.push_back(0xff);
  EXPECT_FALSE(split(trailing));
  EXPECT_FALSE(split(codec::Bytes{0xee}));
}

TEST_F(ReplyTest, TuplesOfEveryCarryingReply) {
  const ts::Tuple t = sealed("a");
  auto cas = tuples_of(ts::Confidential{"s", codec::encode(ts::Reply{ts::CasResult{false, t}})});
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(cas->tuples, std::vector<ts::Tuple>{t});
  EXPECT_FALSE(
      tuples_of(ts::Confidential{"s", codec::encode(ts::Reply{ts::CasResult{true, {}}})}).ok());
  EXPECT_FALSE(tuples_of(ts::Confidential{"s", {1, 2, 3}}).ok());
}

}  // namespace
}  // namespace bastion::confidentiality
