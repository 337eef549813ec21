// View change (PBFT 4.4) and its liveness rules (4.5.2).
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

std::uint64_t size_of(Cluster& c, ReplicaId i, const std::string& name) {
  return c.replica(i).debug_sizes().at(name);
}

TEST(ViewChange, PrimaryCrashIsDetectedAndTheNextPrimaryOrders) {
  Cluster c;
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  c.crash(0);
  c.send_request("alice", 1, 2, "put x 2");
  c.deliver();
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 2).has_value(); }));
  for (ReplicaId i = 1; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().view, 1u);
    EXPECT_FALSE(c.replica(i).status().view_changing);
    EXPECT_EQ(c.app(i).kv.at("x"), "2");
  }
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(ViewChange, VotesThatOvertakeTheNewViewAreKeptForIt) {
  // The NEW-VIEW to replica 3 arrives after the new primary's PRE-PREPARE and replica 2's
  // PREPARE of view 1. With replica 0 down, view 1 needs replica 3's votes: it orders at once,
  // without waiting for anyone's retransmission.
  Cluster c;
  c.crash(0);
  std::vector<Envelope> late;
  bool released = false;
  c.filter = [&](const Envelope& e) {
    if (released || e.type() != MsgType::kNewView || e.to != 3) return true;
    late.push_back(e);
    return false;
  };
  c.send_request("alice", 1, 1, "put x 1");
  ASSERT_TRUE(c.run_until([&] { return !late.empty(); }));
  c.deliver();
  EXPECT_FALSE(c.accepted("alice", 1, 1).has_value());
  EXPECT_GE(c.counter(3, "votes.early_kept"), 2u);  // the PRE-PREPARE and replica 2's PREPARE
  EXPECT_GE(size_of(c, 3, "view_change.early_votes"), 2u);
  released = true;
  c.inject(1, 3, *late.front().bytes);
  c.deliver();  // no time passes
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_EQ(size_of(c, 3, "view_change.early_votes"), 0u);
  EXPECT_EQ(c.replica(3).status().view, 1u);
  expect_agreement(c);
}

TEST(ViewChange, EarlyVotesAreBoundedPerSender) {
  // A faulty replica sending votes for views nobody is in keeps at most a log window of each
  // kind, for its latest view only.
  Cluster c;
  const Config& cfg = c.config(2);
  for (ViewNum v : {ViewNum{5}, ViewNum{7}}) {
    for (SeqNum s = 1; s <= 3 * cfg.log_window; ++s) {
      PrepareMsg p{v, s, Digest{}, 2, {}};
      p.signature = sign_as(2, SignDomain::kPrepare, prepare_signed_bytes(p));
      c.inject(2, 3, encode_message(p));
    }
  }
  EXPECT_EQ(size_of(c, 3, "view_change.early_votes"), cfg.log_window);
  EXPECT_EQ(c.counter(3, "votes.early_kept"), 2u * cfg.log_window);
  EXPECT_EQ(c.replica(3).status().view, 0u);
}

TEST(ViewChange, PreparedButNotCommittedBatchSurvivesAtTheSameSeq) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kCommit; };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().last_executed, 0u);
    EXPECT_EQ(size_of(c, i, "log.certs"), 1u) << i;
  }
  c.crash(0);
  // View 0 never commits (retransmitted COMMITs of view 0 are lost too).
  c.filter = [](const Envelope& e) {
    if (e.type() != MsgType::kCommit) return true;
    return std::get<CommitMsg>(*decode_message(*e.bytes)).view != 0;
  };
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  for (ReplicaId i = 1; i < c.n(); ++i) {
    ASSERT_FALSE(c.executed[i].empty());
    // Re-proposed at seq 1 with the original digest: the committed-in-view-0 decision holds.
    EXPECT_EQ(c.executed[i][0].seq, 1u);
    EXPECT_EQ(c.executed[i][0].requests, 1u);
    EXPECT_EQ(c.executed[i][0].view, 1u);
    EXPECT_EQ(c.app(i).history.size(), 1u);
  }
  expect_agreement(c);
}

TEST(ViewChange, CommittedAtSomeReplicasIsNotLostOrReordered) {
  // Only replica 3 commits and executes seq 1 in view 0 (it alone receives COMMITs); the others
  // are prepared. After the view change seq 1 must be the same batch everywhere.
  Cluster c;
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kCommit || e.to == 3; };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_EQ(c.replica(3).status().last_executed, 1u);
  EXPECT_EQ(c.replica(1).status().last_executed, 0u);
  const Digest committed = c.executed[3][0].batch_digest;
  c.crash(0);
  c.filter = nullptr;
  c.send_request("alice", 1, 2, "put x 2");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 2).has_value(); }));
  for (ReplicaId i = 1; i < c.n(); ++i) {
    EXPECT_EQ(c.executed[i][0].batch_digest, committed) << i;
    EXPECT_EQ(c.app(i).kv.at("x"), "2");
  }
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(ViewChange, PrimaryEquivocatesInViewZero) {
  // The primary sends a different batch for seq 1 to each backup.
  Cluster c;
  c.rewrite = [&](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from != 0 || e.type() != MsgType::kPrePrepare) return std::nullopt;
    auto m = decode_message(*e.bytes);
    PrePrepareMsg pp = std::get<PrePrepareMsg>(*m);
    if (e.to == 2) pp.batch.clear();             // an empty batch
    if (e.to == 3) pp.header.timestamp_us += 1;  // same requests, another timestamp
    pp.header.batch_digest = batch_digest(pp.batch);
    pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(pp))}};
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.replica(i).status().last_executed, 0u);
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  for (ReplicaId i = 1; i < c.n(); ++i) EXPECT_GE(c.replica(i).status().view, 1u);
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(ViewChange, EquivocationAfterWhichTwoBackupsPrepareTheSameBatch) {
  // Backups 2 and 3 get batch B (empty), backup 1 gets A: 2 and 3 prepare B (2f prepares) but
  // nothing commits. B must be the batch at seq 1 after the view change.
  Cluster c;
  c.rewrite = [&](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.from != 0 || e.type() != MsgType::kPrePrepare || e.to == 1) return std::nullopt;
    auto m = decode_message(*e.bytes);
    PrePrepareMsg pp = std::get<PrePrepareMsg>(*m);
    pp.batch.clear();
    pp.header.batch_digest = batch_digest(pp.batch);
    pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(pp))}};
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(size_of(c, 2, "log.certs"), 1u);
  c.rewrite = nullptr;
  c.crash(0);
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  for (ReplicaId i = 1; i < c.n(); ++i) {
    EXPECT_EQ(c.executed[i][0].seq, 1u);
    EXPECT_EQ(c.executed[i][0].batch_digest, batch_digest({}));
  }
  expect_agreement(c);
}

