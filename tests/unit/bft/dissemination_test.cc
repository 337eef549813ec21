// Request dissemination by vouches (docs/protocol.md): what a faulty client can and cannot do by
// sending requests to some replicas only, or different requests under one number.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

std::uint64_t total(Cluster& c, const std::string& counter) {
  std::uint64_t sum = 0;
  for (ReplicaId i = 0; i < c.n(); ++i) sum += c.counter(i, counter);
  return sum;
}

TEST(FairBatching, AFloodingPrincipalGetsOneTurnLikeEveryOther) {
  // Mallory's 200 requests become ready at the primary before Alice's one. Batches are served
  // round-robin by principal, so Alice's request rides in the next batch, not after Mallory's.
  Cluster c([](Config& cfg) {
    cfg.pipeline_max = 1;
    cfg.batch_max_requests = 8;
  });
  for (std::uint64_t session = 0; session < 200; ++session) {
    c.send_request("mallory", session, 1, "put m " + std::to_string(session));
  }
  c.send_request("alice", 1, 1, "put a 1");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  std::set<std::uint64_t> mallory_before;
  for (const Reply& r : c.replies) {
    if (r.client.principal == "alice") break;
    if (r.msg.status == static_cast<std::uint8_t>(ReplyStatus::kOk)) {
      mallory_before.insert(r.client.session);
    }
  }
  EXPECT_LE(mallory_before.size(), 2 * 8u);
}

TEST(FairBatching, ALargeRequestDoesNotCutTheBatchShortForTheOthers) {
  // Mallory's requests take most of a batch's bytes each. Her second one does not fit after the
  // first: it is set aside for that batch, Alice's small requests fill the rest, and it goes
  // first in the next batch. Before, the batch ended there, and Alice got one request per batch.
  Cluster c([](Config& cfg) {
    cfg.pipeline_max = 1;
    cfg.batch_max_bytes = 1000;
  });
  const std::string big(700, 'x');
  for (std::uint64_t session = 0; session < 8; ++session) {
    c.send_request("mallory", session, 1, "put m" + std::to_string(session) + " " + big);
  }
  for (std::uint64_t session = 0; session < 8; ++session) {
    c.send_request("alice", session, 1, "put a" + std::to_string(session) + " 1");
  }
  ASSERT_TRUE(c.run_until([&] {
    for (std::uint64_t session = 0; session < 8; ++session) {
      if (!c.accepted("alice", session, 1)) return false;
    }
    return true;
  }));
  // Alice's eight ride along the first of Mallory's batches (a few may go before all are ready);
  // before, each of Mallory's large requests ended its batch after one of Alice's.
  std::size_t mallory_before = 0;
  std::size_t alice_done = 0;
  for (const auto& [client, number] : c.app(0).history) {
    if (alice_done == 8) break;
    if (client.principal == "alice") ++alice_done;
    if (client.principal == "mallory") ++mallory_before;
  }
  EXPECT_LE(mallory_before, 4u);
  ASSERT_TRUE(c.run_until([&] {
    for (std::uint64_t session = 0; session < 8; ++session) {
      if (!c.accepted("mallory", session, 1)) return false;
    }
    return true;
  }));
  EXPECT_EQ(c.app(0).history.size(), 16u);
}

// Alice's requests 1..count, each ordered before the next is sent.
void order_at_the_usual_pace(Cluster& c, std::uint64_t count) {
  for (std::uint64_t n = 1; n <= count; ++n) {
    c.send_request("alice", 1, n, "put x " + std::to_string(n));
    ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, n).has_value(); }));
  }
}

// The backups replaced the primary as slow within `within` of `slow_from`, before any request
// timed out; with the primary's messages no longer rewritten, alice's request `last` completes.
void expect_replaced_as_slow(Cluster& c, TimeUs slow_from, TimeUs within, std::uint64_t last) {
  EXPECT_GE(c.replica(1).status().view, 1u);
  EXPECT_LT(c.now() - slow_from, within);
  EXPECT_GT(total(c, "slow_primary.timeouts"), 0u);
  EXPECT_EQ(total(c, "request_timeouts"), 0u);
  c.rewrite = nullptr;
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, last).has_value(); }));
}

