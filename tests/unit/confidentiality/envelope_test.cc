// Confidential tuples end to end without a network: a writer seals, replicas verify and open their
// shares, a reader opens; cheating writers are caught and their repair evidence convinces
// replicas, while false claims do not.
#include "confidentiality/envelope.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <string>

#include "codec/codec.h"
#include "confidentiality/seal.h"
#include "tests/unit/confidentiality/replica_keys.h"

namespace bastion::confidentiality {
namespace {

using ts::Blob;
using ts::Pattern;
using ts::Template;
using ts::Tuple;
using ts::Value;

class EnvelopeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }

  EnvelopeTest() : pvss(keys.publics, 2), space(pvss, key_for("jobs"), "jobs", "alice") {}
  FingerprintKey key_for(std::string_view name) { return FingerprintKey::derive(secret, name, 0); }

  // What a reader gets: every replica's opened share, verified as reply voting does.
  std::vector<OpenedShare> shares_for(const StoredTuple& t, std::vector<std::uint32_t> from) {
    std::vector<OpenedShare> out;
    for (std::uint32_t i : from) {
      OpenedShare s = open_share(keys.secrets[i], i, t);
      EXPECT_TRUE(pvss.verify_opened(t.envelope.sharing.shares[i], s, t.context));
      out.push_back(s);
    }
    return out;
  }

  StoredTuple stored(const Tuple& t) {
    auto v = verify_stored(pvss, "jobs", "alice", t);
    EXPECT_TRUE(v.ok()) << v.error();
    return *v;
  }

  // A stored tuple's context for fields and a protection (what a writer binds its sharing to).
  codec::Digest context_for(const Tuple& fields, const std::vector<std::uint8_t>& protection) {
    Envelope dummy;
    dummy.writer = "alice";
    dummy.protection = protection;
    dummy.sealed.assign(kSealOverhead, 0);
    Tuple t = fields;
    const auto bytes = codec::encode(dummy);
    t.push_back(Blob{std::string(bytes.begin(), bytes.end())});
    auto parsed = parse_stored("jobs", t);
    EXPECT_TRUE(parsed.ok()) << parsed.error();
    return parsed->context;
  }

  // A writer that cheats: a valid sharing for `fields`, and `sealed` as the protected values,
  // whatever the fields say.
  Envelope cheating_envelope(const Tuple& fields, const std::vector<std::uint8_t>& protection,
                             const std::vector<Value>& sealed) {
    StoredTuple probe;
    probe.context = context_for(fields, protection);
    Pvss::Dealt dealt = pvss.deal(probe.context);
    probe.envelope.writer = "alice";
    probe.envelope.protection = protection;
    probe.envelope.sharing = dealt.sharing;
    probe.envelope.sealed = seal(dealt.secret, probe.associated(), codec::encode(sealed));
    return probe.envelope;
  }

  static Tuple with_envelope(Tuple fields, const Envelope& env) {
    const auto bytes = codec::encode(env);
    fields.push_back(Blob{std::string(bytes.begin(), bytes.end())});
    return fields;
  }

  static Blob fingerprint_blob(const FingerprintKey& k, const Value& v) {
    const auto fp = k.fingerprint(codec::encode(v));
    return Blob{std::string(fp.begin(), fp.end())};
  }

  std::array<std::uint8_t, kFingerprintSecretBytes> secret{};
  ReplicaKeys keys{4};
  Pvss pvss;
  SpaceKeys space;
};

const Tuple kPlain = {Value("task"), Value(std::int64_t{7}), Value("alice"),
                      Value("the launch codes are 0000")};

TEST_F(EnvelopeTest, ProtectionVectorsParseAndRepeatTheirLastEntry) {
  auto p = parse_protection("pu,co,pr");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p,
            (ProtectionVector{Protection::kPublic, Protection::kComparable, Protection::kPrivate}));
  EXPECT_EQ(format_protection(*p), "pu,co,pr");
  EXPECT_EQ(*parse_protection("public,comparable,private"), *p);
  EXPECT_EQ(expand(*p, 5),
            (ProtectionVector{Protection::kPublic, Protection::kComparable, Protection::kPrivate,
                              Protection::kPrivate, Protection::kPrivate}));
  EXPECT_EQ(expand(*p, 1), ProtectionVector{Protection::kPublic});
  EXPECT_FALSE(parse_protection("pu,,pr").ok());
  EXPECT_FALSE(parse_protection("").ok());
  EXPECT_NE(parse_protection("pu,secret").error().find("'secret'"), std::string::npos);
}

