// Normal-case operation (PBFT 4.2): ordering, batching and pipelining, agreed time (timestamps
// and empty batches for deadlines), read-only requests (5.1.3) and the client table.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

TEST(NormalCase, OneRequestIsOrderedExecutedAndReplied) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().last_executed, 1u) << i;
    EXPECT_EQ(c.app(i).kv.at("x"), "1");
    ASSERT_EQ(c.app(i).history.size(), 1u);
  }
  EXPECT_EQ(c.replies_for("alice", 1, 1).size(), c.n());
  expect_agreement(c);
}

TEST(NormalCase, ManyClientsEveryRequestExecutedOnceInTheSameOrder) {
  Cluster c;
  for (std::uint64_t k = 1; k <= 30; ++k) {
    for (const char* who : {"alice", "bob", "carol"}) {
      c.send_request(who, 7, k, std::string("put ") + who + std::to_string(k) + " v");
    }
  }
  c.deliver();
  for (std::uint64_t k = 1; k <= 30; ++k) {
    for (const char* who : {"alice", "bob", "carol"}) EXPECT_EQ(c.accepted(who, 7, k), "ok");
  }
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.app(i).history.size(), 90u);
    EXPECT_EQ(c.app(i).history, c.app(0).history) << "replica " << i;
  }
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(NormalCase, PreparesAreVerifiedOnlyAsFarAsACertificateNeeds) {
  // A backup checks the pre-prepare and 2f - 1 other prepares (its own counts); the primary 2f
  // prepares. The third prepare a replica receives is never checked.
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_EQ(c.verify_calls(), 3 * (1 + (2 * 1 - 1)) + 2 * 1);
}

TEST(NormalCase, ABadlySignedPrepareIsDroppedAndAnotherCompletesTheCertificate) {
  // Replica 2 sends replica 1 prepares with a broken signature: replica 1 checks it (the lowest
  // id first), drops it and completes its certificate with replica 3's.
  Cluster c;
  c.rewrite = [&](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from != 2 || e.to != 1 || e.type() != MsgType::kPrepare) return std::nullopt;
    PrepareMsg p = std::get<PrepareMsg>(*decode_message(*e.bytes));
    p.signature[0] ^= 1;
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(p))}};
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_EQ(c.replica(1).status().last_executed, 1u);
  EXPECT_EQ(c.counter(1, "drop.bad_signature"), 1u);
  expect_agreement(c);
}

TEST(NormalCase, PipelineLimitsBatchesInFlightAndBatchesGrowUnderLoad) {
  Cluster c([](Config& cfg) {
    cfg.pipeline_max = 2;
    cfg.batch_max_requests = 5;
  });
  // Hold every COMMIT: nothing executes, so the primary may have at most pipeline_max batches
  // in flight.
  bool hold_commits = true;
  c.filter = [&](const Envelope& e) { return !(hold_commits && e.type() == MsgType::kCommit); };
  for (std::uint64_t k = 1; k <= 20; ++k)
    c.send_request("alice", 1, k, "put k" + std::to_string(k) + " v");
  c.deliver();
  EXPECT_EQ(c.counter(0, "batches.proposed"), 2u);
  EXPECT_EQ(c.replica(0).status().last_executed, 0u);
  hold_commits = false;
  ASSERT_TRUE(c.run_until([&] { return c.replica(3).status().last_executed >= 2; }));
  ASSERT_TRUE(c.run_until([&] { return c.app(3).history.size() == 20; }));
  // 20 requests, at most 5 per batch; later batches were filled while the pipeline was full.
  std::uint32_t max_batch = 0;
  for (const Executed& e : c.executed[0]) {
    EXPECT_LE(e.requests, 5u);
    max_batch = std::max(max_batch, e.requests);
  }
  EXPECT_EQ(max_batch, 5u);
  EXPECT_LT(c.executed[0].size(), 20u);
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(NormalCase, BatchBytesCapSplitsBatchesButALargeRequestStillGoes) {
  Cluster c([](Config& cfg) {
    cfg.batch_max_bytes = 600;
    cfg.request_bytes_max = 4000;
  });
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kCommit; };
  for (std::uint64_t k = 1; k <= 6; ++k) {
    c.send_request("alice", 1, k, "put k" + std::to_string(k) + " " + std::string(200, 'a'));
  }
  c.send_request("alice", 1, 7, "put big " + std::string(2000, 'b'));
  c.deliver();
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return c.app(0).history.size() == 7; }));
  for (const Executed& e : c.executed[0]) EXPECT_LE(e.requests, 2u);
  EXPECT_EQ(c.accepted("alice", 1, 7), "ok");
}

