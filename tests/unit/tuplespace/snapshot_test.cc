// Wire encoding of requests and outcomes; snapshots, restore validation, digests, determinism.
#include <cstdlib>
#include <fstream>
#include <limits>

#include "codec/codec.h"
#include "tests/unit/tuplespace/engine_fixture.h"

namespace bastion::ts::testing {
namespace {

// ---- requests and outcomes --------------------------------------------------------------------

// One request of each kind, in tag order, built from these arguments.
std::vector<Request> one_of_each(const SpaceOptions& o, const Template& t, const TupleSpec& e) {
  return {SpaceCreate{"s", o},
          SpaceDelete{"s"},
          SpaceList{},
          Out{"s", e},
          OutAll{"s", {e, e}},
          Rdp{"s", t},
          Inp{"s", t},
          Rd{"s", t, 5},
          In{"s", t, 0},
          Cas{"s", t, e},
          Replace{"s", t, e},
          Renew{"s", t, 9},
          RdAll{"s", t, 3},
          InAll{"s", t, 0},
          Cancel{77},
          SpaceSetPolicy{"s", o.policy},
          SpaceSetAccess{"s", kAccessReaders, SpaceAccess{{}, o.access.readers, {}}},
          SpaceShow{"s"},
          Repair{"s", e.tuple, "w", codec::Bytes{1, 2, 3}}};
}

TEST(OpsCodec, EveryRequestRoundTrips) {
  SpaceOptions o;
  o.policy = "p";
  o.confidential = true;
  o.protection = {kProtectionPublic, kProtectionComparable};
  o.fingerprint_key.assign(kFingerprintKeyBytes, 'k');
  o.access.readers = {"@g", "r"};
  const Template t = tmpl("a", kAny, Pattern::typed(Type::kBytes), 2.5);
  const TupleSpec e = spec(tup({"a", 1, Blob{"\x01\x02"}, false}), 30, {"r"}, {"x", "y"});
  const std::vector<Request> requests = one_of_each(o, t, e);
  ASSERT_EQ(requests.size(), std::variant_size_v<Request>);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const codec::Bytes bytes = encode_request(requests[i]);
    EXPECT_EQ(bytes[0], i);  // the tag is the alternative's index
    auto back = decode_request(bytes);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, requests[i]);
  }
}

TEST(OpsCodec, DecoderRejectsBadTagsAndTrailingBytes) {
  EXPECT_EQ(decode_request(codec::Bytes{19}).error().code, ErrorCode::kMalformed);
  EXPECT_FALSE(decode_request(codec::Bytes{}).ok());
  codec::Bytes list = encode_request(SpaceList{});
  list.push_back(0);
  EXPECT_FALSE(decode_request(list).ok());
  // An Error reply with code ok (0) or an unknown code does not decode.
  Outcome o{Error{ErrorCode::kDenied, "no"}, {}};
  codec::Bytes bytes = encode_outcome(o);
  ASSERT_TRUE(decode_outcome(bytes).ok());
  EXPECT_EQ(*decode_outcome(bytes), o);
  bytes[1] = 0;
  EXPECT_FALSE(decode_outcome(bytes).ok());
  bytes[1] = kErrorCodeCount;
  EXPECT_FALSE(decode_outcome(bytes).ok());
}

TEST(OpsCodec, OutcomesRoundTrip) {
  const std::vector<Reply> replies = {Error{ErrorCode::kTimedOut, "late"},
                                      Ack{},
                                      Pending{},
                                      Found{tup({1, "x"})},
                                      FoundAll{{tup({1}), tup({2.5})}},
                                      CasResult{false, tup({true})},
                                      Spaces{{SpaceInfo{"s", {}, 3, 7}}},
                                      Confidential{"s", {3, 1, 0}}};
  ASSERT_EQ(replies.size(), std::variant_size_v<Reply>);
  for (const Reply& r : replies) {
    const Outcome o{r, {Completion{WaiterKey{"c", 1, 2}, Found{tup({3})}, "s"}}};
    auto back = decode_outcome(encode_outcome(o));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, o);
  }
}