TEST_F(EnvelopeTest, AReaderGetsBackWhatTheWriterSealed) {
  const auto protection = *parse_protection("pu,co,co,pr");
  auto sealed = space.seal(kPlain, protection);
  ASSERT_TRUE(sealed.ok()) << sealed.error();
  ASSERT_EQ(sealed->size(), kPlain.size() + 1);
  EXPECT_EQ((*sealed)[0], Value("task"));
  EXPECT_EQ((*sealed)[3], Value(Blob{}));
  const StoredTuple t = stored(*sealed);
  for (const auto& from : std::vector<std::vector<std::uint32_t>>{{0, 1}, {2, 3}, {3, 0}}) {
    auto plain = open(space, t, shares_for(t, from));
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    EXPECT_EQ(*plain, kPlain);
  }
}

TEST_F(EnvelopeTest, NothingPrivateIsStoredInClear) {
  const std::string marker = "MARKER-7f3a9c";
  const Tuple plain = {Value("k"), Value(marker), Value(Blob{marker})};
  for (const char* p : {"pu,co,pr", "pu,pr", "co"}) {
    auto sealed = space.seal(plain, *parse_protection(p));
    ASSERT_TRUE(sealed.ok());
    const auto bytes = codec::encode(*sealed);
    const std::string text(bytes.begin(), bytes.end());
    EXPECT_EQ(text.find(marker), std::string::npos) << p;
  }
}

TEST_F(EnvelopeTest, FingerprintedTemplatesMatchEqualComparableValuesOnly) {
  const auto protection = *parse_protection("pu,co,co,pr");
  const Tuple t = *space.seal(kPlain, protection);
  const auto tmpl = [&](Template tm) {
    auto r = space.fingerprint(tm, protection);
    EXPECT_TRUE(r.ok()) << r.error();
    return *r;
  };
  EXPECT_TRUE(ts::matches(
      tmpl({Value("task"), Value(std::int64_t{7}), Pattern::any(), Pattern::any()}), t));
  EXPECT_TRUE(
      ts::matches(tmpl({Pattern::any(), Pattern::any(), Value("alice"), Pattern::any()}), t));
  EXPECT_FALSE(
      ts::matches(tmpl({Pattern::any(), Pattern::any(), Value("bob"), Pattern::any()}), t));
  // int 7 and string "7" differ, as in a plain space.
  EXPECT_FALSE(ts::matches(tmpl({Pattern::any(), Value("7"), Pattern::any(), Pattern::any()}), t));
  EXPECT_FALSE(
      ts::matches(tmpl({Value("other"), Pattern::any(), Pattern::any(), Pattern::any()}), t));
  // The same value in another space has another fingerprint.
  SpaceKeys other(pvss, key_for("other"), "other", "alice");
  EXPECT_FALSE(
      ts::matches(*other.fingerprint(
                      {Pattern::any(), Pattern::any(), Value("alice"), Pattern::any()}, protection),
                  t));
}

TEST_F(EnvelopeTest, TemplatesCannotAskWhatIsNotStored) {
  const auto protection = *parse_protection("pu,co,pr");
  auto typed_co = space.fingerprint(
      {Pattern::any(), Pattern::typed(ts::Type::kInt), Pattern::any()}, protection);
  ASSERT_FALSE(typed_co.ok());
  EXPECT_NE(typed_co.error().find("comparable"), std::string::npos);
  auto value_pr = space.fingerprint({Pattern::any(), Pattern::any(), Value("x")}, protection);
  ASSERT_FALSE(value_pr.ok());
  EXPECT_NE(value_pr.error().find("private"), std::string::npos);
  EXPECT_FALSE(
      space
          .fingerprint({Pattern::any(), Pattern::any(), Pattern::typed(ts::Type::kInt)}, protection)
          .ok());
  EXPECT_FALSE(space.fingerprint({}, protection).ok());
  EXPECT_FALSE(space.seal({}, protection).ok());
}

