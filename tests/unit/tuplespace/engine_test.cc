// Engine unit tests: spaces, single and bulk operations, cas/replace, access lists, limits.
#include <limits>

#include "tests/unit/tuplespace/engine_fixture.h"

namespace bastion::ts::testing {
namespace {

// ---- spaces ---------------------------------------------------------------------------------

TEST_F(EngineTest, SpaceLifecycle) {
  SpaceOptions o;
  o.policy = "function decide() return true end";
  o.access.readers = {"@ops", "alice"};
  create("b", o);
  create("a");
  EXPECT_EQ(code(run(SpaceCreate{"a", {}})), ErrorCode::kSpaceExists);
  out("a", tup({1}));

  const auto list = run(SpaceList{});
  const auto& spaces = std::get<Spaces>(list.reply).spaces;
  ASSERT_EQ(spaces.size(), 2u);
  EXPECT_EQ(spaces[0].name, "a");
  EXPECT_EQ(spaces[0].tuples, 1u);
  EXPECT_EQ(spaces[0].policy_bytes, 0u);
  EXPECT_EQ(spaces[1].name, "b");
  SpaceOptions listed = o;
  listed.policy.clear();  // list leaves scripts out, show gives them
  EXPECT_EQ(spaces[1].options, listed);
  EXPECT_EQ(spaces[1].policy_bytes, o.policy.size());
  EXPECT_EQ(spaces[1].tuples, 0u);
  const auto shown = run(SpaceShow{"b"});
  ASSERT_EQ(std::get<Spaces>(shown.reply).spaces.size(), 1u);
  EXPECT_EQ(std::get<Spaces>(shown.reply).spaces[0].options, o);
  EXPECT_EQ(code(run(SpaceShow{"nope"})), ErrorCode::kNoSuchSpace);

  EXPECT_EQ(code(run(SpaceDelete{"a"})), ErrorCode::kOk);
  EXPECT_EQ(code(run(SpaceDelete{"a"})), ErrorCode::kNoSuchSpace);
  EXPECT_EQ(engine.space_count(), 1u);
  // A recreated space starts empty.
  create("a");
  EXPECT_EQ(code(run(Rdp{"a", tmpl(kAny)})), ErrorCode::kNotFound);
}

// The engine stores confidential spaces like any other (the confidentiality layer above it checks
// what goes in); it only checks that their options are whole.
TEST_F(EngineTest, ConfidentialSpacesNeedAProtectionVectorAndAFingerprintKey) {
  SpaceOptions o;
  o.confidential = true;
  const auto r = run(SpaceCreate{"secret", o});
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  EXPECT_NE(std::get<Error>(r.reply).message.find("protection"), std::string::npos);
  o.protection = {kProtectionPublic, kProtectionPrivate};
  EXPECT_EQ(code(run(SpaceCreate{"secret", o})), ErrorCode::kInvalidArgument);  // no key
  o.fingerprint_key.assign(kFingerprintKeyBytes, 'k');
  o.protection.push_back(3);
  EXPECT_EQ(code(run(SpaceCreate{"secret", o})), ErrorCode::kInvalidArgument);  // no such kind
  o.protection.pop_back();
  EXPECT_EQ(code(run(SpaceCreate{"secret", o})), ErrorCode::kOk);
  EXPECT_EQ(engine.space_options("secret")->protection, o.protection);
  SpaceOptions plain;
  plain.protection = {kProtectionPrivate};
  EXPECT_EQ(code(run(SpaceCreate{"plain", plain})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.space_count(), 1u);
}

// A repair (its evidence checked by the confidentiality layer above) removes the tuple and
// denies its writer the space from then on, ordered and read-only alike; the blacklist survives a
// snapshot.
TEST_F(EngineTest, ARepairRemovesTheTupleAndShutsItsWriterOut) {
  SpaceOptions o;
  o.confidential = true;
  o.protection = {kProtectionPublic};
  o.fingerprint_key.assign(kFingerprintKeyBytes, 'k');
  create("secret", o);
  create("plain");
  EXPECT_EQ(code(run("mallory", Out{"secret", spec(tup({"bad"}))})), ErrorCode::kOk);
  EXPECT_EQ(code(run("mallory", Out{"secret", spec(tup({"other"}))})), ErrorCode::kOk);
  EXPECT_EQ(code(run("bob", Repair{"plain", tup({"bad"}), "mallory", {}})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run("bob", Repair{"secret", tup({"bad"}), "", {}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run("bob", Repair{"secret", tup({"bad"}), "mallory", {}})), ErrorCode::kOk);
  EXPECT_TRUE(engine.blacklisted("secret", "mallory"));
  EXPECT_EQ(code(run("bob", Rdp{"secret", tmpl("bad")})), ErrorCode::kNotFound);
  EXPECT_EQ(code(run("bob", Rdp{"secret", tmpl("other")})), ErrorCode::kOk);
  const auto denied = run("mallory", Rdp{"secret", tmpl(kAny)});
  EXPECT_EQ(code(denied), ErrorCode::kDenied);
  EXPECT_NE(std::get<Error>(denied.reply).message.find("repair"), std::string::npos);
  EXPECT_EQ(
      std::get<Error>(engine.execute_read_only(last_ctx, Rdp{"secret", tmpl(kAny)}).reply).code,
      ErrorCode::kDenied);
  EXPECT_EQ(code(run("mallory", Out{"plain", spec(tup({1}))})), ErrorCode::kOk);  // elsewhere
  auto restored = Engine::restore(engine.snapshot());
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->blacklisted("secret", "mallory"));
  EXPECT_EQ(restored->snapshot(), engine.snapshot());
}

TEST_F(EngineTest, PolicyAndAccessListsChangeInPlace) {
  create("s");
  out("s", tup({1}));
  EXPECT_EQ(code(run(SpaceSetPolicy{"s", "function decide() return true end"})), ErrorCode::kOk);
  EXPECT_EQ(engine.space_options("s")->policy, "function decide() return true end");
  EXPECT_EQ(code(run(SpaceSetPolicy{"s", std::string(kPolicyBytesMax + 1, 'x')})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(SpaceSetPolicy{"s", ""})), ErrorCode::kOk);
  EXPECT_TRUE(engine.space_options("s")->policy.empty());
  EXPECT_EQ(code(run(SpaceSetPolicy{"t", ""})), ErrorCode::kNoSuchSpace);

  // Lists arrive in any order and are stored sorted, without duplicates.
  SpaceAccess a;
  a.inserters = {"bob", "@ops", "bob"};
  a.removers = {"carol"};
  EXPECT_EQ(code(run(SpaceSetAccess{"s", kAccessInserters | kAccessRemovers, a})), ErrorCode::kOk);
  EXPECT_EQ(engine.space_options("s")->access.inserters, (std::vector<std::string>{"@ops", "bob"}));
  EXPECT_EQ(engine.space_options("s")->access.removers, std::vector<std::string>{"carol"});
  // Only the named lists change.
  SpaceAccess readers;
  readers.readers = {"dave"};
  EXPECT_EQ(code(run(SpaceSetAccess{"s", kAccessReaders, readers})), ErrorCode::kOk);
  EXPECT_EQ(engine.space_options("s")->access.inserters, (std::vector<std::string>{"@ops", "bob"}));
  EXPECT_EQ(engine.space_options("s")->access.readers, std::vector<std::string>{"dave"});
  // Malformed updates change nothing.
  EXPECT_EQ(code(run(SpaceSetAccess{"s", 0, {}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(SpaceSetAccess{"s", 8, {}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(SpaceSetAccess{"s", kAccessReaders, a})), ErrorCode::kInvalidArgument);
  SpaceAccess long_list;
  for (std::size_t i = 0; i <= kAclEntriesMax; ++i)
    long_list.readers.push_back("r" + std::to_string(i));
  EXPECT_EQ(code(run(SpaceSetAccess{"s", kAccessReaders, long_list})), ErrorCode::kInvalidArgument);
  SpaceAccess empty_name;
  empty_name.readers = {""};
  EXPECT_EQ(code(run(SpaceSetAccess{"s", kAccessReaders, empty_name})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.space_options("s")->access.readers, std::vector<std::string>{"dave"});
  EXPECT_EQ(engine.tuple_count("s"), 1u);
}

TEST_F(EngineTest, ProbeSeesVisibleTuplesWhateverTheirAccessLists) {
  create("s");
  run(Out{"s", spec(tup({"k", 1}), 0, {"nobody"})});
  out("s", tup({"k", 2}), 50);
  out("s", tup({"k", 3}));
  const Template k = tmpl("k", kAny);
  auto p = engine.probe("s", k, now_ms, 100, 100, true);
  EXPECT_EQ(p.matches, 3u);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.first, tup({"k", 1}));
  p = engine.probe("s", k, now_ms + 50, 100, 100, false);  // the leased tuple has expired
  EXPECT_EQ(p.matches, 2u);
  EXPECT_FALSE(p.first);
  p = engine.probe("s", k, now_ms, 1, 100, false);  // stops at the first match
  EXPECT_EQ(p.matches, 1u);
  EXPECT_EQ(p.examined, 1u);
  p = engine.probe("s", k, now_ms, 100, 2, false);  // out of examinations
  EXPECT_FALSE(p.complete);
  EXPECT_EQ(p.examined, 2u);
  EXPECT_EQ(engine.probe("missing", k, now_ms, 100, 100, true).matches, 0u);
}

TEST_F(EngineTest, SpaceNamesAndOptionsAreValidated) {
  EXPECT_EQ(code(run(SpaceCreate{"", {}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(SpaceCreate{std::string(256, 'x'), {}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(SpaceCreate{std::string(255, 'x'), {}})), ErrorCode::kOk);
  auto bad = [&](auto mutate) {
    SpaceOptions o;
    mutate(o);
    return code(run(SpaceCreate{"s", o}));
  };
  EXPECT_EQ(bad([](SpaceOptions& o) { o.tuple_bytes_max = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.tuple_bytes_max = kTupleBytesCap + 1; }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.fields_max = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.fields_max = kFieldsCap + 1; }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.tuples_max = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.tuples_max = kTuplesCap + 1; }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.tuples_per_client_max = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.waiters_per_client_max = kWaitersPerClientCap + 1; }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](SpaceOptions& o) { o.policy.assign(kPolicyBytesMax + 1, 'x'); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.space_count(), 1u);
}

TEST_F(EngineTest, EveryOperationOnAMissingSpaceFailsAtOnce) {
  const Template t = tmpl(kAny);
  const std::vector<Request> requests = {Out{"nope", spec(tup({1}))},
                                         OutAll{"nope", {spec(tup({1}))}},
                                         Rdp{"nope", t},
                                         Inp{"nope", t},
                                         Rd{"nope", t, 0},
                                         In{"nope", t, 0},
                                         Cas{"nope", t, spec(tup({1}))},
                                         Replace{"nope", t, spec(tup({1}))},
                                         Renew{"nope", t, 10},
                                         RdAll{"nope", t, 0},
                                         InAll{"nope", t, 0},
                                         SpaceDelete{"nope"}};
  for (const Request& r : requests) {
    const Outcome o = run(r);
    EXPECT_EQ(code(o), ErrorCode::kNoSuchSpace) << op_name(r);
    EXPECT_NE(message(o.reply).find("nope"), std::string::npos) << op_name(r);
  }
  EXPECT_EQ(engine.next_deadline(), std::nullopt);
}

// ---- out, rdp, inp ----------------------------------------------------------------------------

TEST_F(EngineTest, OldestMatchWinsAndInpRemoves) {
  create("s");
  out("s", tup({"job", 1}));
  out("s", tup({"job", 2}));
  out("s", tup({"other", 3}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl("job", kAny)}).reply), tup({"job", 1}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl("job", kAny)}).reply), tup({"job", 1}));  // rdp keeps it
  EXPECT_EQ(found(run(Inp{"s", tmpl("job", kAny)}).reply), tup({"job", 1}));
  EXPECT_EQ(found(run(Inp{"s", tmpl("job", kAny)}).reply), tup({"job", 2}));
  EXPECT_EQ(code(run(Inp{"s", tmpl("job", kAny)})), ErrorCode::kNotFound);
  EXPECT_EQ(found(run(Rdp{"s", tmpl(kAny, kAny)}).reply), tup({"other", 3}));
  EXPECT_EQ(engine.tuple_count("s"), 1u);
}

TEST_F(EngineTest, MatchingIsTypedAndArityExact) {
  create("s");
  out("s", tup({1, "a"}));
  out("s", tup({1.0, "a"}));
  out("s", tup({1, "a", true}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl(Pattern::typed(Type::kFloat), kAny)}).reply), tup({1.0, "a"}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl(1.0, "a")}).reply), tup({1.0, "a"}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl(kAny, kAny, kAny)}).reply), tup({1, "a", true}));
  EXPECT_EQ(code(run(Rdp{"s", tmpl(2, kAny)})), ErrorCode::kNotFound);
  EXPECT_EQ(code(run(Rdp{"s", tmpl(kAny, kAny, kAny, kAny)})), ErrorCode::kNotFound);
  // -0.0 and 0.0 are the same value.
  out("s", tup({-0.0}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl(0.0)}).reply), tup({0.0}));
}

