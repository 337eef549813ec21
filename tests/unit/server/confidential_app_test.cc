// The confidentiality layer in a replica's application: confidential spaces need the cluster's
// PVSS keys, sealed tuples are verified before anything is stored, and what is stored is what a
// reader opens.
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

#include "confidentiality/envelope.h"
#include "confidentiality/reply.h"
#include "server/tuplespace_app.h"
#include "tests/unit/confidentiality/replica_keys.h"

namespace bastion::server {
namespace {

namespace conf = confidentiality;

bft::Request request(std::string principal, std::uint64_t number, const ts::Request& op,
                     bool read_only = false) {
  return bft::Request{{std::move(principal), 7}, number, read_only, ts::encode_request(op)};
}

ts::Reply reply_of(const std::optional<bft::Bytes>& bytes) {
  EXPECT_TRUE(bytes.has_value());
  if (!bytes) return ts::Reply{};
  auto r = codec::decode<ts::Reply>(*bytes);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : ts::Reply{};
}

class ConfidentialApp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }

  ConfidentialApp() {
    for (const conf::Point& p : keys.publics) settings.pvss_public_keys.push_back(p.bytes());
    settings.admins = {"admin"};
    pvss.emplace(keys.publics, 2);
    space.emplace(*pvss, conf::FingerprintKey::derive(secret, "vault", 0), "vault", "alice");
    app = std::make_unique<TupleSpaceApp>(settings);
    app->begin_batch(1'000'000);
  }

  ts::SpaceOptions vault_options() const {
    ts::SpaceOptions o;
    o.confidential = true;
    o.protection = {ts::kProtectionPublic, ts::kProtectionComparable, ts::kProtectionPrivate};
    const auto& k = space->fingerprints().public_key().bytes();
    o.fingerprint_key.assign(k.begin(), k.end());
    return o;
  }

  ts::Reply run(const std::string& who, const ts::Request& op) {
    return reply_of(app->execute(request(who, ++number, op)).result);
  }

  ts::TupleSpec sealed(const ts::Tuple& plain) {
    ts::TupleSpec s;
    s.tuple = *space->seal(plain, {conf::Protection::kPublic, conf::Protection::kComparable,
                                   conf::Protection::kPrivate});
    return s;
  }

  std::array<std::uint8_t, conf::kFingerprintSecretBytes> secret{};
  conf::ReplicaKeys keys{4};
  std::optional<conf::Pvss> pvss;
  std::optional<conf::SpaceKeys> space;
  AppSettings settings;
  std::unique_ptr<TupleSpaceApp> app;
  std::uint64_t number = 0;
};

TEST_F(ConfidentialApp, AClusterWithoutPvssKeysRefusesConfidentialSpaces) {
  TupleSpaceApp plain{{"admin"}};
  plain.begin_batch(1'000'000);
  const auto r = reply_of(
      plain.execute(request("admin", 1, ts::SpaceCreate{"vault", vault_options()})).result);
  EXPECT_EQ(ts::code_of(r), ts::ErrorCode::kUnsupported);
  EXPECT_NE(std::get<ts::Error>(r).message.find("PVSS keys"), std::string::npos);
}

TEST_F(ConfidentialApp, TheFingerprintKeyMustBeAGroupElement) {
  ts::SpaceOptions o = vault_options();
  o.fingerprint_key.assign(32, '\xff');
  EXPECT_EQ(ts::code_of(run("admin", ts::SpaceCreate{"vault", o})),
            ts::ErrorCode::kInvalidArgument);
}