TEST_F(EnvelopeTest, ReplicasRefuseTuplesWhoseSharingOrShapeIsWrong) {
  const auto protection = *parse_protection("pu,co,pr");
  const Tuple plain = {Value("a"), Value("b"), Value("c")};
  const Tuple good = *space.seal(plain, protection);
  ASSERT_TRUE(verify_stored(pvss, "jobs", "alice", good).ok());
  const auto expect_refused = [&](const Tuple& t, const std::string& what,
                                  std::string_view in_space = "jobs",
                                  std::string_view inserter = "alice") {
    auto r = verify_stored(pvss, in_space, inserter, t);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_FALSE(r.error().empty());
  };
  expect_refused(good, "another space", "jobs2");
  // A copy inserted by anyone but its writer: a compromised replica could hand a stored tuple to
  // a client that would insert it where it may read it.
  expect_refused(good, "another inserter", "jobs", "mallory");
  const StoredTuple copied = *parse_stored("jobs", good);
  Envelope renamed = copied.envelope;
  renamed.writer = "mallory";  // claiming it as one's own breaks the proof
  expect_refused(with_envelope(copied.fields, renamed), "renamed writer", "jobs", "mallory");
  Tuple t = good;
  t[0] = Value("changed");  // a public field changed after sealing
  expect_refused(t, "a public field changed");
  const StoredTuple parsed = *parse_stored("jobs", good);
  Envelope env = parsed.envelope;
  env.sharing.shares[2] = env.sharing.shares[2] + Point::generator();
  expect_refused(with_envelope(parsed.fields, env), "a share changed");
  env = parsed.envelope;
  env.protection[0] = static_cast<std::uint8_t>(Protection::kComparable);
  expect_refused(with_envelope(parsed.fields, env), "protection changed");
  env = parsed.envelope;
  env.protection[0] = 3;
  expect_refused(with_envelope(parsed.fields, env), "unknown protection");
  env = parsed.envelope;
  env.protection.pop_back();
  expect_refused(with_envelope(parsed.fields, env), "protection too short");
  env = parsed.envelope;
  env.sealed.resize(kSealOverhead - 1);
  expect_refused(with_envelope(parsed.fields, env), "sealed too short");
  t = good;
  t[2] = Value(Blob{"leaked"});  // a private field with a value
  expect_refused(t, "private field with a value");
  t = good;
  t[1] = Value("b");  // a comparable field in clear
  expect_refused(t, "comparable in clear");
  t = good;
  t.back() = Value("not bytes");
  expect_refused(t, "envelope not bytes");
  t = good;
  t.back() = Value(Blob{"\x01\x02"});
  expect_refused(t, "envelope garbage");
  expect_refused({good.back()}, "envelope only");
  // A sharing made for another cluster (other replica keys) is refused too.
  const ReplicaKeys others(4);
  const Pvss other_pvss(others.publics, 2);
  SpaceKeys foreign(other_pvss, key_for("jobs"), "jobs", "alice");
  expect_refused(*foreign.seal(plain, protection), "another cluster's keys");
}

TEST_F(EnvelopeTest, GarbageSealedUnderAValidSharingIsCaughtAndProvable) {
  const auto protection = *parse_protection("pu,pr");
  const Tuple good = *space.seal({Value("a"), Value("secret")}, protection);
  StoredTuple parsed = *parse_stored("jobs", good);
  Envelope env = parsed.envelope;
  randombytes_buf(env.sealed.data(), env.sealed.size());
  const StoredTuple bad = stored(with_envelope(parsed.fields, env));  // replicas cannot tell
  const auto shares = shares_for(bad, {1, 2});
  auto r = open(space, bad, shares);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpenFailure::Kind::kBadCiphertext);
  const RepairEvidence e = evidence_of(space, bad, shares, r.error());
  std::string reason;
  EXPECT_TRUE(check_repair(pvss, space.fingerprints().public_key(), bad, e, &reason));
  EXPECT_NE(reason.find("decrypt"), std::string::npos);
  // Evidence survives the codec.
  auto round = codec::decode<RepairEvidence>(codec::encode(e));
  ASSERT_TRUE(round.ok());
  EXPECT_TRUE(check_repair(pvss, space.fingerprints().public_key(), bad, *round, &reason));
}

TEST_F(EnvelopeTest, AWrongFingerprintIsCaughtAndProvable) {
  // The writer stores the fingerprint of "bob" but seals "alice": a template for "bob" finds a
  // tuple that says "alice".
  const std::vector<std::uint8_t> protection = {0, 1};
  const Tuple fields = {Value("user"), Value(fingerprint_blob(space.fingerprints(), Value("bob")))};
  const Envelope env = cheating_envelope(fields, protection, {"alice"});
  const StoredTuple bad = stored(with_envelope(fields, env));
  EXPECT_TRUE(ts::matches(*space.fingerprint({Value("user"), Value("bob")},
                                             {Protection::kPublic, Protection::kComparable}),
                          with_envelope(fields, env)));
  const auto shares = shares_for(bad, {0, 3});
  auto r = open(space, bad, shares);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpenFailure::Kind::kWrongFingerprint);
  EXPECT_EQ(r.error().field, 1u);
  const RepairEvidence e = evidence_of(space, bad, shares, r.error());
  ASSERT_TRUE(e.fingerprint);
  std::string reason;
  EXPECT_TRUE(check_repair(pvss, space.fingerprints().public_key(), bad, e, &reason));
  EXPECT_NE(reason.find("fingerprint"), std::string::npos);
  // The proof must be the space's key's: another space's key proves nothing here.
  SpaceKeys other(pvss, key_for("other"), "jobs", "alice");
  RepairEvidence forged = e;
  forged.fingerprint = other.fingerprints().prove(codec::encode(Value("alice")));
  EXPECT_FALSE(check_repair(pvss, space.fingerprints().public_key(), bad, forged, &reason));
}