TEST_F(EngineTest, InvalidTuplesAndTemplates) {
  create("s");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(code(run(Out{"s", spec(Tuple{})})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Out{"s", spec(tup({nan}))})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1, inf}))})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Rdp{"s", Template{}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Inp{"s", tmpl(Value(nan))})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1}), 0, {""})})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1}), 0, {}, {std::string(256, 'r')})})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1}), std::numeric_limits<std::uint64_t>::max())})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(run(Rd{"s", tmpl(1), std::numeric_limits<std::uint64_t>::max()})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.tuple_count("s"), 0u);
  EXPECT_EQ(engine.waiter_count("s"), 0u);
}

// ---- limits -------------------------------------------------------------------------------------

TEST_F(EngineTest, SizeLimitsAnswerTooLargeWithAMessage) {
  SpaceOptions o;
  o.tuple_bytes_max = 100;
  o.fields_max = 3;
  create("s", o);
  const Outcome big = run(Out{"s", spec(tup({std::string(120, 'x')}))});
  EXPECT_EQ(code(big), ErrorCode::kTooLarge);
  EXPECT_EQ(message(big.reply), "tuple of 123 bytes exceeds the space limit of 100");
  // Exactly at the limit is fine: 1 (arity) + 1 (tag) + 1 (length) + 97.
  EXPECT_EQ(code(run(Out{"s", spec(tup({std::string(97, 'x')}))})), ErrorCode::kOk);
  EXPECT_EQ(code(run(Out{"s", spec(tup({std::string(98, 'x')}))})), ErrorCode::kTooLarge);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1, 2, 3, 4}))})), ErrorCode::kTooLarge);
  EXPECT_EQ(code(run(Rdp{"s", tmpl(kAny, kAny, kAny, kAny)})), ErrorCode::kTooLarge);
  EXPECT_EQ(code(run(Out{"s", spec(tup({1, 2, 3}))})), ErrorCode::kOk);
}

