// The layer stack: admins, space access lists, policies installed and enforced, and the read-only
// path deciding like the ordered one.
#include <gtest/gtest.h>

#include "stack_support.h"

namespace bastion::policy {
namespace {

const ts::Template kAnyOne{kAny};

ts::TupleSpec plain(Tuple t) { return leased(std::move(t), 0); }

TEST(AccessLayer, AdministrationIsForAdmins) {
  Stack stack;
  EXPECT_EQ(stack.message("alice", ts::SpaceCreate{"s", {}}),
            "space administration is reserved to admins; 'alice' is not an admin of this cluster");
  ASSERT_EQ(stack.code("admin", ts::SpaceCreate{"s", {}}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("alice", ts::SpaceSetPolicy{"s", "function decide() return true end"}),
            ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::SpaceSetAccess{"s", ts::kAccessReaders, {}}),
            ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::SpaceDelete{"s"}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("alice", ts::SpaceList{}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("alice", ts::SpaceShow{"s"}), ErrorCode::kOk);
}

TEST(AccessLayer, SpaceListsGiveInsertReadAndRemoveRights) {
  Stack stack(Principals::Groups{{"ops", {"olga", "oscar"}}});
  ts::SpaceOptions o;
  o.access.inserters = {"@ops", "ivan"};
  o.access.readers = {"@ops", "rita"};
  o.access.removers = {"olga"};
  ASSERT_EQ(stack.code("admin", ts::SpaceCreate{"s", o}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("ivan", ts::Out{"s", plain({Value(1)})}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("oscar", ts::Out{"s", plain({Value(2)})}), ErrorCode::kOk);
  EXPECT_EQ(stack.message("rita", ts::Out{"s", plain({Value(3)})}),
            "client 'rita' may not insert into space 's' (its inserters: @ops, ivan)");
  EXPECT_EQ(stack.code("rita", ts::Rdp{"s", kAnyOne}), ErrorCode::kOk);
  EXPECT_EQ(stack.code("ivan", ts::Rdp{"s", kAnyOne}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("ivan", ts::RdAll{"s", kAnyOne, 0}), ErrorCode::kDenied);
  EXPECT_TRUE(std::holds_alternative<ts::Error>(stack.read_only("ivan", ts::Rdp{"s", kAnyOne})));
  // Removing needs read and remove.
  EXPECT_EQ(stack.code("oscar", ts::Inp{"s", kAnyOne}), ErrorCode::kDenied);
  EXPECT_EQ(stack.message("rita", ts::Inp{"s", kAnyOne}),
            "client 'rita' may not remove from space 's' (its removers: olga)");
  EXPECT_EQ(stack.code("olga", ts::Inp{"s", kAnyOne}), ErrorCode::kOk);
  // cas reads and inserts: rita cannot insert; replace also removes: oscar cannot remove.
  EXPECT_EQ(stack.code("rita", ts::Cas{"s", {Pattern(Value(9))}, plain({Value(9)})}),
            ErrorCode::kDenied);
  EXPECT_EQ(stack.code("oscar", ts::Replace{"s", kAnyOne, plain({Value(9)})}), ErrorCode::kDenied);
  EXPECT_EQ(stack.code("oscar", ts::Renew{"s", kAnyOne, 10}), ErrorCode::kDenied);
  // A missing space is the engine's answer, whatever the lists.
  EXPECT_EQ(stack.code("nobody", ts::Out{"none", plain({Value(1)})}), ErrorCode::kNoSuchSpace);
}

TEST(AccessLayer, ListsMayNameOnlyGroupsTheClusterHas) {
  Stack stack(Principals::Groups{{"ops", {"olga"}}});
  ts::SpaceOptions o;
  o.access.readers = {"@opz"};
  EXPECT_EQ(stack.message("admin", ts::SpaceCreate{"s", o}),
            "access list entry '@opz' names no group of the cluster file ([groups], or @admins)");
  o.access.readers = {"@ops", "@admins"};
  ASSERT_EQ(stack.code("admin", ts::SpaceCreate{"s", o}), ErrorCode::kOk);
  ts::SpaceAccess a;
  a.removers = {"@nobody"};
  EXPECT_EQ(stack.code("admin", ts::SpaceSetAccess{"s", ts::kAccessRemovers, a}),
            ErrorCode::kInvalidArgument);
  a.removers = {"@admins"};
  EXPECT_EQ(stack.code("admin", ts::SpaceSetAccess{"s", ts::kAccessRemovers, a}), ErrorCode::kOk);
}

TEST(PolicyLayer, AScriptThatDoesNotCompileChangesNothing) {
  Stack stack;
  ts::SpaceOptions o;
  o.policy = "function decide(req) return true";
  EXPECT_EQ(stack.message("admin", ts::SpaceCreate{"s", o}),
            "the policy does not compile: policy:1: 'end' expected near <eof>");
  EXPECT_EQ(stack.engine.space_count(), 0u);
  stack.create("s", "function decide(req) return req.op == 'rdp' end");
  EXPECT_EQ(stack.code("admin", ts::SpaceSetPolicy{"s", "decide = 1"}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(stack.engine.space_options("s")->policy,
            "function decide(req) return req.op == 'rdp' end");
  EXPECT_EQ(stack.code("alice", ts::Rdp{"s", kAnyOne}), ErrorCode::kNotFound);  // allowed
  EXPECT_EQ(stack.code("alice", ts::Out{"s", plain({Value(1)})}), ErrorCode::kDenied);
}

TEST(PolicyLayer, SetPolicyTakesEffectForTheNextOperation) {
  Stack stack;
  stack.create("s", "function decide(req) return false, 'closed' end");
  EXPECT_EQ(stack.message("alice", ts::Out{"s", plain({Value(1)})}),
            "denied by the policy of space 's': closed");
  ASSERT_EQ(stack.code("admin", ts::SpaceSetPolicy{"s", "function decide() return true end"}),
            ErrorCode::kOk);
  EXPECT_EQ(stack.code("alice", ts::Out{"s", plain({Value(1)})}), ErrorCode::kOk);
  ASSERT_EQ(stack.code("admin", ts::SpaceSetPolicy{"s", ""}), ErrorCode::kOk);  // no policy
  EXPECT_EQ(stack.code("alice", ts::Out{"s", plain({Value(2)})}), ErrorCode::kOk);
  EXPECT_EQ(stack.policy.counters().allowed, 1u);
  EXPECT_EQ(stack.policy.counters().denied, 1u);
}

TEST(PolicyLayer, FailuresDenyWithWhatWentWrong) {
  Stack stack({}, Limits{10'000, 1 << 20});
  stack.create("s", R"(
    function decide(req)
      if req.op == "rdp" then while true do end end
      if req.op == "inp" then return nil end
      return error("boom")
    end)");
  EXPECT_EQ(stack.message("alice", ts::Rdp{"s", kAnyOne}),
            "the policy of space 's' failed, so it denies: exceeded its budget of 10000 "
            "instructions");
  EXPECT_EQ(stack.message("alice", ts::Inp{"s", kAnyOne}),
            "the policy of space 's' failed, so it denies: decide returned a nil, not a decision "
            "(true to allow, or false and a reason to deny)");
  EXPECT_EQ(stack.message("alice", ts::Out{"s", plain({Value(1)})}),
            "the policy of space 's' failed, so it denies: policy:5: boom");
  EXPECT_EQ(stack.policy.counters().failed, 3u);
  // Administration and cancel are not the policy's business.
  EXPECT_EQ(stack.code("alice", ts::Cancel{99}), ErrorCode::kNotFound);
  EXPECT_EQ(stack.code("admin", ts::SpaceDelete{"s"}), ErrorCode::kOk);
}

TEST(PolicyLayer, TheReadOnlyPathDecidesLikeTheOrderedOne) {
  Stack stack;
  stack.create("s", R"(
    function decide(req)
      if req.template[1] == "secret" then return false, "no secrets for " .. req.invoker end
      return true
    end)");
  ASSERT_EQ(stack.code("admin", ts::Out{"s", plain({Value("secret")})}), ErrorCode::kDenied);
  const ts::Request secret = ts::Rdp{"s", {Pattern(Value("secret"))}};
  const ts::Request open = ts::RdAll{"s", kAnyOne, 0};
  EXPECT_EQ(stack.read_only("alice", secret), stack.run("alice", secret).reply);
  EXPECT_EQ(stack.read_only("alice", open), stack.run("alice", open).reply);
}

TEST(PolicyLayer, AWakeUpIsNotDecidedAgain) {
  // The wait is decided when it is executed; the tuple that wakes it up reaches it even though
  // the policy has changed in between.
  Stack stack;
  stack.create("s", "function decide(req) return true end");
  const ts::Outcome waiting = stack.run("alice", ts::Rd{"s", kAnyOne, 0});
  ASSERT_TRUE(std::holds_alternative<ts::Pending>(waiting.reply));
  ASSERT_EQ(stack.code("admin",
                       ts::SpaceSetPolicy{"s", "function decide(req) return req.op == 'out' end"}),
            ErrorCode::kOk);
  const ts::Outcome inserted = stack.run("bob", ts::Out{"s", plain({Value(7)})});
  ASSERT_EQ(inserted.completions.size(), 1u);
  EXPECT_EQ(inserted.completions[0].key.client, "alice");
  EXPECT_TRUE(std::holds_alternative<ts::Found>(inserted.completions[0].reply));
}

TEST(PolicyLayer, DecisionsDoNotDependOnTheCache) {
  // A cache of one script, two spaces: every other evaluation compiles again.
  ts::Engine engine;
  Principals principals({"admin"}, {});
  ts::EngineLayer bottom(engine);
  PolicyLayer policy(engine, principals, Limits{}, bottom, 1);
  const std::string text = R"(
    function decide(req)
      local n = count({ANY})
      return n < 3, "space " .. req.space .. " is full at " .. n
    end)";
  std::uint64_t request = 0;
  auto run = [&](const std::string& who, const ts::Request& r) {
    return policy.execute(ts::Context{who, 1, ++request, 1000}, r);
  };
  for (const char* space : {"a", "b"}) {
    ts::SpaceOptions o;
    o.policy = text;
    ASSERT_EQ(ts::code_of(run("admin", ts::SpaceCreate{space, o}).reply), ErrorCode::kOk);
  }
  for (int i = 0; i < 4; ++i) {
    for (const char* space : {"a", "b"}) {
      const ts::ErrorCode code = ts::code_of(run("alice", ts::Out{space, plain({Value(i)})}).reply);
      EXPECT_EQ(code, i < 3 ? ErrorCode::kOk : ErrorCode::kDenied) << space << " " << i;
    }
  }
  EXPECT_GE(policy.counters().compiled, 8u);
}

}  // namespace
}  // namespace bastion::policy