TEST(OpsCodec, ReadOnlyPredicate) {
  EXPECT_TRUE(read_only(Rdp{}));
  EXPECT_TRUE(read_only(RdAll{}));
  EXPECT_TRUE(read_only(SpaceList{}));
  EXPECT_FALSE(read_only(Rd{}));
  EXPECT_FALSE(read_only(Inp{}));
  EXPECT_FALSE(read_only(Cas{}));
}

// ---- snapshots ----------------------------------------------------------------------------------

// Builds a state with every kind of content: options, owners, leases, ACLs, waiters, holes.
class SnapshotTest : public EngineTest {
 protected:
  void SetUp() override {
    SpaceOptions o;
    o.policy = "policy text";
    o.tuples_max = 100;
    create("jobs", o);
    create("empty");
    out("jobs", tup({"job", 1}));
    out("jobs", tup({"job", 2}), 500, "bob");
    ASSERT_EQ(
        code(run("carol", Out{"jobs", spec(tup({"job", 3.5}), 0, {"carol", "alice"}, {"carol"})})),
        ErrorCode::kOk);
    out("jobs", tup({"gone"}));
    ASSERT_EQ(code(run(Inp{"jobs", tmpl("gone")})), ErrorCode::kOk);
    ASSERT_EQ(code(run("dave", Rd{"jobs", tmpl("result", kAny), 200}, 3)), ErrorCode::kOk);
    ASSERT_EQ(code(run("erin", In{"jobs", tmpl("result", 1), 0}, 4)), ErrorCode::kOk);
  }
};

TEST_F(SnapshotTest, RestoreGivesTheSameStateAndBehaviour) {
  const codec::Bytes snap = engine.snapshot();
  EXPECT_EQ(snap[0], kSnapshotVersion);
  auto restored = Engine::restore(snap);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->snapshot(), snap);
  EXPECT_EQ(restored->digest(), engine.digest());
  EXPECT_EQ(engine.digest(), codec::blake2b(snap));
  EXPECT_EQ(restored->now_ms(), engine.now_ms());
  EXPECT_EQ(restored->next_deadline(), engine.next_deadline());

  // The same calls give the same outcomes on both.
  const std::vector<std::pair<std::string, Request>> calls = {
      {"x", Out{"jobs", spec(tup({"result", 1}))}},
      {"carol", Inp{"jobs", tmpl("job", kAny)}},
      {"x", RdAll{"jobs", tmpl(kAny, kAny), 0}},
      {"x", Out{"jobs", spec(tup({"job", 9}))}},
  };
  std::uint64_t request = 1000;
  for (const auto& [client, req] : calls) {
    const Context ctx{client, 1, ++request, 1100};
    EXPECT_EQ(engine.execute(ctx, req), restored->execute(ctx, req)) << op_name(req);
    EXPECT_EQ(engine.digest(), restored->digest());
  }
  EXPECT_EQ(engine.advance(1600), restored->advance(1600));
  EXPECT_EQ(engine.snapshot(), restored->snapshot());
}

TEST_F(SnapshotTest, SameHistorySameBytes) {
  // A second engine fed the same calls in the same order.
  Engine other;
  std::int64_t t = 1000;
  std::uint64_t req = 1;
  auto call = [&](const std::string& c, const Request& r, std::uint64_t session = 1) {
    return other.execute(Context{c, session, req++, t}, r);
  };
  SpaceOptions o;
  o.policy = "policy text";
  o.tuples_max = 100;
  call("alice", SpaceCreate{"jobs", o});
  call("alice", SpaceCreate{"empty", {}});
  call("alice", Out{"jobs", spec(tup({"job", 1}))});
  call("bob", Out{"jobs", spec(tup({"job", 2}), 500)});
  call("carol", Out{"jobs", spec(tup({"job", 3.5}), 0, {"carol", "alice"}, {"carol"})});
  call("alice", Out{"jobs", spec(tup({"gone"}))});
  call("alice", Inp{"jobs", tmpl("gone")});
  call("dave", Rd{"jobs", tmpl("result", kAny), 200}, 3);
  call("erin", In{"jobs", tmpl("result", 1), 0}, 4);
  EXPECT_EQ(other.snapshot(), engine.snapshot());
  EXPECT_EQ(other.digest(), engine.digest());
  // And a different history gives a different digest.
  call("alice", Rdp{"jobs", tmpl(kAny, kAny)});
  EXPECT_EQ(other.digest(), engine.digest());  // reads change nothing
  call("alice", Out{"jobs", spec(tup({"job", 1}))});
  EXPECT_NE(other.digest(), engine.digest());
}