TEST_F(EngineTest, TupleQuotasPerSpaceAndPerClient) {
  SpaceOptions o;
  o.tuples_max = 3;
  o.tuples_per_client_max = 2;
  create("s", o);
  out("s", tup({1}), 0, "alice");
  out("s", tup({2}), 0, "alice");
  const Outcome third = run("alice", Out{"s", spec(tup({3}))});
  EXPECT_EQ(code(third), ErrorCode::kQuotaExceeded);
  EXPECT_NE(message(third.reply).find("per-client limit of 2"), std::string::npos);
  out("s", tup({3}), 0, "bob");
  const Outcome full = run("carol", Out{"s", spec(tup({4}))});
  EXPECT_EQ(code(full), ErrorCode::kQuotaExceeded);
  EXPECT_NE(message(full.reply).find("limit of 3"), std::string::npos);
  // Removing frees quota, whoever removes.
  EXPECT_EQ(found(run("carol", Inp{"s", tmpl(1)}).reply), tup({1}));
  out("s", tup({5}), 0, "alice");
}

TEST_F(EngineTest, BytesArePerPrincipalOverEverySpaceAndBoundedInAll) {
  // Before, only counts were bounded: 100,000 tuples of 64 KiB per client per space, 6.4 GB, past
  // what a snapshot carries.
  EngineLimits limits;
  limits.bytes_per_principal_max = 4096;
  limits.state_bytes_max = 5000;
  engine.set_limits(limits);
  create("a");
  create("b");
  const Tuple big = tup({std::string(900, 'x')});
  const std::uint64_t each = encoded_size(big) + kEntryOverheadBytes;
  std::uint64_t stored = 0;
  for (const char* space : {"a", "b", "a", "b"}) {
    out(space, big, 0, "mallory");
    stored += each;
  }
  EXPECT_EQ(engine.bytes_of("mallory"), stored);
  // Over the per-principal limit, whichever space.
  const Outcome over = run("mallory", Out{"b", spec(big)});
  EXPECT_EQ(code(over), ErrorCode::kQuotaExceeded);
  EXPECT_NE(message(over.reply).find("per-client limit of 4096"), std::string::npos);
  // Waiting requests are charged too.
  const Outcome wait = run("mallory", Rd{"a", tmpl(std::string(900, 'y')), 0});
  EXPECT_EQ(code(wait), ErrorCode::kQuotaExceeded);
  // Another principal has its own share, until the whole state is full.
  out("a", big, 0, "bob");
  const Outcome full = run("carol", Out{"a", spec(big)});
  EXPECT_EQ(code(full), ErrorCode::kQuotaExceeded);
  EXPECT_NE(message(full.reply).find("exceeds its limit of 5000"), std::string::npos);
  // Removing gives the bytes back, and so does deleting a space; a restored state has the same
  // charges.
  EXPECT_EQ(found(run("carol", Inp{"a", tmpl(std::string(900, 'x'))}).reply), big);
  EXPECT_EQ(engine.bytes_of("mallory"), stored - each);
  auto restored = Engine::restore(engine.snapshot());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->bytes_of("mallory"), engine.bytes_of("mallory"));
  EXPECT_EQ(restored->state_bytes(), engine.state_bytes());
  ASSERT_EQ(code(run(SpaceDelete{"b"})), ErrorCode::kOk);
  EXPECT_EQ(engine.bytes_of("mallory"), each);
  EXPECT_EQ(engine.state_bytes(), 2 * each);
}