TEST(SlowPrimary, OneHoldingItsPrePreparesIsReplacedLongBeforeTheRequestTimeout) {
  // After ten requests at the usual pace the primary holds each pre-prepare 800 ms, just under
  // the 1 s request timeout. The backups forgive the first slow gap (a lost message looks the
  // same) and change view at the second, 100 ms into it.
  Cluster c([](Config& cfg) { cfg.request_timeout_us = 1'000'000; });
  ASSERT_NO_FATAL_FAILURE(order_at_the_usual_pace(c, 10));
  std::deque<std::pair<TimeUs, Envelope>> held;
  c.rewrite = [&](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from != 0 || e.type() != MsgType::kPrePrepare) return std::nullopt;
    held.emplace_back(c.now() + 800'000, e);
    return std::vector<Envelope>{};
  };
  const TimeUs slow_from = c.now();
  std::uint64_t next = 11;
  c.send_request("alice", 1, next, "put x 11");
  while (c.replica(1).status().view == 0 && c.now() - slow_from < 5'000'000) {
    c.advance(10'000);
    while (!held.empty() && held.front().first <= c.now()) {
      c.inject(0, held.front().second.to, *held.front().second.bytes);
      held.pop_front();
    }
    c.deliver();
    if (c.accepted("alice", 1, next)) {
      ++next;
      c.send_request("alice", 1, next, "put x " + std::to_string(next));
    }
  }
  expect_replaced_as_slow(c, slow_from, 1'200'000, next);
}

TEST(SlowPrimary, OneReleasingItsPrePreparesInBurstsIsReplacedToo) {
  // The primary holds its pre-prepares and releases all it holds together once the oldest has
  // waited 800 ms (as `bastiond --byzantine slow-primary` does with a pipeline): every slow gap
  // is followed by fast ones, the rest of the burst, which must not forgive it.
  Cluster c([](Config& cfg) { cfg.request_timeout_us = 1'000'000; });
  ASSERT_NO_FATAL_FAILURE(order_at_the_usual_pace(c, 10));
  std::vector<Envelope> held;
  TimeUs oldest = 0;
  c.rewrite = [&](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from != 0 || e.type() != MsgType::kPrePrepare) return std::nullopt;
    if (held.empty()) oldest = c.now();
    held.push_back(e);
    return std::vector<Envelope>{};
  };
  const TimeUs slow_from = c.now();
  std::uint64_t next = 10;
  TimeUs last_sent = 0;
  while (c.replica(1).status().view == 0 && c.now() - slow_from < 5'000'000) {
    if (c.now() - last_sent >= 150'000) {  // a new request every 150 ms: batches keep coming
      ++next;
      c.send_request("alice", 1, next, "put x " + std::to_string(next));
      last_sent = c.now();
    }
    c.advance(10'000);
    if (!held.empty() && c.now() - oldest >= 800'000) {
      for (const Envelope& e : held) c.inject(0, e.to, *e.bytes);
      held.clear();
    }
    c.deliver();
  }
  expect_replaced_as_slow(c, slow_from, 2'500'000, next);
}

TEST(RequestTimers, AnEvictedSessionsRequestAboveTheNewWindowIsNeitherProposedNorTimed) {
  // Mallory's session 1 sends #8 (inside its window: 4 executed, window 4), which the backups
  // time while the primary has not heard of it yet. Her sessions 2 and 3 then evict session 1,
  // and #8 is above the window of a new session 1: it can never execute. The backups stop
  // timing it, and the primary, told of it at last, does not propose it (its peers dropped the
  // vouches and could never accept it). Before, the backups timed it out, and each new primary
  // that held it proposed it and was replaced in turn.
  Cluster c([](Config& cfg) {
    cfg.client_window = 4;
    cfg.sessions_per_principal_max = 2;
  });
  for (std::uint64_t n = 1; n <= 4; ++n) {
    c.send_request("mallory", 1, n, "put m " + std::to_string(n));
    c.deliver();
    ASSERT_EQ(c.accepted("mallory", 1, n), "ok");
  }
  bool hide = true;  // mallory's #8 from the primary
  c.filter = [&](const Envelope& e) {
    if (!hide || e.to != 0 || e.type() != MsgType::kVouch) return true;
    auto m = decode_message(*e.bytes);
    if (!m) return true;
    for (const VouchEntry& v : std::get<VouchMsg>(*m).entries) {
      if (v.client.session == 1 && v.number == 8) return false;
    }
    return true;
  };
  c.send_request("mallory", 1, 8, "put m8 1", false, std::vector<ReplicaId>{1, 2, 3});
  c.advance(200'000);
  for (ReplicaId i = 1; i < c.n(); ++i) EXPECT_EQ(c.replica(i).debug_sizes()["pool.timers"], 1u);
  for (std::uint64_t session : {2, 3}) {
    c.send_request("mallory", session, 1, "put s " + std::to_string(session));
    c.deliver();
    ASSERT_EQ(c.accepted("mallory", session, 1), "ok");
  }
  for (ReplicaId i = 1; i < c.n(); ++i) EXPECT_EQ(c.replica(i).debug_sizes()["pool.timers"], 0u);
  hide = false;
  c.advance(5 * c.config(0).request_timeout_us);
  EXPECT_EQ(total(c, "request_timeouts"), 0u);
  EXPECT_EQ(c.replica(1).status().view, 0u);
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.count("m8"), 0u) << i;
  c.send_request("alice", 1, 1, "put a 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Vouches, RequestSentToOneBackupIsNeverOrderedAndTriggersNoViewChange) {
  Cluster c;
  c.send_request("mallory", 1, 1, "put x 1", false, std::vector<ReplicaId>{2});
  c.advance(10'000'000);
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().last_executed, 0u) << i;
    EXPECT_EQ(c.replica(i).status().view, 0u) << i;
  }
  EXPECT_EQ(total(c, "view_changes"), 0u);
  // The service is unaffected for others.
  c.send_request("alice", 1, 1, "put y 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Vouches, RequestSentOnlyToThePrimaryIsNeverOrdered) {
  Cluster c;
  c.send_request("mallory", 1, 1, "put x 1", false, std::vector<ReplicaId>{0});
  c.advance(5'000'000);
  EXPECT_EQ(c.replica(0).status().last_executed, 0u);
  EXPECT_EQ(total(c, "view_changes"), 0u);
}

TEST(Vouches, RequestSentToFPlusOneIsOrderedEverywhere) {
  // f+1 vouches make it authentic to the others, who fetch it and vouch: 2f+1 vouches.
  // Vouches go to the primary at once: it fetches the request and proposes it. Replica 3, which
  // never got it, learns the executed batch by catch-up (the others' vouches to it are deferred
  // and dropped once the request executed).
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1", false, std::vector<ReplicaId>{1, 2});
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_GT(c.counter(0, "fetch.requests_sent"), 0u);
  ASSERT_TRUE(c.run_until([&] { return c.replica(3).status().last_executed == 1; }));
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.at("x"), "1") << i;
  expect_agreement(c);
}

