// Tests of the client side of the protocol: reply voting (ReplyVoter) and the client state
// machine (ClientCore): f+1 matching for ordered requests, 2f+1 for read-only ones with the
// retry on the ordered path, retransmission with back-off, core error statuses, hostile replies.
#include "bft/core/client_core.h"

#include <gtest/gtest.h>

namespace bastion::bft {
namespace {

Bytes b(std::string_view s) { return Bytes(s.begin(), s.end()); }

// ---- ReplyVoter ---------------------------------------------------------------------------------

TEST(ReplyVoter, AcceptsOnceNeededDistinctReplicasMatch) {
  ReplyVoter v(4, 2);
  EXPECT_FALSE(v.add(0, b("x")));
  EXPECT_FALSE(v.add(0, b("x")));  // the same replica again does not count twice
  EXPECT_FALSE(v.add(1, b("y")));
  auto a = v.add(2, b("x"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->common, b("x"));
  ASSERT_EQ(a->replies.size(), 2u);
  EXPECT_EQ(a->replies[0].first, 0u);
  EXPECT_EQ(a->replies[1].first, 2u);
  EXPECT_FALSE(v.add(3, b("x")));  // accepted only the first time
}

TEST(ReplyVoter, LaterReplyReplacesEarlierOne) {
  ReplyVoter v(4, 2);
  EXPECT_FALSE(v.add(0, b("x")));
  EXPECT_FALSE(v.add(0, b("y")));  // replica 0 changed its mind: its "x" no longer counts
  EXPECT_FALSE(v.add(1, b("x")));
  EXPECT_TRUE(v.add(2, b("y")));
}

TEST(ReplyVoter, IgnoresUnknownReplicas) {
  ReplyVoter v(4, 2);
  EXPECT_FALSE(v.add(4, b("x")));
  EXPECT_FALSE(v.add(99, b("x")));
  EXPECT_FALSE(v.add(0, b("x")));
  EXPECT_TRUE(v.add(1, b("x")));
}

TEST(ReplyVoter, ImpossibleWhenNoGroupCanReachNeeded) {
  ReplyVoter v(4, 3);  // 2f+1 with f = 1
  EXPECT_FALSE(v.impossible());
  v.add(0, b("x"));
  v.add(1, b("y"));
  EXPECT_FALSE(v.impossible());  // x + two silent replicas could still make 3
  v.add(2, b("z"));
  EXPECT_TRUE(v.impossible());
  v.reset();
  EXPECT_FALSE(v.impossible());
  v.add(0, b("x"));
  v.add(1, b("x"));
  EXPECT_TRUE(v.add(2, b("x")));
  EXPECT_FALSE(v.impossible());
}

TEST(ReplyVoter, ExcludedReplicasCountAsAnsweredWithoutAResult) {
  ReplyVoter v(4, 3);
  v.add(0, b("x"));
  v.exclude(0);  // replaces its reply
  v.exclude(1);
  EXPECT_TRUE(v.impossible());  // at most two replicas left to agree
  v.add(1, b("x"));             // replica 1 answers after all
  EXPECT_FALSE(v.impossible());
  v.add(2, b("x"));
  EXPECT_TRUE(v.add(3, b("x")));
}

TEST(ReplyVoter, SplitComparesCommonPartAndVerifyFiltersReplies) {
  // Results "common|own": the part before '|' must match; the own part must equal the replica id.
  auto split = [](const Bytes& r) {
    auto bar = std::find(r.begin(), r.end(), '|');
    return Bytes(r.begin(), bar);
  };
  auto verify = [](ReplicaId id, const Bytes& r) {
    auto bar = std::find(r.begin(), r.end(), '|');
    return bar != r.end() && Bytes(bar + 1, r.end()) == Bytes{static_cast<std::uint8_t>('0' + id)};
  };
  ReplyVoter v(4, 2, split, verify);
  EXPECT_FALSE(v.add(0, b("x|0")));
  EXPECT_FALSE(v.add(1, b("x|7")));  // fails verification: ignored
  auto a = v.add(2, b("x|2"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->common, b("x"));
  ASSERT_EQ(a->replies.size(), 2u);
  EXPECT_EQ(a->replies[1].second, b("x|2"));
}

// ---- ClientCore ---------------------------------------------------------------------------------

constexpr std::uint64_t kSession = 7;

ClientConfig config(std::uint32_t f = 1) {
  ClientConfig c;
  c.n = 3 * f + 1;
  c.f = f;
  c.session = kSession;
  c.retransmit_us = 100;
  c.retransmit_max_us = 350;
  c.read_only_wait_us = 1'000;
  return c;
}

Bytes reply(ReplicaId replica, std::uint64_t number, std::string_view result,
            bool read_only = false, ViewNum view = 0, ReplyStatus status = ReplyStatus::kOk,
            std::uint64_t session = kSession) {
  ReplyMsg m;
  m.session = session;
  m.number = number;
  m.view = view;
  m.replica = replica;
  m.read_only = read_only;
  m.result = status == ReplyStatus::kOk ? b(result) : Bytes{};
  m.status = static_cast<std::uint8_t>(status);
  return encode_message(m);
}

ClientRequestMsg sent_request(const ClientSend& s) {
  auto m = decode_message(*s.bytes);
  EXPECT_TRUE(m.ok());
  EXPECT_TRUE(std::holds_alternative<ClientRequestMsg>(*m));
  return std::get<ClientRequestMsg>(*m);
}

// A request retried ordered is still the caller's: f+1 matching ordered replies complete it, as
// an ordered call, and nothing is left in flight.
void expect_completes_ordered(ClientCore& c, std::uint64_t n, std::string_view result, TimeUs now) {
  c.on_reply(0, reply(0, n, result), now);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(1, reply(1, n, result), now);
  const auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].number, n);
  EXPECT_FALSE(out.completions[0].read_only);
  EXPECT_EQ(out.completions[0].result, b(result));
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(ClientCore, SubmitSendsToAllWithConsecutiveNumbers) {
  ClientCore c(config());
  EXPECT_EQ(c.submit(b("a"), false, 0), 1u);
  EXPECT_EQ(c.submit(b("b"), true, 0), 2u);
  auto out = c.take_output();
  ASSERT_EQ(out.sends.size(), 2u);
  EXPECT_FALSE(out.sends[0].to.has_value());
  auto r1 = sent_request(out.sends[0]);
  EXPECT_EQ(r1.session, kSession);
  EXPECT_EQ(r1.number, 1u);
  EXPECT_FALSE(r1.read_only);
  EXPECT_EQ(r1.payload, b("a"));
  EXPECT_TRUE(sent_request(out.sends[1]).read_only);
  EXPECT_EQ(c.in_flight(), 2u);
}

TEST(ClientCore, OrderedNeedsFPlusOneMatchingReplies) {
  ClientCore c(config());
  const auto n = c.submit(b("op"), false, 0);
  c.take_output();
  c.on_reply(0, reply(0, n, "r"), 1);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(1, reply(1, n, "lie"), 2);  // a Byzantine replica disagrees
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(2, reply(2, n, "r", false, 3), 3);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].number, n);
  EXPECT_EQ(out.completions[0].status, ReplyStatus::kOk);
  EXPECT_EQ(out.completions[0].result, b("r"));
  EXPECT_FALSE(out.completions[0].read_only);
  ASSERT_EQ(out.completions[0].replies.size(), 2u);
  EXPECT_EQ(out.completions[0].replies[0].second, b("r"));
  EXPECT_EQ(c.in_flight(), 0u);
  // Late replies are ignored and counted.
  c.on_reply(3, reply(3, n, "r"), 4);
  EXPECT_TRUE(c.take_output().completions.empty());
  EXPECT_EQ(c.counters().at("reply.late"), 1u);
}

TEST(ClientCore, FByzantineRepliesCannotMakeAResult) {
  for (std::uint32_t f : {1u, 2u}) {
    ClientCore c(config(f));
    const auto n = c.submit(b("op"), false, 0);
    for (ReplicaId r = 0; r < f; ++r) c.on_reply(r, reply(r, n, "forged"), 1);
    EXPECT_TRUE(c.take_output().completions.empty()) << "f=" << f;
    for (ReplicaId r = f; r < 2 * f; ++r) c.on_reply(r, reply(r, n, "real"), 1);
    EXPECT_TRUE(c.take_output().completions.empty()) << "f=" << f;
    c.on_reply(2 * f, reply(2 * f, n, "real"), 1);
    auto out = c.take_output();
    ASSERT_EQ(out.completions.size(), 1u) << "f=" << f;
    EXPECT_EQ(out.completions[0].result, b("real"));
  }
}

TEST(ClientCore, DropsHostileReplies) {
  ClientCore c(config());
  const auto n = c.submit(b("op"), false, 0);
  c.take_output();
  c.on_reply(0, Bytes{1, 2, 3}, 1);               // garbage
  c.on_reply(0, encode_message(StatusMsg{}), 1);  // not a reply
  c.on_reply(0, reply(1, n, "r"), 1);             // claims to be replica 1 on 0's channel
  c.on_reply(1, reply(1, n, "r"), 1);             // the real replica 1
  c.on_reply(2, reply(2, n, "r", false, 0, ReplyStatus::kOk, kSession + 1), 1);  // other session
  c.on_reply(5, reply(5, n, "r"), 1);                                            // no such replica
  c.on_reply(2, reply(2, n + 1, "r"), 1);                                        // unknown number
  EXPECT_TRUE(c.take_output().completions.empty());
  EXPECT_EQ(c.counters().at("reply.malformed"), 2u);
  EXPECT_EQ(c.counters().at("reply.wrong_replica"), 2u);
  EXPECT_EQ(c.counters().at("reply.wrong_session"), 1u);
  c.on_reply(3, reply(3, n, "r"), 1);
  EXPECT_EQ(c.take_output().completions.size(), 1u);
}

TEST(ClientCore, RetransmitsWithCappedBackOff) {
  ClientCore c(config());
  c.submit(b("op"), false, 1'000);
  EXPECT_EQ(c.take_output().sends.size(), 1u);
  TimeUs t = 1'000;
  std::vector<TimeUs> gaps;
  for (int i = 0; i < 5; ++i) {
    const auto next = c.next_tick_us();
    ASSERT_TRUE(next);
    gaps.push_back(*next - t);
    t = *next;
    c.on_tick(t - 1);  // early: nothing
    EXPECT_TRUE(c.take_output().sends.empty());
    c.on_tick(t);
    auto out = c.take_output();
    ASSERT_EQ(out.sends.size(), 1u);
    EXPECT_EQ(sent_request(out.sends[0]).number, 1u);
  }
  EXPECT_EQ(gaps, (std::vector<TimeUs>{100, 200, 350, 350, 350}));
  EXPECT_EQ(c.counters().at("retransmits"), 5u);
}

TEST(ClientCore, ReadOnlyNeedsTwoFPlusOne) {
  ClientCore c(config());
  const auto n = c.submit(b("get"), true, 0);
  c.take_output();
  c.on_reply(0, reply(0, n, "v", true), 1);
  c.on_reply(1, reply(1, n, "v", true), 1);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(2, reply(2, n, "v", true), 1);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_TRUE(out.completions[0].read_only);
  EXPECT_EQ(out.completions[0].result, b("v"));
}

TEST(ClientCore, ReadOnlyRetriedOrderedWhenRepliesDisagree) {
  ClientCore c(config());
  const auto n = c.submit(b("get"), true, 0);
  c.take_output();
  c.on_reply(0, reply(0, n, "old", true), 1);
  c.on_reply(1, reply(1, n, "new", true), 1);
  EXPECT_TRUE(c.take_output().sends.empty());
  c.on_reply(2, reply(2, n, "newer", true), 1);  // no value can reach 3 of 4 any more
  auto out = c.take_output();
  ASSERT_EQ(out.sends.size(), 1u);
  auto retry = sent_request(out.sends[0]);
  EXPECT_EQ(retry.number, n);
  EXPECT_FALSE(retry.read_only);
  EXPECT_EQ(retry.payload, b("get"));
  // Read-only replies no longer count; ordered ones do, f+1 of them.
  c.on_reply(3, reply(3, n, "new", true), 2);
  c.on_reply(0, reply(0, n, "new", true), 2);
  c.on_reply(1, reply(1, n, "new", true), 2);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(0, reply(0, n, "new"), 3);
  c.on_reply(1, reply(1, n, "new"), 3);
  out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_FALSE(out.completions[0].read_only);
  EXPECT_EQ(c.counters().at("read_only.retried_ordered"), 1u);
}

TEST(ClientCore, ReadOnlyRetriedOrderedAfterWait) {
  ClientCore c(config());
  const auto n = c.submit(b("get"), true, 0);
  c.take_output();
  c.on_reply(0, reply(0, n, "v", true), 1);
  EXPECT_EQ(c.next_tick_us(), 100);  // the retransmission comes first
  c.on_tick(100);
  EXPECT_TRUE(sent_request(c.take_output().sends.at(0)).read_only);
  c.on_tick(1'000);
  auto out = c.take_output();
  ASSERT_EQ(out.sends.size(), 1u);
  const auto retry = sent_request(out.sends[0]);
  EXPECT_EQ(retry.number, n);
  EXPECT_FALSE(retry.read_only);
  EXPECT_EQ(c.in_flight(), 1u);
  expect_completes_ordered(c, n, "v", 2'000);
}

TEST(ClientCore, NotReadOnlyIsNeverAResult) {
  ClientCore c(config());
  const auto n = c.submit(b("put"), true, 0);
  c.take_output();
  for (ReplicaId r = 0; r < 2; ++r) {
    c.on_reply(r, reply(r, n, "", true, 0, ReplyStatus::kNotReadOnly), 1);
  }
  auto out = c.take_output();
  EXPECT_TRUE(out.completions.empty());
  ASSERT_EQ(out.sends.size(), 1u);  // two refusals of four: read-only path impossible
  const auto retry = sent_request(out.sends[0]);
  EXPECT_EQ(retry.number, n);
  EXPECT_FALSE(retry.read_only);
  EXPECT_EQ(c.in_flight(), 1u);
  expect_completes_ordered(c, n, "done", 2);
}

TEST(ClientCore, CoreErrorsAreAcceptedWhenFPlusOneAgree) {
  ClientCore c(config());
  const auto n = c.submit(b("op"), false, 0);
  c.on_reply(0, reply(0, n, "", false, 0, ReplyStatus::kStale), 1);
  c.on_reply(1, reply(1, n, "r"), 1);
  c.on_reply(2, reply(2, n, "", false, 0, ReplyStatus::kStale), 1);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, ReplyStatus::kStale);
  EXPECT_TRUE(out.completions[0].result.empty());
}

TEST(ClientCore, AbandonForgetsTheRequest) {
  ClientCore c(config());
  const auto n = c.submit(b("op"), false, 0);
  c.take_output();
  c.abandon(n);
  EXPECT_EQ(c.in_flight(), 0u);
  EXPECT_FALSE(c.next_tick_us().has_value());
  c.on_reply(0, reply(0, n, "r"), 1);
  c.on_reply(1, reply(1, n, "r"), 1);
  EXPECT_TRUE(c.take_output().completions.empty());
  EXPECT_EQ(c.submit(b("next"), false, 2), n + 1);  // an abandoned number is never reused
}

TEST(ClientCore, PendingGivesOneProvisionalCompletionAndIsNotAVote) {
  ClientCore c(config());
  const auto n = c.submit(b("wait"), false, 0);
  c.take_output();
  c.on_reply(0, reply(0, n, "", false, 0, ReplyStatus::kPending), 1);
  c.on_reply(0, reply(0, n, "", false, 0, ReplyStatus::kPending), 1);  // same replica again
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(1, reply(1, n, "", false, 0, ReplyStatus::kPending), 1);  // f+1 distinct
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].number, n);
  EXPECT_EQ(out.completions[0].status, ReplyStatus::kPending);
  EXPECT_TRUE(out.completions[0].result.empty());
  EXPECT_EQ(c.in_flight(), 1u);  // still in flight, still retransmitted
  c.on_reply(2, reply(2, n, "", false, 0, ReplyStatus::kPending), 1);
  EXPECT_TRUE(c.take_output().completions.empty());  // only once
  c.on_tick(100);
  EXPECT_EQ(c.take_output().sends.size(), 1u);
  // kPending votes never count towards the result: one final reply is not enough.
  c.on_reply(0, reply(0, n, "done"), 2);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(1, reply(1, n, "done"), 2);
  out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, ReplyStatus::kOk);
  EXPECT_EQ(out.completions[0].result, b("done"));
  EXPECT_EQ(c.in_flight(), 0u);
  EXPECT_EQ(c.counters().at("reply.pending"), 4u);
}