TEST_F(EngineTest, TemplatesAreNoLargerThanTheSpacesTuples) {
  SpaceOptions o;
  o.tuple_bytes_max = 100;
  create("s", o);
  EXPECT_EQ(code(run(Rdp{"s", tmpl(std::string(200, 'x'))})), ErrorCode::kTooLarge);
  EXPECT_EQ(code(run(Rd{"s", tmpl(std::string(200, 'x')), 0})), ErrorCode::kTooLarge);
}

TEST_F(EngineTest, OutAllIsAllOrNothing) {
  SpaceOptions o;
  o.tuples_max = 4;
  o.fields_max = 2;
  create("s", o);
  out("s", tup({0}));
  // Quota: 1 + 4 > 4.
  EXPECT_EQ(
      code(run(OutAll{"s", {spec(tup({1})), spec(tup({2})), spec(tup({3})), spec(tup({4}))}})),
      ErrorCode::kQuotaExceeded);
  EXPECT_EQ(engine.tuple_count("s"), 1u);
  // One bad entry: nothing inserted, and the message names the entry.
  const Outcome bad = run(OutAll{"s", {spec(tup({1})), spec(tup({1, 2, 3}))}});
  EXPECT_EQ(code(bad), ErrorCode::kTooLarge);
  EXPECT_EQ(message(bad.reply).rfind("entry 1: ", 0), 0u);
  EXPECT_EQ(engine.tuple_count("s"), 1u);
  EXPECT_EQ(code(run(OutAll{"s", {spec(tup({1})), spec(tup({2})), spec(tup({3}))}})),
            ErrorCode::kOk);
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl(kAny), 0}).reply),
            (std::vector<Tuple>{tup({0}), tup({1}), tup({2}), tup({3})}));
}