TEST_F(ConfidentialApp, OnlyVerifiedSealedTuplesAreStored) {
  ASSERT_EQ(ts::code_of(run("admin", ts::SpaceCreate{"vault", vault_options()})),
            ts::ErrorCode::kOk);
  const ts::Tuple plain = {ts::Value("user"), ts::Value("alice"), ts::Value("hunter2")};
  const ts::TupleSpec good = sealed(plain);
  EXPECT_EQ(ts::code_of(run("alice", ts::Out{"vault", good})), ts::ErrorCode::kOk);

  // Alice's sealed tuple inserted by another principal, a plain tuple, a tampered share, a public
  // field changed after sealing: refused, none stored.
  EXPECT_EQ(ts::code_of(run("mallory", ts::Out{"vault", good})), ts::ErrorCode::kInvalidArgument);
  ts::TupleSpec bad;
  bad.tuple = plain;
  auto r = run("mallory", ts::Out{"vault", bad});
  EXPECT_EQ(ts::code_of(r), ts::ErrorCode::kInvalidArgument);
  EXPECT_NE(std::get<ts::Error>(r).message.find("nothing was stored"), std::string::npos);
  conf::StoredTuple parsed = *conf::parse_stored("vault", good.tuple);
  parsed.envelope.sharing.shares[0] = parsed.envelope.sharing.shares[0] + conf::Point::generator();
  const auto env = codec::encode(parsed.envelope);
  bad.tuple = parsed.fields;
  bad.tuple.push_back(ts::Blob{std::string(env.begin(), env.end())});
  EXPECT_EQ(ts::code_of(run("alice", ts::Out{"vault", bad})), ts::ErrorCode::kInvalidArgument);
  bad = good;
  bad.tuple[0] = ts::Value("admin");
  EXPECT_EQ(ts::code_of(run("alice", ts::OutAll{"vault", {good, bad}})),
            ts::ErrorCode::kInvalidArgument);  // one bad entry refuses the whole outAll
  EXPECT_EQ(ts::code_of(run("alice", ts::Cas{"vault", {ts::Pattern::any()}, bad})),
            ts::ErrorCode::kInvalidArgument);
  EXPECT_EQ(app->engine().tuple_count("vault"), 1u);
  EXPECT_EQ(app->confidentiality_counters().verified, 2u);  // out, and outAll's first entry
  EXPECT_EQ(app->confidentiality_counters().refused, 5u);

  // A reader finds it by a comparable field, and opens it with two replicas' shares.
  const ts::Template tmpl = *space->fingerprint(
      {ts::Value("user"), ts::Value("alice"), ts::Pattern::any()},
      {conf::Protection::kPublic, conf::Protection::kComparable, conf::Protection::kPrivate});
  const auto found =
      reply_of(app->execute_read_only(request("bob", 99, ts::Rdp{"vault", tmpl}, true)));
  ASSERT_TRUE(std::holds_alternative<ts::Confidential>(found));  // wrapped, with the space
  auto carried = conf::tuples_of(std::get<ts::Confidential>(found));
  ASSERT_TRUE(carried.ok()) << carried.error();
  EXPECT_EQ(carried->space, "vault");
  ASSERT_EQ(carried->tuples.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<ts::Found>(carried->inner));
  const auto stored = conf::parse_stored("vault", carried->tuples[0]);
  ASSERT_TRUE(stored.ok());
  std::vector<conf::OpenedShare> shares = {conf::open_share(keys.secrets[1], 1, *stored),
                                           conf::open_share(keys.secrets[3], 3, *stored)};
  EXPECT_EQ(*conf::open(*space, *stored, shares), plain);

  // A replica that restores the state keeps and checks the same.
  TupleSpaceApp other(settings);
  ASSERT_TRUE(other.restore(app->snapshot()));
  EXPECT_EQ(other.engine().tuple_count("vault"), 1u);
  EXPECT_EQ(other.digest(), app->digest());
}

TEST_F(ConfidentialApp, RepliesWithConfidentialTuplesAreWrappedWaitersIncluded) {
  ASSERT_EQ(ts::code_of(run("admin", ts::SpaceCreate{"vault", vault_options()})),
            ts::ErrorCode::kOk);
  ASSERT_EQ(ts::code_of(run("admin", ts::SpaceCreate{"plain", {}})), ts::ErrorCode::kOk);
  const ts::Template any = {ts::Pattern::any(), ts::Pattern::any(), ts::Pattern::any(),
                            ts::Pattern::any()};
  // A waiting rd, woken by the insertion: its completion is wrapped too.
  const auto waiting = app->execute(request("bob", ++number, ts::Rd{"vault", any, 0}));
  EXPECT_FALSE(waiting.result.has_value());
  const ts::TupleSpec first = sealed({ts::Value("k"), ts::Value("v"), ts::Value("s")});
  const auto inserted = app->execute(request("alice", ++number, ts::Out{"vault", first}));
  ASSERT_EQ(inserted.completions.size(), 1u);
  const ts::Reply woken = reply_of(inserted.completions[0].result);
  ASSERT_TRUE(std::holds_alternative<ts::Confidential>(woken));
  EXPECT_EQ(conf::tuples_of(std::get<ts::Confidential>(woken))->tuples,
            std::vector<ts::Tuple>{first.tuple});

  // rdAll, and a cas that finds a tuple, are wrapped; a cas that inserts and an ack are not.
  const ts::Reply all = run("bob", ts::RdAll{"vault", any, 0});
  ASSERT_TRUE(std::holds_alternative<ts::Confidential>(all));
  EXPECT_TRUE(std::holds_alternative<ts::FoundAll>(
      conf::tuples_of(std::get<ts::Confidential>(all))->inner));
  const ts::TupleSpec second = sealed({ts::Value("k2"), ts::Value("v"), ts::Value("s")});
  EXPECT_TRUE(
      std::holds_alternative<ts::Confidential>(run("alice", ts::Cas{"vault", any, second})));
  const ts::Template none = {ts::Value("nothing"), ts::Pattern::any(), ts::Pattern::any(),
                             ts::Pattern::any()};
  EXPECT_TRUE(std::holds_alternative<ts::CasResult>(run("alice", ts::Cas{"vault", none, second})));
  EXPECT_TRUE(std::holds_alternative<ts::Ack>(
      run("alice", ts::Out{"vault", sealed({ts::Value("x"), ts::Value("y"), ts::Value("z")})})));
  // A plain space's replies are as they were.
  ts::TupleSpec plain;
  plain.tuple = {ts::Value("p")};
  ASSERT_EQ(ts::code_of(run("alice", ts::Out{"plain", plain})), ts::ErrorCode::kOk);
  EXPECT_TRUE(
      std::holds_alternative<ts::Found>(run("bob", ts::Rdp{"plain", {ts::Pattern::any()}})));
}

}  // namespace
}  // namespace bastion::server
