// Restarts from persisted records: nothing acknowledged is lost, no vote is ever contradicted,
// and a replica that crashed in the middle of a view change finishes it.
#include <gtest/gtest.h>

#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

void run_requests(Cluster& c, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t k = first; k < first + count; ++k) {
    c.send_request("alice", 1, k, "put x " + std::to_string(k));
    c.deliver();
  }
}

TEST(Recovery, RestartedBackupReplaysCommittedBatchesAboveItsStableCheckpoint) {
  Cluster c;
  run_requests(c, 1, 10);
  c.crash(1);
  c.restart(1);
  const auto st = c.replica(1).status();
  EXPECT_EQ(st.last_executed, 10u);
  EXPECT_EQ(st.stable_checkpoint, 8u);
  EXPECT_EQ(c.counter(1, "batches.replayed"), 2u);  // 9 and 10; 1..8 come from the checkpoint
  EXPECT_EQ(c.app(1).kv, c.app(0).kv);
  // The replayed batches are reported, flagged.
  ASSERT_GE(c.executed[1].size(), 2u);
  EXPECT_TRUE(c.executed[1].back().replayed);
  // And it keeps working, with cached replies intact.
  c.replies.clear();
  c.send_request("alice", 1, 10, "put x 10");
  c.deliver();
  EXPECT_EQ(c.replies_for("alice", 1, 10).size(), c.n());
  run_requests(c, 11, 3);
  EXPECT_EQ(c.replica(1).status().last_executed, 13u);
  expect_agreement(c);
}

TEST(Recovery, WholeClusterRestartKeepsEveryAcknowledgedRequest) {
  Cluster c;
  run_requests(c, 1, 13);
  for (ReplicaId i = 0; i < c.n(); ++i) c.crash(i);
  for (ReplicaId i = 0; i < c.n(); ++i) c.restart(i);
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(c.replica(i).status().last_executed, 13u);
    EXPECT_EQ(c.app(i).kv.at("x"), "13");
  }
  // Every replica abstains in view 0 after its restart: the next requests need view 1.
  c.send_request("alice", 1, 14, "put x 14");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 14).has_value(); }));
  EXPECT_EQ(c.accepted("alice", 1, 14), "ok");
  EXPECT_GE(c.replica(1).status().view, 1u);
  expect_agreement(c);
}

TEST(Recovery, WholeClusterCrashLosingUnsyncedRecordsKeepsEveryAcknowledgedRequest) {
  // The worst case the driver allows: only what an Output::sync made durable survives (commit
  // records and pre-prepares that were not followed by a sync are gone).
  Cluster c;
  run_requests(c, 1, 13);
  for (std::uint64_t k = 1; k <= 13; ++k) ASSERT_EQ(c.accepted("alice", 1, k), "ok") << k;
  for (ReplicaId i = 0; i < c.n(); ++i) c.crash(i, /*lose_unsynced=*/true);
  for (ReplicaId i = 0; i < c.n(); ++i) c.restart(i);
  // The batches whose commit records were lost commit again from the durable certificates.
  ASSERT_TRUE(c.run_until([&] {
    for (ReplicaId i = 0; i < c.n(); ++i) {
      if (c.replica(i).status().last_executed < 13) return false;
    }
    return true;
  }));
  for (ReplicaId i = 0; i < c.n(); ++i) EXPECT_EQ(c.app(i).kv.at("x"), "13") << i;
  c.send_request("alice", 1, 14, "put x 14");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 14).has_value(); }));
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(Recovery, RestartedPrimaryAbstainsAndIsReplaced) {
  Cluster c;
  run_requests(c, 1, 5);
  c.crash(0, /*lose_unsynced=*/true);
  c.restart(0);
  c.send_request("alice", 1, 6, "put x 6");
  c.deliver();
  EXPECT_FALSE(c.accepted("alice", 1, 6).has_value());  // it proposes nothing in view 0
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 6).has_value(); }));
  EXPECT_GE(c.replica(1).status().view, 1u);
  run_requests(c, 7, 2);
  EXPECT_EQ(c.accepted("alice", 1, 8), "ok");
  expect_agreement(c);
  expect_each_executed_once(c);
}