ViewChangeMsg forged_view_change(ReplicaId from, ViewNum view) {
  ViewChangeMsg vc;
  vc.new_view = view;
  vc.replica = from;
  vc.signature = sign_as(from, SignDomain::kViewChange, view_change_signed_bytes(vc));
  return vc;
}

TEST(ViewChangeLiveness, JoinsOnFPlusOneViewChanges) {
  Cluster c;
  c.inject(1, 3, encode_message(forged_view_change(1, 1)));
  EXPECT_EQ(c.replica(3).status().view, 0u);  // one may be faulty
  c.inject(2, 3, encode_message(forged_view_change(2, 1)));
  EXPECT_EQ(c.replica(3).status().view, 1u);  // f+1: one of them is correct
  EXPECT_TRUE(c.replica(3).status().view_changing);
  EXPECT_EQ(c.counter(3, "view_change.joins"), 1u);
}

TEST(ViewChangeLiveness, JoinsTheSmallestViewAmongTheFPlusOneHighest) {
  Cluster c(2);  // f = 2: three view-changes needed
  c.inject(1, 6, encode_message(forged_view_change(1, 1000)));
  c.inject(2, 6, encode_message(forged_view_change(2, 5)));
  EXPECT_EQ(c.replica(6).status().view, 0u);
  c.inject(3, 6, encode_message(forged_view_change(3, 7)));
  EXPECT_EQ(c.replica(6).status().view, 5u);
}

TEST(ViewChangeLiveness, OneFaultyReplicaCannotMoveOthersToAnyView) {
  Cluster c;
  for (ViewNum v : {ViewNum{1}, ViewNum{2}, ViewNum{1'000'000}, ~ViewNum{0} - 1}) {
    c.inject(3, 1, encode_message(forged_view_change(3, v)));
  }
  EXPECT_EQ(c.replica(1).status().view, 0u);
  EXPECT_EQ(size_of(c, 1, "view_change.buffered"), 1u);  // only its latest
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(ViewChangeLiveness, FailedViewChangeMovesOnWithADoubledTimeout) {
  // f = 2: primaries of views 0 and 1 are down; view 1 never completes, view 2 does.
  Cluster c(2);
  c.crash(0);
  c.crash(1);
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }, 60'000'000));
  for (ReplicaId i = 2; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().view, 2u);
    EXPECT_GE(c.counter(i, "view_change.timeouts"), 1u);
  }
  expect_agreement(c);
}

TEST(ViewChange, NewPrimaryWithoutTheBatchBodyFetchesIt) {
  // Replica 1 (primary of view 1) never sees seq 1's pre-prepare; the others prepare it.
  Cluster c;
  c.filter = [](const Envelope& e) {
    if (e.type() == MsgType::kCommit) return false;
    return !(e.type() == MsgType::kPrePrepare && e.to == 1);
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(size_of(c, 2, "log.certs"), 1u);
  EXPECT_EQ(size_of(c, 1, "log.certs"), 0u);
  c.crash(0);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return c.replica(1).status().last_executed >= 1; }));
  EXPECT_EQ(c.app(1).kv.at("x"), "1");
  EXPECT_GE(c.counter(1, "fetch.batch_sent"), 1u);
  expect_agreement(c);
}

TEST(ViewChange, AfterStableCheckpointsTheNewViewStartsAboveThem) {
  Cluster c;
  for (std::uint64_t k = 1; k <= 10; ++k) {
    c.send_request("alice", 1, k, "put x " + std::to_string(k));
    c.deliver();
  }
  EXPECT_EQ(c.replica(1).status().stable_checkpoint, 8u);
  c.crash(0);
  c.send_request("alice", 1, 11, "put x 11");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 11).has_value(); }));
  for (ReplicaId i = 1; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.at("x"), "11");
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(ViewChange, SeveralViewChangesInARowKeepAgreement) {
  Cluster c;
  std::uint64_t number = 1;
  for (ReplicaId down : {ReplicaId{0}, ReplicaId{1}, ReplicaId{2}}) {
    c.crash(down);
    c.send_request("alice", 1, number, "put x " + std::to_string(number));
    ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, number).has_value(); }))
        << "with " << down << " down";
    c.restart(down);
    ++number;
  }
  c.send_request("alice", 1, number, "put x last");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, number).has_value(); }));
  ASSERT_TRUE(c.run_until([&] {
    for (ReplicaId i = 0; i < c.n(); ++i) {
      if (c.replica(i).status().last_executed != c.replica(3).status().last_executed) return false;
    }
    return true;
  }));
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.at("x"), "last") << i;
  expect_agreement(c);
}

}  // namespace
}  // namespace bastion::bft::test