TEST(ClientCore, ReadOnlyPendingRepliesMakeNoProvisionalCompletion) {
  ClientCore c(config());
  const auto n = c.submit(b("get"), true, 0);
  for (ReplicaId r = 0; r < 3; ++r) {
    c.on_reply(r, reply(r, n, "", true, 0, ReplyStatus::kPending), 1);
  }
  EXPECT_TRUE(c.take_output().completions.empty());
}

// Replicas hold ordered requests only within client_window above the highest executed number,
// and reads completed on the read-only path never execute there: their numbers are reused, so a
// long run of reads cannot push the next write out of the window.
TEST(ClientCore, NumbersOfReadOnlyCompletionsAreReusedByOrderedRequests) {
  ClientCore c(config());
  for (std::uint64_t i = 1; i <= 10; ++i) {
    const auto n = c.submit(b("get"), true, 0);
    EXPECT_EQ(n, i);  // reads always take fresh numbers
    for (ReplicaId r = 0; r < 3; ++r) c.on_reply(r, reply(r, n, "v", true), 1);
    EXPECT_EQ(c.take_output().completions.size(), 1u);
  }
  // The next writes take the freed numbers, smallest first.
  const auto w = c.submit(b("put"), false, 2);
  EXPECT_EQ(w, 1u);
  // Late (duplicated) read-only replies to the earlier request 1 do not count for the write.
  for (ReplicaId r = 0; r < 4; ++r) c.on_reply(r, reply(r, w, "v", true), 3);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(0, reply(0, w, "ok"), 3);
  c.on_reply(1, reply(1, w, "ok"), 3);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].result, b("ok"));
  EXPECT_EQ(c.submit(b("put"), false, 4), 2u);
  // A read retried ordered takes the smallest freed number (3) on the wire and keeps 11 as its
  // handle; 11 is freed when it completes. Ordered requests never free theirs.
  const auto ro = c.submit(b("get"), true, 5);
  EXPECT_EQ(ro, 11u);
  c.take_output();
  c.on_tick(5 + 1'000);
  std::optional<ClientRequestMsg> retried;
  for (const ClientSend& send :
       c.take_output().sends) {  // the retry, and the write's retransmission
    const auto m = std::get<ClientRequestMsg>(*decode_message(*send.bytes));
    if (m.payload == b("get")) retried = m;
  }
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->number, 3u);
  EXPECT_FALSE(retried->read_only);
  c.on_reply(0, reply(0, ro, "v"), 6);  // to the old number: ignored
  c.on_reply(1, reply(1, ro, "v"), 6);
  EXPECT_TRUE(c.take_output().completions.empty());
  c.on_reply(0, reply(0, 3, "v"), 6);
  c.on_reply(1, reply(1, 3, "v"), 6);
  out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].number, ro);
  c.abandon(2);
  EXPECT_EQ(c.submit(b("put"), false, 7), 4u);
  EXPECT_EQ(c.submit(b("get"), true, 7), 12u);
  for (std::uint64_t n = 5; n <= 11; ++n) EXPECT_EQ(c.submit(b("put"), false, 8), n);
}