TEST(NormalCase, RetransmittedRequestGetsTheCachedReplyAndIsNotExecutedAgain) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  c.send_request("alice", 1, 2, "put x 2");
  c.deliver();
  const std::size_t before = c.replies_for("alice", 1, 1).size();
  c.send_request("alice", 1, 1, "put x 1");  // the client missed the reply
  c.deliver();
  const auto replies = c.replies_for("alice", 1, 1);
  ASSERT_EQ(replies.size(), before + c.n());
  for (std::size_t k = before; k < replies.size(); ++k) {
    EXPECT_EQ(to_string(replies[k].msg.result), "ok");
    EXPECT_EQ(replies[k].msg.status, 0);
  }
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.app(i).history.size(), 2u);
    EXPECT_EQ(c.app(i).kv.at("x"), "2");
  }
}

TEST(NormalCase, StaleAndOversizedRequestsGetCoreErrors) {
  Cluster c([](Config& cfg) {
    cfg.client_window = 4;
    cfg.request_bytes_max = 100;
  });
  // Numbers above highest + window are not held: a client keeps at most `window` in flight.
  for (std::uint64_t k = 1; k <= 10; ++k) {
    c.send_request("alice", 1, k, "put x " + std::to_string(k));
    c.deliver();
  }
  c.replies.clear();
  c.send_request("alice", 1, 3, "put x 3");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 3), "status:" + std::to_string(int(ReplyStatus::kStale)));
  c.send_request("alice", 1, 11, "put y " + std::string(200, 'z'));
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 11), "status:" + std::to_string(int(ReplyStatus::kTooLarge)));
  EXPECT_EQ(c.app(0).history.size(), 10u);
  // Far above the window: not held at all.
  c.send_request("alice", 1, 100, "put z 1");
  c.deliver();
  EXPECT_TRUE(c.replies_for("alice", 1, 100).empty());
  EXPECT_GT(c.counter(1, "drop.request_window"), 0u);
}

TEST(NormalCase, ReplyCacheEvictionAnswersEvicted) {
  Cluster c([](Config& cfg) { cfg.reply_cache_bytes_max = 4; });
  c.send_request("alice", 1, 1, "put x 1");  // "ok": 2 bytes
  c.send_request("alice", 1, 2, "put x 2");
  c.send_request("alice", 1, 3, "put x 3");  // evicts the oldest cached result
  c.deliver();
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");  // the first replies
  const auto replies = c.replies_for("alice", 1, 1);
  EXPECT_EQ(replies.back().msg.status, int(ReplyStatus::kEvicted));
  EXPECT_EQ(c.app(0).history.size(), 3u);
}

TEST(NormalCase, ExecutionDeduplicatesARequestCommittedInTwoBatches) {
  // Replica 3 is cut off; it then learns two committed batches that both contain X (as if a
  // faulty primary had slipped X into two batches). The client table decides: X runs once.
  Cluster c;
  c.filter = [](const Envelope& e) { return e.to != 3 && e.from != 3; };
  Request x{ClientKey{"alice", 1}, 1, false, to_bytes("put x 1")};
  Request y{ClientKey{"alice", 1}, 2, false, to_bytes("put y 1")};
  const std::vector<Request> b1{x};
  const std::vector<Request> b2{x, y};
  for (ReplicaId claimer : {ReplicaId{0}, ReplicaId{1}}) {
    CommittedMsg m1{BatchHeader{0, 1, c.clock(3), batch_digest(b1), false}, b1, claimer};
    CommittedMsg m2{BatchHeader{0, 2, c.clock(3) + 1, batch_digest(b2), false}, b2, claimer};
    c.inject(claimer, 3, encode_message(m1));
    c.inject(claimer, 3, encode_message(m2));
  }
  EXPECT_EQ(c.replica(3).status().last_executed, 2u);
  ASSERT_EQ(c.app(3).history.size(), 2u);
  EXPECT_EQ(c.app(3).history[0].second, 1u);
  EXPECT_EQ(c.app(3).history[1].second, 2u);
  EXPECT_EQ(c.counter(3, "requests.duplicate"), 1u);
}