// ---- cas and replace ----------------------------------------------------------------------------

TEST_F(EngineTest, CasInsertsOnlyWithoutAVisibleMatch) {
  create("s");
  auto r1 = run(Cas{"s", tmpl("leader", kAny), spec(tup({"leader", "alice"}))});
  EXPECT_EQ(std::get<CasResult>(r1.reply), (CasResult{true, {}}));
  auto r2 = run("bob", Cas{"s", tmpl("leader", kAny), spec(tup({"leader", "bob"}))});
  EXPECT_EQ(std::get<CasResult>(r2.reply), (CasResult{false, tup({"leader", "alice"})}));
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl("leader", kAny), 0}).reply),
            (std::vector<Tuple>{tup({"leader", "alice"})}));
}

TEST_F(EngineTest, CasQuotaAppliesOnlyWhenInserting) {
  SpaceOptions o;
  o.tuples_max = 1;
  create("s", o);
  out("s", tup({1}));
  auto found_existing = run(Cas{"s", tmpl(1), spec(tup({2}))});
  EXPECT_EQ(std::get<CasResult>(found_existing.reply), (CasResult{false, tup({1})}));
  EXPECT_EQ(code(run(Cas{"s", tmpl(3), spec(tup({3}))})), ErrorCode::kQuotaExceeded);
}

