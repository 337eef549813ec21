// The example policies of examples/policies/, rule by rule: each rule allowed and denied.
#include <gtest/gtest.h>

#include "stack_support.h"

namespace bastion::policy {
namespace {

constexpr std::uint64_t kLease = 5000;

Tuple replica(const std::string& id, const std::string& state) {
  return Tuple{Value("REPLICA"), Value(id), Value(state)};
}
ts::Template replica_tmpl(const std::string& id, const std::string& state) {
  return ts::exact(replica(id, state));
}

class RedPolicy : public ::testing::Test {
 protected:
  void SetUp() override { stack.create("red", source_file("examples/policies/red.lua")); }

  ErrorCode out(const std::string& who, const std::string& id, const std::string& state,
                std::uint64_t lease = kLease) {
    return stack.code(who, ts::Out{"red", leased(replica(id, state), lease)});
  }
  ErrorCode inp(const std::string& who, const ts::Template& t) {
    return stack.code(who, ts::Inp{"red", t});
  }
  ErrorCode cas(const std::string& who, const ts::Template& t, const Tuple& tuple,
                std::uint64_t lease = kLease) {
    const ts::Outcome o = stack.run(who, ts::Cas{"red", t, leased(tuple, lease)});
    if (const auto* r = std::get_if<ts::CasResult>(&o.reply)) {
      return r->inserted ? ErrorCode::kOk : ErrorCode::kSpaceExists;
    }
    return ts::code_of(o.reply);
  }
  ts::Template writer_any() { return {Pattern(Value("REPLICA")), kAny, Pattern(Value("WRITER"))}; }