TEST(NormalCase, BackupRejectsADuplicateRequestInAnotherBatchOfTheView) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.from != 0; };  // the real primary is muted
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  // A forged pre-prepare pair from primary 0: the same request at seq 1 and seq 2.
  Request x{ClientKey{"alice", 1}, 1, false, to_bytes("put x 1")};
  for (SeqNum seq : {SeqNum{1}, SeqNum{2}}) {
    PrePrepareMsg pp;
    pp.header = BatchHeader{0, seq, c.now() + static_cast<TimeUs>(seq), batch_digest({x}), false};
    pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
    pp.batch = {x};
    c.inject(0, 1, encode_message(pp));
  }
  EXPECT_EQ(c.counter(1, "drop.invalid"), 1u);
}

TEST(AgreedTime, BackupsRejectTimestampsOutsideTheSkewAndThePrimaryIsReplaced) {
  Cluster c;
  c.skew_us[0] = 10'000'000;  // the primary's clock runs 10 s ahead
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_GT(c.counter(1, "drop.timestamp"), 0u);
  EXPECT_EQ(c.replica(1).status().last_executed, 0u);
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_GE(c.replica(1).status().view, 1u);
  expect_agreement(c);
}

TEST(AgreedTime, TimestampsMustIncrease) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.from != 0; };
  c.send_request("alice", 1, 1, "put x 1");
  c.send_request("alice", 1, 2, "put y 1");
  c.deliver();
  Request x{ClientKey{"alice", 1}, 1, false, to_bytes("put x 1")};
  Request y{ClientKey{"alice", 1}, 2, false, to_bytes("put y 1")};
  auto forge = [&](SeqNum seq, TimeUs ts, const Request& r) {
    PrePrepareMsg pp;
    pp.header = BatchHeader{0, seq, ts, batch_digest({r}), false};
    pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
    pp.batch = {r};
    return encode_message(pp);
  };
  // seq 2 arrives first: held until seq 1's timestamp is known, then rejected (not greater).
  c.inject(0, 1, forge(2, c.now() - 5, y));
  EXPECT_EQ(c.counter(1, "drop.timestamp"), 0u);
  c.inject(0, 1, forge(1, c.now(), x));
  EXPECT_EQ(c.counter(1, "drop.timestamp"), 1u);
}

TEST(AgreedTime, AgreedTimeIsTheMaxOfTimestampsAndIdenticalEverywhere) {
  Cluster c;
  c.skew_us = {0, 300'000, -300'000, 100'000};
  for (std::uint64_t k = 1; k <= 5; ++k) {
    c.send_request("alice", 1, k, "put x " + std::to_string(k));
    c.deliver();
    c.advance(50'000);
  }
  expect_agreement(c);
  TimeUs previous = 0;
  for (const Executed& e : c.executed[2]) {
    EXPECT_GT(e.agreed_time_us, previous);
    previous = e.agreed_time_us;
  }
}

TEST(AgreedTime, EmptyBatchesMoveTimeForAWaitingRequest) {
  Cluster c;
  c.send_request("alice", 1, 1, "wait k 300000");
  c.deliver();
  EXPECT_FALSE(c.accepted("alice", 1, 1).has_value());
  EXPECT_TRUE(c.pending("alice", 1, 1));
  // A retransmission while it waits is answered kPending again, not executed again.
  c.replies.clear();
  c.send_request("alice", 1, 1, "wait k 300000");
  EXPECT_TRUE(c.pending("alice", 1, 1));
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }, 2'000'000));
  EXPECT_EQ(c.accepted("alice", 1, 1), "timeout");
  EXPECT_GE(c.counter(0, "batches.empty"), 1u);
  EXPECT_EQ(c.counter(1, "view_changes"), 0u);
  // And a waiter woken by a later write gets the write's value.
  c.send_request("bob", 1, 1, "wait j 5000000");
  c.deliver();
  c.send_request("carol", 1, 1, "put j 42");
  c.deliver();
  EXPECT_EQ(c.accepted("bob", 1, 1), "found 42");
  expect_agreement(c);
}

TEST(StatusQuery, EachReplicaReportsItselfAtOnce) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  Replica& r = c.replica(2);
  r.on_client_message("ops", encode_message(StatusQueryMsg{77}), c.clock(2));
  Output out = r.take_output();
  ASSERT_EQ(out.status_reports.size(), 1u);
  EXPECT_EQ(out.status_reports[0].principal, "ops");
  EXPECT_EQ(out.status_reports[0].nonce, 77u);
  auto m = decode_message(*out.status_reports[0].bytes);
  ASSERT_TRUE(m.ok());
  const auto& report = std::get<StatusReportMsg>(*m);
  EXPECT_EQ(report.nonce, 77u);
  EXPECT_EQ(report.replica, 2u);
  EXPECT_EQ(report.primary, 0u);
  EXPECT_EQ(report.last_executed, 1u);
  EXPECT_TRUE(out.messages.empty());
}

