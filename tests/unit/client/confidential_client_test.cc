// Confidential spaces through bastion::Client against a real in-process cluster: every tuple
// operation seals, fingerprints and opens transparently, for the writer and for other identities;
// templates that cannot match protected fields are refused; a replica down does not stop reads
// (f+1 shares suffice); and the voting hooks ignore a replica whose opened share is wrong.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>

#include "client/confidential.h"
#include "codec/codec.h"
#include "confidentiality/reply.h"
#include "confidentiality/seal.h"
#include "config/cluster_init.h"
#include "config/confidential_keys.h"
#include "tests/unit/client/live_cluster.h"
#include "tuplespace/text.h"

namespace bastion {
namespace {

using namespace std::chrono_literals;
using testing::LiveCluster;

Tuple tup(std::string_view text) { return *ts::parse_tuple(text); }
Template tmpl(std::string_view text) { return *ts::parse_template(text); }

class ConfidentialClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = cluster_.connect();
    ts::SpaceOptions o;
    o.confidential = true;
    o.protection = {ts::kProtectionPublic, ts::kProtectionComparable, ts::kProtectionPrivate};
    auto created = admin_->create_space("vault", o);
    ASSERT_TRUE(created.ok()) << created.error().message;
    alice_ = cluster_.connect("client1");
    bob_ = cluster_.connect("client2");
  }

  LiveCluster cluster_;
  std::unique_ptr<Client> admin_;
  std::unique_ptr<Client> alice_;
  std::unique_ptr<Client> bob_;
};

TEST_F(ConfidentialClientTest, SpaceShowsItsProtectionAndKey) {
  auto shown = admin_->show_space("vault");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_TRUE(shown->options.confidential);
  EXPECT_EQ(shown->options.protection, (std::vector<std::uint8_t>{0, 1, 2}));
  EXPECT_EQ(shown->options.fingerprint_key.size(), ts::kFingerprintKeyBytes);
  // Without a protection vector, the default: every field comparable.
  ts::SpaceOptions o;
  o.confidential = true;
  ASSERT_TRUE(admin_->create_space("plainly", o).ok());
  EXPECT_EQ(admin_->show_space("plainly")->options.protection, (std::vector<std::uint8_t>{1}));
}

TEST_F(ConfidentialClientTest, EveryOperationOpensForWriterAndOtherReaders) {
  {
    auto r = alice_->out("vault", tup(R"(("pay", "alice", "s3cret-1"))"));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  ASSERT_TRUE(alice_->out("vault", tup(R"(("pay", "bob", "s3cret-2"))")).ok());
  // Public and comparable fields match; the private one comes back whole.
  {
    auto r = bob_->rdp("vault", tmpl(R"(("pay", "alice", *))"));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_EQ(bob_->rdp("vault", tmpl(R"(("pay", "alice", *))")).value(),
            tup(R"(("pay", "alice", "s3cret-1"))"));
  EXPECT_EQ(alice_->rdp("vault", tmpl(R"(("pay", "bob", *))")).value(),
            tup(R"(("pay", "bob", "s3cret-2"))"));
  EXPECT_FALSE(bob_->rdp("vault", tmpl(R"(("pay", "carol", *))")).value().has_value());
  auto all = bob_->rd_all("vault", tmpl("(*, *, *)"));
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, (std::vector<Tuple>{tup(R"(("pay", "alice", "s3cret-1"))"),
                                      tup(R"(("pay", "bob", "s3cret-2"))")}));

  // cas: found (the existing tuple, opened), then inserted.
  auto cas = bob_->cas("vault", tmpl(R"(("pay", "alice", *))"), tup(R"(("pay", "alice", "x"))"));
  ASSERT_TRUE(cas.ok()) << cas.error().message;
  EXPECT_FALSE(cas->inserted);
  EXPECT_EQ(cas->existing, tup(R"(("pay", "alice", "s3cret-1"))"));
  cas = bob_->cas("vault", tmpl(R"(("pay", "carol", *))"), tup(R"(("pay", "carol", "s3cret-3"))"));
  ASSERT_TRUE(cas.ok()) << cas.error().message;
  EXPECT_TRUE(cas->inserted);

  // replace returns the removed tuple opened; the new one reads back.
  auto replaced =
      alice_->replace("vault", tmpl(R"(("pay", "bob", *))"), tup(R"(("pay", "bob", "s3cret-4"))"));
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(replaced->value(), tup(R"(("pay", "bob", "s3cret-2"))"));
  EXPECT_EQ(bob_->inp("vault", tmpl(R"(("pay", "bob", *))")).value(),
            tup(R"(("pay", "bob", "s3cret-4"))"));

  // Blocking rd and in wait for a confidential tuple and open it.
  // (One waiter at a time: whether it waits or finds the tuple at once, the answer is the same.)
  auto rd = bob_->rd_async("vault", tmpl(R"(("late", *, *))"), 10s);
  ASSERT_TRUE(admin_->out("vault", tup(R"(("late", 7, "s3cret-5"))"), {}).ok());
  EXPECT_EQ(rd.get().value(), tup(R"(("late", 7, "s3cret-5"))"));
  auto in = alice_->in_async("vault", tmpl(R"(("later", 7, *))"), 10s);
  ASSERT_TRUE(admin_->out("vault", tup(R"(("later", 7, "s3cret-6"))"), {}).ok());
  EXPECT_EQ(in.get().value(), tup(R"(("later", 7, "s3cret-6"))"));

  // renew returns the renewed tuple opened.
  ASSERT_TRUE(alice_->out("vault", tup(R"(("lease", 1, "s3cret-6"))"), Insert{60s, {}, {}}).ok());
  EXPECT_EQ(alice_->renew("vault", tmpl(R"(("lease", 1, *))"), 120s).value(),
            tup(R"(("lease", 1, "s3cret-6"))"));

  auto taken = bob_->in_all("vault", tmpl("(*, *, *)"));
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken->size(), 4u);  // alice's, carol's, "late" and the lease
  EXPECT_TRUE(bob_->rd_all("vault", tmpl("(*, *, *)")).value().empty());
}