TEST_F(EnvelopeTest, SealedValuesOfTheWrongShapeAreCaughtAndProvable) {
  const std::vector<std::uint8_t> protection = {0, 2};
  const Tuple fields = {Value("user"), Value(Blob{})};
  // Two values sealed for one protected field.
  const StoredTuple bad =
      stored(with_envelope(fields, cheating_envelope(fields, protection, {"one", "two"})));
  const auto shares = shares_for(bad, {1, 3});
  auto r = open(space, bad, shares);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpenFailure::Kind::kBadPlaintext);
  std::string reason;
  EXPECT_TRUE(check_repair(pvss, space.fingerprints().public_key(), bad,
                           evidence_of(space, bad, shares, r.error()), &reason));
}

TEST_F(EnvelopeTest, FalseRepairClaimsAreRejected) {
  const auto protection = *parse_protection("pu,co,pr");
  const StoredTuple good = stored(*space.seal({Value("a"), Value("b"), Value("c")}, protection));
  const auto shares = shares_for(good, {0, 1});
  const Point& key = space.fingerprints().public_key();
  std::string reason;
  RepairEvidence e;
  e.shares = shares;
  EXPECT_FALSE(check_repair(pvss, key, good, e, &reason));  // it opens
  e.field = 1;
  e.fingerprint = space.fingerprints().prove(codec::encode(Value("b")));
  EXPECT_FALSE(check_repair(pvss, key, good, e, &reason));  // the fingerprint is right
  e.fingerprint = space.fingerprints().prove(codec::encode(Value("not b")));
  EXPECT_FALSE(check_repair(pvss, key, good, e, &reason));  // a proof for another value
  e.field = 2;
  EXPECT_FALSE(check_repair(pvss, key, good, e, &reason));  // not a comparable field
  e.field = 9;
  EXPECT_FALSE(check_repair(pvss, key, good, e, &reason));
  // Forged shares make it look undecryptable: their proofs fail, so the claim does.
  RepairEvidence forged;
  forged.shares = shares;
  forged.shares[1].share = forged.shares[1].share + Point::generator();
  EXPECT_FALSE(check_repair(pvss, key, good, forged, &reason));
  forged.shares = {shares[0]};
  EXPECT_FALSE(check_repair(pvss, key, good, forged, &reason));  // too few
  forged.shares = {shares[0], shares[0]};
  EXPECT_FALSE(check_repair(pvss, key, good, forged, &reason));  // repeated
  forged.shares = shares;
  forged.shares[0].index = 7;
  EXPECT_FALSE(check_repair(pvss, key, good, forged, &reason));  // out of range
}

TEST_F(EnvelopeTest, AReplicaThatOpensWronglyIsToldApart) {
  const StoredTuple t = stored(*space.seal(kPlain, *parse_protection("pu,pr")));
  OpenedShare lie = open_share(keys.secrets[2], 2, t);
  lie.share = lie.share + Point::generator();
  EXPECT_FALSE(pvss.verify_opened(t.envelope.sharing.shares[2], lie, t.context));
  // Its own key on another replica's share, or a share of another tuple, fails too.
  EXPECT_FALSE(pvss.verify_opened(t.envelope.sharing.shares[1], open_share(keys.secrets[2], 1, t),
                                  t.context));
  const StoredTuple other = stored(*space.seal(kPlain, *parse_protection("pu,pr")));
  EXPECT_FALSE(pvss.verify_opened(t.envelope.sharing.shares[2],
                                  open_share(keys.secrets[2], 2, other), t.context));
  // The others still open it.
  EXPECT_EQ(*open(space, t, shares_for(t, {0, 3})), kPlain);
}

}  // namespace
}  // namespace bastion::confidentiality