TEST_F(EngineTest, ReplaceSwapsTheOldestMatch) {
  create("s");
  out("s", tup({"cfg", 1}));
  out("s", tup({"cfg", 2}));
  EXPECT_EQ(found(run(Replace{"s", tmpl("cfg", kAny), spec(tup({"cfg", 3}))}).reply),
            tup({"cfg", 1}));
  // The new tuple is the newest.
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl("cfg", kAny), 0}).reply),
            (std::vector<Tuple>{tup({"cfg", 2}), tup({"cfg", 3})}));
  EXPECT_EQ(code(run(Replace{"s", tmpl("none"), spec(tup({"x"}))})), ErrorCode::kNotFound);
  EXPECT_EQ(engine.tuple_count("s"), 2u);
}

TEST_F(EngineTest, ReplaceQuotaCountsTheRemovedTuple) {
  SpaceOptions o;
  o.tuples_per_client_max = 1;
  create("s", o);
  out("s", tup({1}), 0, "alice");
  out("s", tup({2}), 0, "bob");
  // alice holds 1: replacing her own tuple keeps her at 1; replacing bob's would make 2.
  EXPECT_EQ(code(run("alice", Replace{"s", tmpl(2), spec(tup({3}))})), ErrorCode::kQuotaExceeded);
  EXPECT_EQ(found(run("alice", Replace{"s", tmpl(1), spec(tup({4}))}).reply), tup({1}));
  EXPECT_EQ(engine.tuple_count("s"), 2u);
}

// ---- bulk operations ----------------------------------------------------------------------------

TEST_F(EngineTest, RdAllAndInAllHonourMaxAndOrder) {
  create("s");
  for (int i = 0; i < 5; ++i) out("s", tup({"k", i}));
  out("s", tup({"other", 9}));
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl("k", kAny), 2}).reply),
            (std::vector<Tuple>{tup({"k", 0}), tup({"k", 1})}));
  EXPECT_EQ(found_all(run(RdAll{"s", tmpl("k", kAny), 0}).reply).size(), 5u);
  EXPECT_EQ(found_all(run(InAll{"s", tmpl("k", kAny), 3}).reply),
            (std::vector<Tuple>{tup({"k", 0}), tup({"k", 1}), tup({"k", 2})}));
  EXPECT_EQ(found_all(run(InAll{"s", tmpl("k", kAny), 0}).reply),
            (std::vector<Tuple>{tup({"k", 3}), tup({"k", 4})}));
  EXPECT_TRUE(found_all(run(RdAll{"s", tmpl("k", kAny), 0}).reply).empty());
  EXPECT_EQ(engine.tuple_count("s"), 1u);
}

// ---- access lists -------------------------------------------------------------------------------

TEST_F(EngineTest, UnreadableTuplesAreInvisibleToEveryOperation) {
  create("s");
  ASSERT_EQ(code(run("alice", Out{"s", spec(tup({"secret", 1}), 0, {"alice"})})), ErrorCode::kOk);
  const Template t = tmpl("secret", kAny);
  EXPECT_EQ(code(run("bob", Rdp{"s", t})), ErrorCode::kNotFound);
  EXPECT_EQ(code(run("bob", Inp{"s", t})), ErrorCode::kNotFound);
  EXPECT_TRUE(found_all(run("bob", RdAll{"s", t, 0}).reply).empty());
  EXPECT_TRUE(found_all(run("bob", InAll{"s", t, 0}).reply).empty());
  EXPECT_EQ(code(run("bob", Replace{"s", t, spec(tup({"x"}))})), ErrorCode::kNotFound);
  // cas does not see it either: bob's tuple is inserted.
  EXPECT_TRUE(
      std::get<CasResult>(run("bob", Cas{"s", t, spec(tup({"secret", 2}))}).reply).inserted);
  EXPECT_EQ(found(run("bob", Rdp{"s", t}).reply), tup({"secret", 2}));
  EXPECT_EQ(found(run("alice", Rdp{"s", t}).reply), tup({"secret", 1}));
  // A waiting rd is not woken by a tuple it may not read.
  EXPECT_TRUE(std::holds_alternative<Pending>(run("bob", Rd{"s", tmpl("private"), 0}).reply));
  const Outcome o = run("alice", Out{"s", spec(tup({"private"}), 0, {"alice", "carol"})});
  EXPECT_TRUE(o.completions.empty());
  EXPECT_EQ(engine.waiter_count("s"), 1u);
}