  Stack stack;
};

TEST_F(RedPolicy, OnlyCAnnouncesC) {
  EXPECT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  EXPECT_EQ(out("mallory", "bob", "STOPPED"), ErrorCode::kDenied);
  EXPECT_EQ(stack.message("mallory", ts::Out{"red", leased(replica("bob", "STOPPED"), kLease)}),
            "denied by the policy of space 'red': only bob may announce bob");
}

TEST_F(RedPolicy, EveryTupleNeedsABoundedLease) {
  EXPECT_EQ(out("alice", "alice", "STOPPED", 0), ErrorCode::kDenied);
  EXPECT_EQ(out("alice", "alice", "STOPPED", 600'000), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Out{"red", leased({Value("other")}, kLease)}),
            ErrorCode::kDenied);
}

TEST_F(RedPolicy, ACopierTupleNeedsAStoppedOneAndTheWriterOrNoWriter) {
  // No STOPPED tuple: nobody may make alice a copier.
  EXPECT_EQ(out("alice", "alice", "COPIER"), ErrorCode::kDenied);
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  // No writer: alice may promote herself (onStart, the writer failed); bob may not promote her.
  EXPECT_EQ(out("bob", "alice", "COPIER"), ErrorCode::kDenied);
  EXPECT_EQ(out("alice", "alice", "COPIER"), ErrorCode::kOk);
}

TEST_F(RedPolicy, TheWriterAdmitsNewReplicasAndNobodyElseWhileItLives) {
  // alice becomes the writer along the allowed path.
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  ASSERT_EQ(out("alice", "alice", "COPIER"), ErrorCode::kOk);
  ASSERT_EQ(inp("alice", replica_tmpl("alice", "STOPPED")), ErrorCode::kOk);
  ASSERT_EQ(cas("alice", writer_any(), replica("alice", "WRITER")), ErrorCode::kOk);
  ASSERT_EQ(inp("alice", replica_tmpl("alice", "COPIER")), ErrorCode::kOk);
  // bob boots: with a writer alive he may not promote himself; the writer admits him.
  ASSERT_EQ(out("bob", "bob", "STOPPED"), ErrorCode::kOk);
  EXPECT_EQ(out("bob", "bob", "COPIER"), ErrorCode::kDenied);
  EXPECT_EQ(out("carol", "bob", "COPIER"), ErrorCode::kDenied);
  EXPECT_EQ(out("alice", "bob", "COPIER"), ErrorCode::kOk);
  // bob's STOPPED tuple goes, by the writer (dealWithStopped) or by bob, not by others.
  EXPECT_EQ(inp("carol", replica_tmpl("bob", "STOPPED")), ErrorCode::kDenied);
  EXPECT_EQ(inp("alice", replica_tmpl("bob", "STOPPED")), ErrorCode::kOk);
  // bob cannot take over while alice's WRITER tuple is valid: cas finds it.
  EXPECT_EQ(cas("bob", writer_any(), replica("bob", "WRITER")), ErrorCode::kSpaceExists);
  // bob keeps renewing his COPIER tuple; alice stops renewing hers, and when her lease runs out
  // bob wins the election.
  stack.now_ms += kLease / 2;
  const ts::Template bobs{Pattern(Value("REPLICA")), Pattern(Value("bob")), kAny};
  ASSERT_EQ(stack.code("bob", ts::Renew{"red", bobs, kLease}), ErrorCode::kOk);
  stack.now_ms += kLease / 2;
  EXPECT_EQ(cas("bob", writer_any(), replica("bob", "WRITER")), ErrorCode::kOk);
}

TEST_F(RedPolicy, TheOldTupleGoesOnlyAfterTheNewOneExists) {
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  EXPECT_EQ(inp("alice", replica_tmpl("alice", "STOPPED")), ErrorCode::kDenied);  // no COPIER yet
  ASSERT_EQ(out("alice", "alice", "COPIER"), ErrorCode::kOk);
  EXPECT_EQ(inp("alice", replica_tmpl("alice", "COPIER")), ErrorCode::kDenied);  // no WRITER yet
  ASSERT_EQ(cas("alice", writer_any(), replica("alice", "WRITER")), ErrorCode::kOk);
  EXPECT_EQ(inp("bob", replica_tmpl("alice", "COPIER")), ErrorCode::kDenied);  // not bob's
  EXPECT_EQ(inp("alice", replica_tmpl("alice", "COPIER")), ErrorCode::kOk);
  // A WRITER tuple is never removed, and removals name one exact tuple.
  EXPECT_EQ(inp("alice", replica_tmpl("alice", "WRITER")), ErrorCode::kDenied);
  EXPECT_EQ(inp("alice", ts::Template{Pattern(Value("REPLICA")), kAny, kAny}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::In{"red", replica_tmpl("alice", "STOPPED"), 100}),
            ErrorCode::kDenied);
}

TEST_F(RedPolicy, CasElectsOnlyACopierAsItself) {
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  // Not yet a copier.
  EXPECT_EQ(cas("alice", writer_any(), replica("alice", "WRITER")), ErrorCode::kDenied);
  ASSERT_EQ(out("alice", "alice", "COPIER"), ErrorCode::kOk);
  // Only as itself, only with the WRITER template, only with a lease.
  EXPECT_EQ(cas("bob", writer_any(), replica("alice", "WRITER")), ErrorCode::kDenied);
  EXPECT_EQ(cas("alice", replica_tmpl("alice", "WRITER"), replica("alice", "WRITER")),
            ErrorCode::kDenied);
  EXPECT_EQ(cas("alice", writer_any(), replica("alice", "WRITER"), 0), ErrorCode::kDenied);
  EXPECT_EQ(out("alice", "alice", "WRITER"), ErrorCode::kDenied);  // not by out
  EXPECT_EQ(cas("alice", writer_any(), replica("alice", "WRITER")), ErrorCode::kOk);
}

TEST_F(RedPolicy, OnlyCRenewsItsTuples) {
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  const ts::Template mine{Pattern(Value("REPLICA")), Pattern(Value("alice")), kAny};
  EXPECT_EQ(stack.code("alice", ts::Renew{"red", mine, kLease}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("bob", ts::Renew{"red", mine, kLease}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Renew{"red", writer_any(), kLease}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Renew{"red", mine, 600'000}), ErrorCode::kDenied);
}

TEST_F(RedPolicy, EveryoneReadsAndNothingElseIsAllowed) {
  ASSERT_EQ(out("alice", "alice", "STOPPED"), ErrorCode::kOk);
  const ts::Template all{Pattern(Value("REPLICA")), kAny, kAny};
  EXPECT_EQ(stack.code("zed", ts::Rdp{"red", all}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("zed", ts::RdAll{"red", all, 0}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("zed", ts::Rd{"red", all, 10}), ErrorCode::kOk);
  EXPECT_EQ(std::get<ts::FoundAll>(stack.read_only("zed", ts::RdAll{"red", all, 0})).tuples.size(),
            1u);
  EXPECT_EQ(stack.code("alice", ts::InAll{"red", all, 0}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Replace{"red", replica_tmpl("alice", "STOPPED"),
                                            leased(replica("alice", "COPIER"), kLease)}),
            ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::OutAll{"red", {leased(replica("alice", "STOPPED"), 10)}}),
            ErrorCode::kDenied);
  EXPECT_EQ(stack.message("alice", ts::InAll{"red", all, 0}),
            "denied by the policy of space 'red': inAll is not allowed in this space");
}

// ---- the other examples ------------------------------------------------------------------------

Tuple entry(std::int64_t n, const std::string& author) {
  return Tuple{Value("entry"), Value(n), Value(author), Value("text")};
}

TEST(LogPolicy, AppendsAreNumberedWithoutGapsAndNothingIsRemoved) {
  Stack stack;
  stack.create("log", source_file("examples/policies/log.lua"));
  auto append = [&](const std::string& who, std::int64_t n, const std::string& author) {
    return stack.code(who, ts::Out{"log", leased(entry(n, author), 0)});
  };
  EXPECT_EQ(append("alice", 2, "alice"), ErrorCode::kDenied);  // a gap
  EXPECT_EQ(append("alice", 1, "alice"), ErrorCode::kOk);
  EXPECT_EQ(append("bob", 1, "bob"), ErrorCode::kDenied);    // taken: bob retries with 2
  EXPECT_EQ(append("bob", 2, "alice"), ErrorCode::kDenied);  // not bob's name
  EXPECT_EQ(append("bob", 2, "bob"), ErrorCode::kOk);
  EXPECT_EQ(stack.code("bob", ts::Out{"log", leased(entry(3, "bob"), 100)}), ErrorCode::kDenied);
  const ts::Template any{Pattern(Value("entry")), kAny, kAny, kAny};
  EXPECT_EQ(stack.code("alice", ts::Inp{"log", any}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Replace{"log", any, leased(entry(1, "alice"), 0)}),
            ErrorCode::kDenied);
  const ts::Outcome all = stack.run("carol", ts::RdAll{"log", any, 0});
  EXPECT_EQ(std::get<ts::FoundAll>(all.reply).tuples.size(), 2u);
}

TEST(PrivatePolicy, EachClientSeesAndTouchesOnlyItsOwnTuples) {
  Stack stack(Principals::Groups{{"auditors", {"audrey"}}});
  stack.create("home", source_file("examples/policies/private.lua"));
  const Tuple alices{Value("alice"), Value("notes"), Value(std::int64_t{1})};
  EXPECT_EQ(stack.code("alice", ts::Out{"home", leased(alices, 0)}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("bob", ts::Out{"home", leased(alices, 0)}), ErrorCode::kDenied);
  const ts::Template hers{Pattern(Value("alice")), kAny, kAny};
  const ts::Template anyone{kAny, kAny, kAny};
  EXPECT_EQ(stack.code("alice", ts::Rdp{"home", hers}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("bob", ts::Rdp{"home", hers}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("bob", ts::RdAll{"home", anyone, 0}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("audrey", ts::RdAll{"home", anyone, 0}), ErrorCode::kOk);  // an auditor
  EXPECT_EQ(stack.code("admin", ts::Rdp{"home", anyone}), ErrorCode::kOk);        // an admin
  EXPECT_EQ(stack.code("audrey", ts::Inp{"home", hers}), ErrorCode::kDenied);     // reads only
  EXPECT_EQ(stack.code("bob", ts::OutAll{"home", {leased(alices, 0)}}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Inp{"home", hers}), ErrorCode::kOk);
}

TEST(LockPolicy, OnlyTheHolderRenewsAndReleases) {
  Stack stack;
  stack.create("locks", source_file("examples/policies/lock.lua"));
  const ts::Template free_db{Pattern(Value("LOCK")), Pattern(Value("db")), kAny};
  auto take = [&](const std::string& who, std::uint64_t lease) {
    const ts::Outcome o = stack.run(
        who, ts::Cas{"locks", free_db, leased({Value("LOCK"), Value("db"), Value(who)}, lease)});
    if (const auto* r = std::get_if<ts::CasResult>(&o.reply)) return r->inserted ? 1 : 0;
    return -1;  // denied or failed
  };
  const ts::Template alices{Pattern(Value("LOCK")), Pattern(Value("db")), Pattern(Value("alice"))};
  EXPECT_EQ(take("alice", 0), -1);  // no lease
  EXPECT_EQ(take("alice", 10'000), 1);
  EXPECT_EQ(take("bob", 10'000), 0);  // held
  EXPECT_EQ(stack.code("bob", ts::Renew{"locks", alices, 10'000}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("bob", ts::Inp{"locks", alices}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("bob", ts::Inp{"locks", free_db}), ErrorCode::kDenied);
  EXPECT_EQ(
      stack.code("bob", ts::Out{"locks", leased({Value("LOCK"), Value("db"), Value("bob")}, 10)}),
      ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::Renew{"locks", alices, 10'000}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("alice", ts::Inp{"locks", alices}), ErrorCode::kOk);
  EXPECT_EQ(take("bob", 10'000), 1);
}

}  // namespace
}  // namespace bastion::policy