TEST(ReadOnly, ExecutedWithoutOrderingOrRefused) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 5");
  c.deliver();
  const std::size_t batches = c.executed[0].size();
  c.send_request("alice", 1, 2, "get x", /*read_only=*/true);
  c.deliver();
  auto replies = c.replies_for("alice", 1, 2);
  ASSERT_EQ(replies.size(), c.n());
  for (const Reply& r : replies) {
    EXPECT_TRUE(r.msg.read_only);
    EXPECT_EQ(to_string(r.msg.result), "5");
  }
  EXPECT_EQ(c.executed[0].size(), batches);  // nothing ordered
  c.send_request("alice", 1, 3, "put x 6", /*read_only=*/true);
  c.deliver();
  for (const Reply& r : c.replies_for("alice", 1, 3)) {
    EXPECT_EQ(r.msg.status, int(ReplyStatus::kNotReadOnly));
  }
  // Retried ordered with the same number.
  c.send_request("alice", 1, 3, "put x 6");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 3), "ok");
}

TEST(ReadOnly, WaitsUntilWhatWasPreparedOnArrivalIsExecuted) {
  // A write prepared everywhere but not committed yet: a read arriving now must not answer from
  // before it (the write may already have completed at a client through f+1 replicas).
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  bool hold_commits = true;
  c.filter = [&](const Envelope& e) { return !(hold_commits && e.type() == MsgType::kCommit); };
  c.send_request("alice", 1, 2, "put x 2");
  c.deliver();
  c.send_request("bob", 1, 1, "get x", /*read_only=*/true);
  c.deliver();
  EXPECT_TRUE(c.replies_for("bob", 1, 1).empty());
  EXPECT_EQ(c.replica(1).debug_sizes().at("reads.waiting"), 1u);
  hold_commits = false;
  ASSERT_TRUE(c.run_until([&] { return c.replies_for("bob", 1, 1).size() == c.n(); }));
  for (const Reply& r : c.replies_for("bob", 1, 1)) EXPECT_EQ(to_string(r.msg.result), "2");
  EXPECT_EQ(c.replica(1).debug_sizes().at("reads.waiting"), 0u);
}

TEST(ReadOnly, TooManyWaitingReadsFallBackToOrdered) {
  Cluster c([](Config& cfg) { cfg.read_queue_max = 2; });
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kCommit; };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  for (std::uint64_t k = 1; k <= 3; ++k) c.send_request("bob", 1, k, "get x", true);
  c.deliver();
  const auto replies = c.replies_for("bob", 1, 3);
  ASSERT_EQ(replies.size(), c.n());
  for (const Reply& r : replies) EXPECT_EQ(r.msg.status, int(ReplyStatus::kNotReadOnly));
}

TEST(ReadOnly, OnePrincipalTakesAtMostAQuarterOfTheReadQueue) {
  // Before, a principal opening sessions could fill the whole shared queue and push every other
  // client's reads to the ordered path.
  Cluster c([](Config& cfg) { cfg.read_queue_max = 40; });
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kCommit; };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  for (std::uint64_t session = 1; session <= 10; ++session) {
    for (std::uint64_t k = 1; k <= 4; ++k) c.send_request("mallory", session, k, "get x", true);
  }
  c.send_request("bob", 1, 1, "get x", true);
  c.deliver();
  EXPECT_EQ(c.replica(1).debug_sizes().at("reads.waiting"), 10u + 1u);
  EXPECT_TRUE(c.replies_for("bob", 1, 1).empty());  // waiting, not refused
  EXPECT_EQ(c.replies_for("mallory", 10, 4).size(), c.n());
  for (const Reply& r : c.replies_for("mallory", 10, 4)) {
    EXPECT_EQ(r.msg.status, int(ReplyStatus::kNotReadOnly));
  }
}

TEST(NormalCase, WorksWithFTwo) {
  Cluster c(2);
  for (std::uint64_t k = 1; k <= 10; ++k)
    c.send_request("alice", 1, k, "put x " + std::to_string(k));
  c.deliver();
  for (std::uint64_t k = 1; k <= 10; ++k) EXPECT_EQ(c.accepted("alice", 1, k), "ok");
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.at("x"), "10");
  expect_agreement(c);
}

}  // namespace
}  // namespace bastion::bft::test