TEST_F(SnapshotTest, EveryTruncationAndTrailingByteIsRejected) {
  const codec::Bytes snap = engine.snapshot();
  for (std::size_t n = 0; n < snap.size(); ++n) {
    auto r = Engine::restore(codec::ByteView(snap.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  }
  codec::Bytes longer = snap;
  longer.push_back(0);
  EXPECT_FALSE(Engine::restore(longer).ok());
  codec::Bytes version = snap;
  version[0] = kSnapshotVersion + 1;
  EXPECT_NE(Engine::restore(version).error().message.find("version"), std::string::npos);
}

TEST_F(SnapshotTest, SingleByteCorruptionsNeverRestoreToADifferentEncoding) {
  // Whatever a corrupted snapshot restores to, it must re-encode to exactly the bytes given.
  const codec::Bytes snap = engine.snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i) {
    for (std::uint8_t delta : {1, 0x80, 0xff}) {
      codec::Bytes bad = snap;
      bad[i] = static_cast<std::uint8_t>(bad[i] + delta);
      auto r = Engine::restore(bad);
      if (r.ok()) {
        EXPECT_EQ(r->snapshot(), bad) << "byte " << i;
      }
    }
  }
}

// Hand-built snapshots that are well-formed bytes but invalid states, in the layout of version 4
// (still read; version 5 has the same checks and its pages, PagedSnapshot below).
class HandBuiltSnapshot : public ::testing::Test {
 protected:
  codec::Bytes out;
  codec::OutputArchive ar{codec::VectorSink(out)};
  void header(std::int64_t now = 100, std::uint64_t next_seq = 10, std::uint64_t next_arr = 10) {
    ar(std::uint8_t{4}, now, next_seq, next_arr);
  }
  void count(std::uint64_t n) { ar.saveVarint(n); }
  void space(const std::string& name, SpaceOptions o = {}) {
    ar(name, o);
    count(0);  // blacklist
  }
  void tuple(std::uint64_t seq, std::uint64_t owner, std::int64_t expiry, const Tuple& t,
             std::vector<std::string> readers = {}) {
    ar(seq);
    ar.saveVarint(owner);
    ar(expiry, readers, std::vector<std::string>{}, t);
  }
  std::string restore_error() {
    auto r = Engine::restore(out);
    return r.ok() ? "accepted" : r.error().message;
  }
};

TEST_F(HandBuiltSnapshot, AValidOneIsAccepted) {
  header();
  count(1);
  space("s");
  count(1);
  ar(std::string("alice"));
  count(2);
  tuple(1, 0, kNever, tup({1}));
  tuple(5, 0, 150, tup({2}), {"alice", "bob"});
  count(1);
  ar(std::uint64_t{3}, WaiterKey{"bob", 1, 1}, std::uint8_t{1}, tmpl(kAny, 1), kNever);
  EXPECT_EQ(restore_error(), "accepted");
}

TEST_F(HandBuiltSnapshot, VersionOneWithoutAccessListsIsRead) {
  ar(std::uint8_t{1}, std::int64_t{100}, std::uint64_t{10}, std::uint64_t{10});
  count(1);
  const SpaceOptions o;
  ar(std::string("s"), o.confidential, o.tuple_bytes_max, o.fields_max, o.tuples_max,
     o.tuples_per_client_max, o.waiters_per_client_max, std::string("function decide() end"));
  count(1);
  ar(std::string("alice"));
  count(1);
  tuple(1, 0, kNever, tup({1}));
  count(0);
  auto r = Engine::restore(out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->space_options("s")->policy, "function decide() end");
  EXPECT_EQ(r->space_options("s")->access, SpaceAccess{});
  EXPECT_EQ(r->tuple_count("s"), 1u);
  EXPECT_EQ(r->snapshot()[0], kSnapshotVersion);  // written back in the current format
}

TEST_F(HandBuiltSnapshot, VersionTwoWithoutProtectionIsRead) {
  ar(std::uint8_t{2}, std::int64_t{100}, std::uint64_t{10}, std::uint64_t{10});
  count(1);
  SpaceOptions o;
  o.access.readers = {"alice"};
  ar(std::string("s"), o.confidential, o.tuple_bytes_max, o.fields_max, o.tuples_max,
     o.tuples_per_client_max, o.waiters_per_client_max, o.policy, o.access);
  count(1);
  ar(std::string("alice"));
  count(1);
  tuple(1, 0, kNever, tup({1}));
  count(0);
  auto r = Engine::restore(out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->space_options("s"), o);
  EXPECT_EQ(r->snapshot()[0], kSnapshotVersion);
}

TEST_F(HandBuiltSnapshot, UnsortedAccessListsAreRejected) {
  header();
  count(1);
  SpaceOptions o;
  o.access.inserters = {"b", "a"};
  space("s", o);
  count(0);
  count(0);
  count(0);
  EXPECT_NE(restore_error().find("options"), std::string::npos);
}

TEST_F(HandBuiltSnapshot, UnsortedSpacesAreRejected) {
  header();
  count(2);
  space("b");
  count(0);
  count(0);
  count(0);
  space("a");
  count(0);
  count(0);
  count(0);
  EXPECT_NE(restore_error(), "accepted");
}

TEST_F(HandBuiltSnapshot, ExpiredTupleIsRejected) {
  header(100);
  count(1);
  space("s");
  count(1);
  ar(std::string("alice"));
  count(1);
  tuple(1, 0, 100, tup({1}));  // expiry == now: it would have been purged
  count(0);
  EXPECT_NE(restore_error().find("expired"), std::string::npos);
}

TEST_F(HandBuiltSnapshot, SeqBeyondCounterOrUnsortedAclIsRejected) {
  header(100, 5);
  count(1);
  space("s");
  count(1);
  ar(std::string("alice"));
  count(1);
  tuple(5, 0, kNever, tup({1}));
  count(0);
  EXPECT_NE(restore_error().find("seq"), std::string::npos);

  out.clear();
  header();
  count(1);
  space("s");
  count(1);
  ar(std::string("alice"));
  count(1);
  tuple(1, 0, kNever, tup({1}), {"bob", "alice"});
  count(0);
  EXPECT_NE(restore_error().find("sorted"), std::string::npos);
}

TEST_F(HandBuiltSnapshot, UnusedOwnerAndDuplicateSeqAcrossSpacesAreRejected) {
  header();
  count(1);
  space("s");
  count(2);
  ar(std::string("alice"), std::string("bob"));
  count(1);
  tuple(1, 0, kNever, tup({1}));
  count(0);
  EXPECT_NE(restore_error().find("owner"), std::string::npos);

  out.clear();
  header();
  count(2);
  for (const char* name : {"a", "b"}) {
    space(name);
    count(1);
    ar(std::string("alice"));
    count(1);
    tuple(1, 0, kNever, tup({1}));
    count(0);
  }
  EXPECT_NE(restore_error().find("duplicate"), std::string::npos);
}

TEST_F(HandBuiltSnapshot, LimitsOfTheSpaceAreEnforced) {
  SpaceOptions o;
  o.tuples_per_client_max = 1;
  header();
  count(1);
  space("s", o);
  count(1);
  ar(std::string("alice"));
  count(2);
  tuple(1, 0, kNever, tup({1}));
  tuple(2, 0, kNever, tup({2}));
  count(0);
  EXPECT_NE(restore_error(), "accepted");

  out.clear();
  o = SpaceOptions{};
  o.waiters_per_client_max = 0;
  header();
  count(1);
  space("s", o);
  count(0);
  count(0);
  count(1);
  ar(std::uint64_t{3}, WaiterKey{"bob", 1, 1}, std::uint8_t{0}, tmpl(1), kNever);
  EXPECT_NE(restore_error(), "accepted");

  out.clear();
  header();
  count(1);
  space("s");
  count(0);
  count(0);
  count(1);
  ar(std::uint64_t{3}, WaiterKey{"bob", 1, 1}, std::uint8_t{2}, tmpl(1), kNever);
  EXPECT_NE(restore_error().find("kind"), std::string::npos);
}

// Hand-built snapshots of version 5: one space "s" whose tuples are in pages.
class PagedSnapshot : public HandBuiltSnapshot {
 protected:
  void paged_header(std::uint64_t tuples, std::uint64_t next_seq = 1000) {
    ar(kSnapshotVersion, std::int64_t{100}, next_seq, std::uint64_t{10});
    count(1);
    space("s");
    count(tuples);
    count(0);  // waiters
  }
  // A page of tuples owned by alice.
  void page(const std::vector<std::uint64_t>& seqs) {
    count(1);
    ar(std::string("alice"));
    count(seqs.size());
    for (std::uint64_t seq : seqs) tuple(seq, 0, kNever, tup({static_cast<std::int64_t>(seq)}));
  }
  // The first seqs from `from` on that are (or are not) page boundaries.
  static std::vector<std::uint64_t> seqs(bool boundary, std::size_t n, std::uint64_t from = 1) {
    std::vector<std::uint64_t> found;
    for (std::uint64_t seq = from; found.size() < n; ++seq) {
      if (snapshot_page_boundary(seq) == boundary) found.push_back(seq);
    }
    return found;
  }
};

TEST_F(PagedSnapshot, PagesEndAtBoundariesAndNowhereElse) {
  const std::uint64_t b = seqs(true, 1).front();
  const std::uint64_t after = b + 1;
  ASSERT_FALSE(snapshot_page_boundary(after)) << "pick other seqs";
  paged_header(2);
  page({b});
  page({after});
  EXPECT_EQ(restore_error(), "accepted");

  out.clear();
  paged_header(2);
  page({b, after});  // goes on past the boundary
  EXPECT_NE(restore_error().find("boundary"), std::string::npos);

  const std::vector<std::uint64_t> plain = seqs(false, 2);
  out.clear();
  paged_header(2);
  page({plain[0]});  // ends where nothing ends it
  page({plain[1]});
  EXPECT_NE(restore_error().find("early"), std::string::npos);

  out.clear();
  paged_header(2);
  page(plain);
  EXPECT_EQ(restore_error(), "accepted");
  auto r = Engine::restore(out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->snapshot(), out);
}

TEST_F(PagedSnapshot, APageHoldsAt64KiBOfTuplesUnlessOneIsLarger) {
  // Two tuples of 40 KiB do not fit one page: each has its own, whatever their seqs.
  const std::vector<std::uint64_t> plain = seqs(false, 2);
  auto big = [](std::uint64_t seq) {
    return tup({static_cast<std::int64_t>(seq), Blob{std::string(40 << 10, 'x')}});
  };
  auto big_page = [&](const std::vector<std::uint64_t>& in_page) {
    count(1);
    ar(std::string("alice"));
    count(in_page.size());
    for (std::uint64_t seq : in_page) tuple(seq, 0, kNever, big(seq));
  };
  paged_header(2);
  big_page(plain);
  EXPECT_NE(restore_error().find("too large"), std::string::npos);

  out.clear();
  paged_header(2);
  big_page({plain[0]});
  big_page({plain[1]});
  EXPECT_EQ(restore_error(), "accepted");
}

TEST_F(PagedSnapshot, EmptyPagesUnusedOwnersAndMissingTuplesAreRejected) {
  paged_header(1);
  count(1);
  ar(std::string("alice"));
  count(0);  // a page of no tuples
  EXPECT_NE(restore_error(), "accepted");

  out.clear();
  paged_header(1);
  count(2);
  ar(std::string("alice"), std::string("bob"));
  count(1);
  tuple(seqs(false, 1).front(), 0, kNever, tup({1}));
  EXPECT_NE(restore_error().find("owner"), std::string::npos);

  out.clear();
  paged_header(3);  // claims more tuples than its pages hold
  page(seqs(false, 2));
  EXPECT_NE(restore_error(), "accepted");
}

// Snapshots re-encode only the pages that changed: whatever the history, the bytes are those a
// restored engine (which accepts only pages cut where the tuples say) gives back, and those of an
// engine that took no snapshot before.
TEST(SnapshotPages, KeptPagesEncodeLikeFreshOnes) {
  std::uint64_t rng = 12345;
  auto next = [&rng](std::uint64_t n) {
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return (rng >> 33) % n;
  };
  Engine engine;  // snapshots all along
  Engine cold;    // the same calls, one snapshot at the end
  std::uint64_t request = 1;
  std::int64_t now = 1000;
  auto both = [&](const std::string& client, const Request& r) {
    const Context ctx{client, 1, request++, now};
    const Outcome a = engine.execute(ctx, r);
    EXPECT_EQ(a, cold.execute(ctx, r)) << op_name(r);
    return a;
  };
  SpaceOptions o;
  o.tuple_bytes_max = 200 << 10;
  both("alice", SpaceCreate{"a", o});
  both("alice", SpaceCreate{"b", o});
  for (int step = 0; step < 3000; ++step) {
    const std::string space = next(4) == 0 ? "b" : "a";
    const std::string client = next(3) == 0 ? "bob" : "alice";
    const std::int64_t key = static_cast<std::int64_t>(next(400));
    switch (next(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4: {
        // Mostly small tuples, now and then one past a page's size, some with leases.
        const std::size_t bytes = next(50) == 0 ? (70 << 10) : next(300);
        both(client, Out{space, spec(tup({key, Blob{std::string(bytes, 'x')}}),
                                     next(4) == 0 ? 1 + next(3000) : 0)});
        break;
      }
      case 5:
        both(client, Inp{space, tmpl(key, kAny)});
        break;
      case 6:
        both(client, Renew{space, tmpl(key, kAny), 1 + next(5000)});
        break;
      case 7:
        now += static_cast<std::int64_t>(next(200));
        both(client, Rdp{space, tmpl(key, kAny)});
        break;
      default:
        if (next(10) == 0) both(client, InAll{space, tmpl(kAny, kAny), 1 + next(30)});
        break;
    }
    if (step % 97 == 0) {
      const codec::Bytes snap = engine.snapshot();
      auto restored = Engine::restore(snap);
      ASSERT_TRUE(restored.ok()) << "step " << step << ": " << restored.error().message;
      ASSERT_EQ(restored->snapshot(), snap) << "step " << step;
      ASSERT_EQ(engine.digest(), codec::blake2b(snap)) << "step " << step;
    }
  }
  EXPECT_EQ(engine.snapshot(), cold.snapshot());
  EXPECT_GT(engine.tuple_count("a"), 200u);  // enough tuples for many pages
}

// Writes the fuzz seed corpora (tests/fuzz/corpus/ts_snapshot, ts_request) when asked:
//   BASTION_TS_WRITE_CORPUS=tests/fuzz/corpus tuplespace_engine_test --gtest_filter=*Corpus
TEST_F(SnapshotTest, Corpus) {
  const char* dir = std::getenv("BASTION_TS_WRITE_CORPUS");
  if (dir == nullptr) GTEST_SKIP() << "set BASTION_TS_WRITE_CORPUS to write the seed corpora";
  auto write = [&](const std::string& path, const codec::Bytes& bytes) {
    std::ofstream f(std::string(dir) + "/" + path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good()) << path;
  };
  write("ts_snapshot/rich", engine.snapshot());
  write("ts_snapshot/empty", Engine().snapshot());
  Engine one_space;
  one_space.execute({"a", 1, 1, 5}, SpaceCreate{"s", {}});
  one_space.execute({"a", 1, 2, 5}, Out{"s", spec(tup({1, "x", 2.5, true, Blob{"b"}}), 10)});
  write("ts_snapshot/one_space", one_space.snapshot());
  for (std::int64_t i = 0; i < 300; ++i) {  // several pages
    one_space.execute({"a", 1, static_cast<std::uint64_t>(3 + i), 5}, Out{"s", spec(tup({i}))});
  }
  write("ts_snapshot/pages", one_space.snapshot());

  const Template t = tmpl("job", kAny, Pattern::typed(Type::kInt));
  const TupleSpec e = spec(tup({"job", 1, 2}), 30, {"a"}, {"b"});
  SpaceOptions o;
  o.policy = "function decide(req) return true end";
  o.access.readers = {"@g"};
  const std::vector<Request> requests = one_of_each(o, t, e);
  for (const Request& r : requests) {
    write("ts_request/" + std::string(op_name(r)), encode_request(r));
  }
}

}  // namespace
}  // namespace bastion::ts::testing