TEST(Recovery, RestartedBackupAbstainsInItsViewAndVotesAgainInTheNext) {
  Cluster c;
  run_requests(c, 1, 3);
  c.crash(1, /*lose_unsynced=*/true);
  c.restart(1);
  // The others order without its prepares; it still executes (prepared by theirs). Seq 3, lost
  // with its unsynced records, it gets with the state of checkpoint 4, fetched once a
  // retransmission interval has given the commits of its log a chance.
  run_requests(c, 4, 3);
  c.advance(c.config(1).retransmit_interval_us);
  EXPECT_EQ(c.accepted("alice", 1, 6), "ok");
  EXPECT_GE(c.counter(1, "recovery.abstained"), 3u);
  EXPECT_EQ(c.replica(1).status().last_executed, 6u);
  // View 1, whose primary it is: it proposes again.
  c.crash(0);
  c.send_request("alice", 1, 7, "put x 7");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 7).has_value(); }));
  EXPECT_EQ(c.replica(1).status().view, 1u);
  EXPECT_GT(c.counter(1, "batches.proposed"), 0u);
  expect_agreement(c);
}

TEST(Recovery, ReplicaThatLostItsPrepareRecordNeverPreparesAgainInThatView) {
  Cluster c;
  // Replica 1 accepts seq 1 and its PREPARE leaves, but it never becomes prepared (no prepares
  // reach it), so nothing made the record durable; then it crashes.
  c.filter = [](const Envelope& e) {
    return e.type() != MsgType::kCommit && !(e.type() == MsgType::kPrepare && e.to == 1);
  };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  c.crash(1, /*lose_unsynced=*/true);
  c.restart(1);
  // A conflicting pre-prepare for the same view and seq gets no PREPARE from it.
  std::size_t view0_prepares_from_1 = 0;
  c.filter = [&](const Envelope& e) {
    if (e.from == 1 && e.type() == MsgType::kPrepare) {
      view0_prepares_from_1 += std::get<PrepareMsg>(*decode_message(*e.bytes)).view == 0 ? 1 : 0;
    }
    return false;
  };
  Request y{ClientKey{"bob", 1}, 1, false, to_bytes("put y 1")};
  c.send_request("bob", 1, 1, "put y 1");
  PrePrepareMsg pp;
  pp.header = BatchHeader{0, 1, c.now(), batch_digest({y}), false};
  pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
  pp.batch = {y};
  c.inject(0, 1, encode_message(pp));
  c.advance(1'000'000);
  EXPECT_EQ(view0_prepares_from_1, 0u);
  EXPECT_GE(c.counter(1, "recovery.abstained"), 1u);
}

TEST(Recovery, NeverSendsADifferentPrepareAfterARestart) {
  Cluster c;
  // Replica 1 accepts seq 1 (and persists it) but its PREPARE is lost; then it restarts.
  c.filter = [](const Envelope& e) { return e.from != 1 && e.type() != MsgType::kCommit; };
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  c.crash(1);
  c.restart(1);
  // A (forged) conflicting pre-prepare for the same view and seq is refused.
  Request y{ClientKey{"bob", 1}, 1, false, to_bytes("put y 1")};
  PrePrepareMsg pp;
  pp.header = BatchHeader{0, 1, c.now(), batch_digest({y}), false};
  pp.signature = sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
  pp.batch = {y};
  c.inject(0, 1, encode_message(pp));
  EXPECT_EQ(c.counter(1, "drop.conflict"), 1u);
  // Its retransmitted PREPARE is the one it persisted.
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_EQ(c.app(1).kv.at("x"), "1");
  expect_agreement(c);
}

TEST(Recovery, ReplicaRestartedInTheMiddleOfAViewChangeFinishesIt) {
  Cluster c;
  c.crash(0);
  // No NEW-VIEW gets through for now: the view change cannot complete.
  bool block_new_view = true;
  c.filter = [&](const Envelope& e) { return !(block_new_view && e.type() == MsgType::kNewView); };
  c.send_request("alice", 1, 1, "put x 1");
  ASSERT_TRUE(c.run_until([&] { return c.replica(2).status().view_changing; }));
  const ViewNum view = c.replica(2).status().view;
  c.crash(2);
  c.restart(2);
  EXPECT_TRUE(c.replica(2).status().view_changing);
  EXPECT_EQ(c.replica(2).status().view, view);
  block_new_view = false;
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  ASSERT_TRUE(c.run_until([&] { return c.replica(2).status().last_executed == 1; }));
  EXPECT_FALSE(c.replica(2).status().view_changing);
  expect_agreement(c);
}