TEST_F(ConfidentialClientTest, ProtectionPerCallAndTemplatesThatCannotMatch) {
  // Per call: every field private; only * matches them.
  CallOptions all_private;
  all_private.protection = {ts::kProtectionPrivate};
  ASSERT_TRUE(alice_->out("vault", tup(R"(("x", 1, 2))"), {}, all_private).ok());
  EXPECT_EQ(alice_->rdp("vault", tmpl("(*, *, *)"), all_private).value(), tup(R"(("x", 1, 2))"));
  auto refused = alice_->rdp("vault", tmpl(R"(("x", *, *))"), all_private);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  // The space's default: the private third field cannot be matched by value or type.
  refused = alice_->rdp("vault", tmpl(R"(("x", 1, 2))"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  refused = alice_->rdp("vault", tmpl("(*, ?int, *)"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  // A protection vector on a plain space is a mistake, said so.
  ASSERT_TRUE(admin_->create_space("open").ok());
  auto plain = alice_->out("open", tup("(1)"), {}, all_private);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, Errc::kInvalidArgument);
}

TEST_F(ConfidentialClientTest, ReadsOpenWithOneReplicaDown) {
  ASSERT_TRUE(alice_->out("vault", tup(R"(("k", "v", "s3cret"))")).ok());
  cluster_.stop(3);
  EXPECT_EQ(bob_->rdp("vault", tmpl(R"(("k", "v", *))")).value(), tup(R"(("k", "v", "s3cret"))"));
  ASSERT_TRUE(bob_->out("vault", tup(R"(("k", "w", "s3cret"))")).ok());
  EXPECT_EQ(alice_->inp("vault", tmpl(R"(("k", "w", *))")).value(), tup(R"(("k", "w", "s3cret"))"));
}

// A space's own key (bastion space key): only the identities given it can use the space; the
// others are told so before anything is sent.
TEST_F(ConfidentialClientTest, ASpaceKeyOfItsOwnKeepsOtherIdentitiesOut) {
  auto written =
      config::add_space_key(cluster_.file().parent_path(), "inner", {"admin", "client1"});
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written->size(), 2u);
  ts::SpaceOptions o;
  o.confidential = true;
  ASSERT_TRUE(admin_->create_space("inner", o).ok());
  ASSERT_TRUE(alice_->out("inner", tup(R"(("k", 1))")).ok());
  EXPECT_EQ(admin_->rdp("inner", tmpl(R"(("k", *))")).value(), tup(R"(("k", 1))"));
  auto refused = bob_->out("inner", tup(R"(("k", 2))"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kConfig);
  EXPECT_NE(refused.error().message.find("space key"), std::string::npos);
  auto unread = bob_->rdp("inner", tmpl(R"(("k", *))"));
  ASSERT_FALSE(unread.ok());
  EXPECT_EQ(unread.error().code, Errc::kConfig);
  // Given later, the same key: bob (a new connection) is in.
  written = config::add_space_key(cluster_.file().parent_path(), "inner", {});
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written->size(), 1u);  // client2 only
  auto bob = cluster_.connect("client2");
  EXPECT_EQ(bob->rdp("inner", tmpl(R"(("k", *))")).value(), tup(R"(("k", 1))"));
  // A name that cannot be a file name is refused.
  EXPECT_FALSE(config::add_space_key(cluster_.file().parent_path(), "../x", {}).ok());
}

// The voting hooks on replies built by the replicas' own code: a replica whose share is wrong or
// missing is not counted, and the others' shares open the tuple.
TEST_F(ConfidentialClientTest, HooksIgnoreAReplicaWithABadShare) {
  const config::ClusterConfig& cluster = cluster_.config();
  auto pvss = config::pvss_of(cluster);
  ASSERT_TRUE(pvss.ok());
  auto secret =
      config::load_fingerprint_secret(cluster.identity_dir("client1") / "fingerprint.key");
  ASSERT_TRUE(secret.ok());
  client_detail::ClientConfidentiality conf(*pvss, *secret, "client1", {});
  client_detail::SpaceState state{true, {confidentiality::Protection::kPrivate}};
  auto sealed = conf.seal(ts::Out{"vault", {tup(R"(("s3cret"))"), 0, {}, {}}}, state, {});
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  const ts::Tuple stored = std::get<ts::Out>(*sealed).entry.tuple;

  ts::Confidential wrapped{"vault", codec::encode(ts::Reply{ts::Found{stored}})};
  const codec::Bytes common = codec::encode(ts::Reply{wrapped});
  std::vector<codec::Bytes> full;
  for (std::uint32_t r = 0; r < LiveCluster::kReplicas; ++r) {
    auto key = config::load_pvss_key(cluster.replicas[r]);
    ASSERT_TRUE(key.ok());
    auto with = confidentiality::with_opened_shares(common, *key, r);
    ASSERT_TRUE(with.has_value());
    full.push_back(*with);
    EXPECT_EQ(conf.split_common(full.back()), common);
    EXPECT_TRUE(conf.verify_shares(r, full.back()));
    EXPECT_FALSE(conf.verify_shares((r + 1) % 4, full.back()));  // another replica's share
  }
  EXPECT_FALSE(conf.verify_shares(0, common));  // no share at all

  // Replica 0 lies: replica 1's share under its own name, then a share of another value.
  auto lie = confidentiality::split(full[1]);
  lie->shares->shares[0].index = 0;
  codec::Bytes lying = common;
  codec::encode_into(lying, *lie->shares);
  EXPECT_FALSE(conf.verify_shares(0, lying));
  auto other = confidentiality::split(full[0]);
  other->shares->shares[0].share =
      confidentiality::Point::base_mul(confidentiality::Scalar::random());
  lying = common;
  codec::encode_into(lying, *other->shares);
  EXPECT_FALSE(conf.verify_shares(0, lying));
  // Each failure counted against the replica that sent it.
  EXPECT_EQ(conf.invalid_shares(), (std::vector<std::uint64_t>{4, 1, 1, 1}));

  auto opened = conf.open(wrapped, "vault", {{2, full[2]}, {3, full[3]}});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(opened->repairs.empty());
  EXPECT_EQ(std::get<ts::Found>(opened->reply).tuple, tup(R"(("s3cret"))"));
  // Opened once, the tuple needs no shares any more: a reply without them counts.
  EXPECT_TRUE(conf.verify_shares(0, common));
  opened = conf.open(wrapped, "vault", {{0, common}, {1, common}});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(std::get<ts::Found>(opened->reply).tuple, tup(R"(("s3cret"))"));
  // Asked about another space, the reply is refused.
  EXPECT_FALSE(conf.open(wrapped, "elsewhere", {{2, full[2]}, {3, full[3]}}).ok());
}

// A tuple for "vault" (pu, co, pr) whose comparable field stores the fingerprint of `stored` but
// whose sealed values say `sealed`, with a valid sharing: what a cheating writer can insert.
ts::Tuple cheating_tuple(const confidentiality::Pvss& pvss,
                         const confidentiality::FingerprintKey& fk, const std::string& writer,
                         const std::string& stored, const std::string& sealed) {
  using namespace confidentiality;
  const auto fp = fk.fingerprint(codec::encode(ts::Value(stored)));
  ts::Tuple fields = {ts::Value("pay"), ts::Value(ts::Blob{std::string(fp.begin(), fp.end())}),
                      ts::Value(ts::Blob{})};
  Envelope env;
  env.writer = writer;
  env.protection = {0, 1, 2};
  env.sealed.assign(kSealOverhead, 0);
  auto with = [&fields](const Envelope& e) {
    ts::Tuple t = fields;
    const auto bytes = codec::encode(e);
    t.push_back(ts::Value(ts::Blob{std::string(bytes.begin(), bytes.end())}));
    return t;
  };
  auto probe = parse_stored("vault", with(env));
  EXPECT_TRUE(probe.ok());
  Pvss::Dealt dealt = pvss.deal(probe->context);
  probe->envelope.sharing = dealt.sharing;
  env.sharing = dealt.sharing;
  env.sealed = seal(dealt.secret, probe->associated(),
                    codec::encode(std::vector<ts::Value>{ts::Value(sealed), ts::Value("x")}));
  return with(env);
}

// A cheating writer (a client that sends what it likes: the library of a cluster file without
// PVSS keys seals nothing) plants a tuple that says "alice" where its fingerprint says "bob". A
// reader looking for "bob" finds it, repairs it, and gets nothing; the writer is shut out of the
// space; a false repair claim is refused.
TEST_F(ConfidentialClientTest, ACheatingWriterIsRepairedAndShutOut) {
  const config::ClusterConfig& cluster = cluster_.config();
  std::ifstream in(cluster_.file());
  std::ostringstream without_pvss;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("pvss_")) without_pvss << line << '\n';
  }
  const auto raw_file = cluster_.file().parent_path() / "raw.toml";
  std::ofstream(raw_file) << without_pvss.str();
  ClientOptions raw_options = cluster_.options("client1");
  raw_options.cluster_file = raw_file.string();
  auto mallory = Client::connect(raw_options);
  ASSERT_TRUE(mallory.ok()) << mallory.error().message;

  auto secret =
      config::load_fingerprint_secret(cluster.identity_dir("client1") / "fingerprint.key");
  ASSERT_TRUE(secret.ok());
  const auto fk = confidentiality::FingerprintKey::derive(*secret, "vault", 0);
  const auto pvss = config::pvss_of(cluster);
  ASSERT_TRUE(pvss.ok());
  const ts::Tuple bad = cheating_tuple(*pvss, fk, "client1", "bob", "alice");
  auto planted = (*mallory)->execute(ts::Out{"vault", {bad, 0, {}, {}}});
  ASSERT_TRUE(planted.ok()) << planted.error().message;  // the sharing itself is valid

  // A false claim about a valid tuple is refused.
  client_detail::ClientConfidentiality conf(*pvss, *secret, "client1", {});
  auto sealed = conf.seal(ts::Out{"vault", {tup(R"(("pay", "carol", 1))"), 0, {}, {}}},
                          client_detail::SpaceState{true, {}}, {0, 1, 2});
  ASSERT_TRUE(sealed.ok());
  const ts::Tuple valid = std::get<ts::Out>(*sealed).entry.tuple;
  ASSERT_TRUE((*mallory)->execute(ts::Out{"vault", {valid, 0, {}, {}}}).ok());
  auto refused = (*mallory)->execute(
      ts::Repair{"vault", valid, "client1", codec::encode(confidentiality::RepairEvidence{})});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("repair refused"), std::string::npos);

  // The reader: the tuple does not open, is repaired, and the retried read finds nothing.
  auto read = bob_->rdp("vault", tmpl(R"(("pay", "bob", *))"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->has_value());
  auto denied = (*mallory)->execute(ts::Rdp{"vault", tmpl("(*, *, *, *)")});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kDenied);
  auto shut = alice_->out("vault", tup(R"(("pay", "dave", 2))"));
  ASSERT_FALSE(shut.ok());
  EXPECT_EQ(shut.error().code, Errc::kDenied);
  EXPECT_NE(shut.error().message.find("repair"), std::string::npos);
  // Others go on; carol's valid tuple is still there.
  EXPECT_EQ(bob_->rdp("vault", tmpl(R"(("pay", "carol", *))")).value(),
            tup(R"(("pay", "carol", 1))"));
}

}  // namespace
}  // namespace bastion