TEST(ClientCore, AbandonedOrderedRequestsStrandUntilALaterOneCompletes) {
  ClientCore c(config());
  std::vector<std::uint64_t> numbers;
  for (int i = 0; i < 4; ++i) numbers.push_back(c.submit(b("put"), false, 0));
  c.abandon(c.submit(b("get"), true, 0));  // reads never strand
  c.abandon(numbers[0]);
  c.abandon(numbers[1]);
  EXPECT_EQ(c.stranded(), 2u);
  // Number 3 completes: the replicas executed it, so 1 and 2 no longer matter.
  c.on_reply(0, reply(0, numbers[2], "ok"), 1);
  c.on_reply(1, reply(1, numbers[2], "ok"), 1);
  EXPECT_EQ(c.stranded(), 0u);
  c.abandon(numbers[3]);
  EXPECT_EQ(c.stranded(), 1u);
}

TEST(ClientCore, AbandonedReadsFreeTheirNumbers) {
  ClientCore c(config());
  for (std::uint64_t i = 1; i <= 5; ++i) c.abandon(c.submit(b("get"), true, 0));
  EXPECT_EQ(c.submit(b("put"), false, 1), 1u);
}

TEST(ClientCore, ReportedViewIsVouchedForByACorrectReplica) {
  ClientCore c(config());
  const auto n = c.submit(b("get"), true, 0);
  c.on_reply(0, reply(0, n, "v", true, 1'000'000), 1);  // a Byzantine replica's made-up view
  c.on_reply(1, reply(1, n, "v", true, 5), 1);
  c.on_reply(2, reply(2, n, "v", true, 4), 1);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].view, 5u);  // the (f+1)-th highest of the matching replies
}

TEST(ClientCore, SplitAppliesToApplicationResults) {
  auto split = [](const Bytes& r) { return Bytes(r.begin(), r.begin() + 1); };
  ClientCore c(config(), split);
  const auto n = c.submit(b("op"), false, 0);
  c.on_reply(0, reply(0, n, "xA"), 1);
  c.on_reply(1, reply(1, n, "xB"), 1);
  auto out = c.take_output();
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].result, b("x"));
  ASSERT_EQ(out.completions[0].replies.size(), 2u);
  EXPECT_EQ(out.completions[0].replies[0].second, b("xA"));
  EXPECT_EQ(out.completions[0].replies[1].second, b("xB"));
}

}  // namespace
}  // namespace bastion::bft