TEST_F(EngineTest, RemovalNeedsRemovePermission) {
  create("s");
  // Everyone reads; only alice removes.
  ASSERT_EQ(code(run("alice", Out{"s", spec(tup({"t", 1}), 0, {}, {"alice"})})), ErrorCode::kOk);
  out("s", tup({"t", 2}), 0, "alice");
  const Template t = tmpl("t", kAny);
  // The oldest readable match is (t,1): bob may not remove it, so inp is denied rather than
  // silently taking (t,2).
  EXPECT_EQ(code(run("bob", Inp{"s", t})), ErrorCode::kDenied);
  EXPECT_EQ(code(run("bob", In{"s", t, 0})), ErrorCode::kDenied);
  EXPECT_EQ(code(run("bob", Replace{"s", t, spec(tup({"u"}))})), ErrorCode::kDenied);
  // inAll skips what it may not remove.
  EXPECT_EQ(found_all(run("bob", InAll{"s", t, 0}).reply), (std::vector<Tuple>{tup({"t", 2})}));
  EXPECT_EQ(found(run("bob", Rdp{"s", t}).reply), tup({"t", 1}));
  EXPECT_EQ(found(run("alice", Inp{"s", t}).reply), tup({"t", 1}));
}

TEST_F(EngineTest, AccessListsAreSetsOfNames) {
  create("s");
  ASSERT_EQ(code(run(Out{"s", spec(tup({1}), 0, {"bob", "alice", "bob"}, {"bob"})})),
            ErrorCode::kOk);
  EXPECT_EQ(found(run("alice", Rdp{"s", tmpl(1)}).reply), tup({1}));
  EXPECT_EQ(code(run("carol", Rdp{"s", tmpl(1)})), ErrorCode::kNotFound);
  EXPECT_EQ(code(run("alice", Inp{"s", tmpl(1)})), ErrorCode::kDenied);
  EXPECT_EQ(found(run("bob", Inp{"s", tmpl(1)}).reply), tup({1}));
  std::vector<std::string> too_many;
  for (std::size_t i = 0; i <= kAclEntriesMax; ++i) too_many.push_back("c" + std::to_string(i));
  EXPECT_EQ(code(run(Out{"s", spec(tup({1}), 0, too_many)})), ErrorCode::kInvalidArgument);
}

// ---- index behaviour ----------------------------------------------------------------------------

TEST_F(EngineTest, IndexedLookupsAgreeWithAScanAfterChurn) {
  create("s");
  // Many tuples sharing values at different positions; remove from head, middle and tail.
  for (int i = 0; i < 300; ++i) out("s", tup({i % 7, i % 5, i}));
  for (int i = 0; i < 300; i += 3) {
    ASSERT_EQ(found(run(Inp{"s", tmpl(kAny, kAny, i)}).reply), tup({i % 7, i % 5, i}));
  }
  for (int a = 0; a < 7; ++a) {
    for (int b = 0; b < 5; ++b) {
      std::vector<Tuple> expected;
      for (int i = 0; i < 300; ++i) {
        if (i % 3 != 0 && i % 7 == a && i % 5 == b) expected.push_back(tup({a, b, i}));
      }
      EXPECT_EQ(found_all(run(RdAll{"s", tmpl(a, b, kAny), 0}).reply), expected);
    }
  }
  EXPECT_EQ(found_all(run(InAll{"s", tmpl(kAny, kAny, kAny), 0}).reply).size(), 200u);
  EXPECT_EQ(engine.tuple_count("s"), 0u);
  out("s", tup({1, 2, 3}));
  EXPECT_EQ(found(run(Rdp{"s", tmpl(1, 2, 3)}).reply), tup({1, 2, 3}));
}

TEST_F(EngineTest, ReadOnlyExecutionOfAWriteIsAProgrammerError) {
  create("s");
  EXPECT_DEATH(engine.execute_read_only(Context{"a", 1, 1, now_ms}, Out{"s", spec(tup({1}))}),
               "invariant broken: read_only");
}

}  // namespace
}  // namespace bastion::ts::testing