TEST(Recovery, CorruptStableStateIsNotTrustedAndIsFetchedAgain) {
  Cluster c;
  run_requests(c, 1, 10);
  c.crash(3);
  for (auto& r : c.disk[3]) {
    if (auto* cp = std::get_if<CheckpointRecord>(&r); cp != nullptr && cp->seq == 8) {
      Bytes damaged = *cp->state.whole();
      damaged.back() ^= 1;
      cp->state = std::make_shared<const Bytes>(std::move(damaged));
    }
  }
  c.restart(3);
  EXPECT_EQ(c.counter(3, "recovery.bad_state"), 1u);
  ASSERT_TRUE(c.run_until([&] { return c.replica(3).status().last_executed == 10; }));
  EXPECT_EQ(c.counter(3, "state_transfers.completed"), 1u);
  EXPECT_EQ(c.app(3).kv, c.app(0).kv);
}

// persist.h: a COMMIT leaves only once its PreparedRecord is durable, and nothing the replica
// sends afterwards (its reply included) overtakes it.
TEST(PersistBeforeSend, TheCoreHoldsSendsUntilTheDriverReportsTheirRecordsDurable) {
  Cluster c;
  std::size_t commits_from_1 = 0;
  c.filter = [&](const Envelope& e) {
    if (e.from == 1 && e.type() == MsgType::kCommit) ++commits_from_1;
    return true;
  };
  c.stall_disk(1);
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  // The others commit and answer without replica 1's COMMIT; replica 1 executes but holds it.
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_EQ(c.replica(1).status().last_executed, 1u);
  EXPECT_EQ(commits_from_1, 0u);
  EXPECT_EQ(c.replies_for("alice", 1, 1).size(), c.n() - 1);
  EXPECT_GT(c.replica(1).held_send_bytes(), 0u);

  c.unstall_disk(1);
  c.deliver();
  EXPECT_EQ(commits_from_1, c.n() - 1);
  EXPECT_EQ(c.replies_for("alice", 1, 1).size(), c.n());
  EXPECT_EQ(c.replica(1).held_send_bytes(), 0u);
  expect_agreement(c);
}

TEST(PersistBeforeSend, ADriverReportingRecordsItWasNeverGivenAborts) {
  Cluster c;
  EXPECT_DEATH(c.replica(1).on_durable(1'000'000), "records <= records_taken_");
}

TEST(PersistedStateBuilder, KeepsTheLatestRecordsAboveTheStableCheckpoint) {
  PersistedStateBuilder b;
  auto pp = [](ViewNum v, SeqNum s) {
    PrePrepareMsg m;
    m.header = BatchHeader{v, s, 10, Digest{}, false};
    return PrePreparedRecord{m};
  };
  b.add(ViewRecord{1, true});
  b.add(pp(0, 3));
  b.add(pp(0, 5));
  b.add(pp(1, 3));  // replaces the earlier record for seq 3
  b.add(CommittedRecord{BatchHeader{0, 4, 1, Digest{}, false}, std::nullopt});
  b.add(CheckpointRecord{4, Digest{1}, std::make_shared<const Bytes>(),
                         std::make_shared<const Bytes>(Bytes{1, 2})});
  b.add(CheckpointRecord{8, Digest{2}, std::make_shared<const Bytes>(),
                         std::make_shared<const Bytes>(Bytes{3})});
  CheckpointProofMsg proof;
  proof.seq = 4;
  proof.state_digest = Digest{1};
  b.add(StableRecord{proof});
  const PersistedState& s = b.state();
  EXPECT_EQ(s.view.view, 1u);
  EXPECT_TRUE(s.view.view_changing);
  ASSERT_TRUE(s.stable && s.stable_state);
  EXPECT_EQ(s.stable_state->seq, 4u);
  EXPECT_EQ(*s.stable_state->state.whole(), (Bytes{1, 2}));
  ASSERT_EQ(s.pre_prepared.size(), 1u);  // seq 3 is below the stable checkpoint
  EXPECT_EQ(s.pre_prepared[0].pre_prepare.header.seq, 5u);
  EXPECT_TRUE(s.committed.empty());
  ASSERT_EQ(s.checkpoints.size(), 1u);
  EXPECT_EQ(s.checkpoints[0].seq, 8u);
  // An older stable record changes nothing.
  proof.seq = 0;
  b.add(StableRecord{proof});
  EXPECT_EQ(b.state().stable->proof.seq, 4u);
}

}  // namespace
}  // namespace bastion::bft::test