TEST(Vouches, RequestSentToTwoFPlusOneIsOrderedAndTheLastReplicaExecutesIt) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1", false, std::vector<ReplicaId>{0, 1, 2});
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  ASSERT_TRUE(c.run_until([&] { return c.replica(3).status().last_executed == 1; }));
  EXPECT_EQ(c.app(3).kv.at("x"), "1");
}

TEST(Vouches, VouchesGoToThePrimaryFirstAndToTheOthersOnlyIfStillNeeded) {
  Cluster c;
  std::map<ReplicaId, std::size_t> vouch_messages_to;
  c.filter = [&](const Envelope& e) {
    if (e.type() == MsgType::kVouch) ++vouch_messages_to[e.to];
    return true;
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_EQ(c.accepted("alice", 1, 1), "ok");
  c.advance(100'000);  // past vouch_defer_us: the request executed, nothing more is sent
  EXPECT_EQ(vouch_messages_to[0], 3u);  // one from each backup
  EXPECT_EQ(vouch_messages_to[1] + vouch_messages_to[2] + vouch_messages_to[3], 0u);
  // A request the primary does not order: the deferred vouches go to everyone, so the backups
  // see 2f+1 of them and start suspecting the primary.
  c.filter = [&](const Envelope& e) {
    if (e.type() == MsgType::kVouch) ++vouch_messages_to[e.to];
    return !(e.from == 0 && e.type() == MsgType::kPrePrepare);
  };
  c.send_request("alice", 1, 2, "put x 2");
  c.advance(100'000);
  EXPECT_GT(vouch_messages_to[1], 0u);
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 2).has_value(); }));
  EXPECT_GE(c.replica(1).status().view, 1u);
}

TEST(Vouches, EquivocatingClientDelaysOnlyItself) {
  // Different payloads under one number to different replicas: at most one of them executes, no
  // correct replica suspects the primary, and other clients proceed.
  Cluster c;
  c.send_request("mallory", 1, 1, "put x a", false, std::vector<ReplicaId>{0, 1});
  c.send_request("mallory", 1, 1, "put x b", false, std::vector<ReplicaId>{2, 3});
  c.advance(5'000'000);
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_LE(c.app(i).history.size(), 1u);
    EXPECT_EQ(c.app(i).kv, c.app(0).kv);
  }
  EXPECT_EQ(total(c, "view_changes"), 0u);
  c.send_request("alice", 1, 1, "put y 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  expect_agreement(c);
}

TEST(Vouches, ThreeWayEquivocationUnderOneNumberExecutesAtMostOnce) {
  Cluster c;
  c.send_request("mallory", 1, 1, "put x a", false, std::vector<ReplicaId>{0, 1, 2});
  c.send_request("mallory", 1, 1, "put x b", false, std::vector<ReplicaId>{3});
  c.deliver();
  EXPECT_EQ(c.accepted("mallory", 1, 1), "ok");
  ASSERT_TRUE(c.run_until([&] { return c.replica(3).status().last_executed == 1; }));
  for (ReplicaId i = 0; i < c.n(); ++i) {
    ASSERT_EQ(c.app(i).history.size(), 1u);
    EXPECT_EQ(c.app(i).kv.at("x"), "a");
  }
}

TEST(Vouches, ACensoringPrimaryIsReplaced) {
  // The primary never proposes alice's request although 2f+1 replicas vouched for it.
  Cluster c;
  c.rewrite = [](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from == 0 && e.type() == MsgType::kPrePrepare) return std::vector<Envelope>{};
    return std::nullopt;
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_GE(c.replica(1).status().view, 1u);
  EXPECT_GT(total(c, "request_timeouts"), 0u);
}

TEST(Vouches, LostVouchesAreResentWhenTheClientRetransmits) {
  Cluster c;
  bool drop_vouches = true;
  c.filter = [&](const Envelope& e) { return !(drop_vouches && e.type() == MsgType::kVouch); };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_FALSE(c.accepted("alice", 1, 1).has_value());
  drop_vouches = false;
  c.advance(300'000);
  c.send_request("alice", 1, 1, "put x 1");  // the client retransmits
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

}  // namespace
}  // namespace bastion::bft::test
