// Checkpoints and garbage collection (PBFT 4.3), catching up within the log, and state transfer
// for a replica that fell behind the stable checkpoint.
#include <gtest/gtest.h>

#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

void run_requests(Cluster& c, std::uint64_t first, std::uint64_t count,
                  const std::string& who = "alice") {
  for (std::uint64_t k = first; k < first + count; ++k) {
    c.send_request(who, 1, k, "put x" + std::to_string(k % 7) + " " + std::to_string(k));
    c.deliver();
  }
}

bool all_executed(Cluster& c, SeqNum seq) {
  for (ReplicaId i = 0; i < c.n(); ++i) {
    if (c.up(i) && c.replica(i).status().last_executed < seq) return false;
  }
  return true;
}

void expect_same_state(Cluster& c) {
  for (ReplicaId i = 1; i < c.n(); ++i) {
    EXPECT_EQ(c.app(i).kv, c.app(0).kv) << "replica " << i;
    EXPECT_EQ(c.replica(i).status().last_executed, c.replica(0).status().last_executed);
  }
}

// Answers replica i's capture `asked` as a driver does on the spot, and delivers what follows.
void capture_on_the_spot(Cluster& c, ReplicaId i, const CaptureRequest& asked) {
  c.replica(i).on_checkpoint_captured(asked.id, CapturedState::of(c.replica(i).checkpoint_state()),
                                      c.clock(i));
  c.collect(i);
  c.deliver();
}

// state_capture.h: at a checkpoint seq execution stops until the driver captures the state.
TEST(CheckpointCapture, ExecutionWaitsForTheDriverToCaptureTheState) {
  Cluster c;  // a checkpoint every 4 seqs
  c.hold_captures(1);
  run_requests(c, 1, 6);
  EXPECT_EQ(c.replica(0).status().last_executed, 6u);
  EXPECT_EQ(c.replica(1).status().last_executed, 4u);
  const std::optional<CaptureRequest> asked = c.capture_asked(1);
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->seq, 4u);

  capture_on_the_spot(c, 1, *asked);  // the state of seq 4, and execution goes on
  EXPECT_FALSE(c.capture_asked(1));
  EXPECT_EQ(c.replica(1).status().last_executed, 6u);
  EXPECT_EQ(c.replica(1).status().last_checkpoint_digest,
            c.replica(0).status().last_checkpoint_digest);
  expect_same_state(c);
}

// The capture is part of executing the checkpoint's batch: until the driver answers, the
// replica does nothing else of the event's work either (here: the primary proposes nothing).
TEST(CheckpointCapture, APrimaryWaitingForACaptureProposesOnlyOnceItIsAnswered) {
  Cluster c;
  c.hold_captures(0);
  run_requests(c, 1, 4);
  const std::optional<CaptureRequest> asked = c.capture_asked(0);
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->seq, 4u);
  const std::uint64_t proposed = c.replica(0).counters().at("batches.proposed");

  run_requests(c, 5, 1);  // reaches the primary, vouched for by all
  EXPECT_EQ(c.replica(0).counters().at("batches.proposed"), proposed);
  EXPECT_EQ(c.replica(1).status().last_executed, 4u);

  capture_on_the_spot(c, 0, *asked);
  EXPECT_EQ(c.replica(0).counters().at("batches.proposed"), proposed + 1);
  EXPECT_TRUE(all_executed(c, 5));
  expect_same_state(c);
}

TEST(CheckpointCapture, AnImageTakenLetsExecutionGoOnAndItsResultCountsLater) {
  Cluster c;
  c.hold_captures(1);
  run_requests(c, 1, 6);
  const std::optional<CaptureRequest> asked = c.capture_asked(1);
  ASSERT_TRUE(asked);
  // The state taken now, hashed later (as by the daemon's worker thread).
  StateBytes image = c.replica(1).checkpoint_state();
  c.replica(1).on_checkpoint_capture_started(asked->id, c.clock(1));
  c.collect(1);
  c.deliver();
  EXPECT_EQ(c.replica(1).status().last_executed, 6u);
  EXPECT_DEATH((void)c.replica(1).checkpoint_state(), "awaiting_image");  // nothing asked now

  c.replica(1).on_checkpoint_captured(asked->id, CapturedState::of(image), c.clock(1));
  c.collect(1);
  c.deliver();
  EXPECT_EQ(c.replica(1).status().last_checkpoint_digest,
            c.replica(0).status().last_checkpoint_digest);
  expect_same_state(c);
}

TEST(CheckpointCapture, AFailedCaptureIsAskedForAgainWhileNothingExecutedSince) {
  Cluster c;
  c.hold_captures(1);
  run_requests(c, 1, 4);
  const std::optional<CaptureRequest> first = c.capture_asked(1);
  ASSERT_TRUE(first);
  c.replica(1).on_checkpoint_capture_started(first->id, c.clock(1));
  c.collect(1);
  EXPECT_FALSE(c.capture_asked(1));
  c.replica(1).on_checkpoint_capture_failed(first->id, c.clock(1));
  c.collect(1);
  const std::optional<CaptureRequest> again = c.capture_asked(1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->seq, 4u);
  EXPECT_NE(again->id, first->id);
  EXPECT_EQ(c.counter(1, "checkpoints.capture_failed"), 1u);
}

TEST(Checkpoints, BecomeStableAndBoundTheLog) {
  Cluster c;
  run_requests(c, 1, 40);
  for (ReplicaId i = 0; i < c.n(); ++i) {
    const auto st = c.replica(i).status();
    EXPECT_EQ(st.last_executed, 40u);
    EXPECT_EQ(st.stable_checkpoint, 40u);
    const auto sizes = c.replica(i).debug_sizes();
    EXPECT_LE(sizes.at("log.entries"), c.config(i).log_window);
    EXPECT_LE(sizes.at("checkpoint.own"), 1 + c.config(i).log_window / 4);
    EXPECT_LE(sizes.at("checkpoint.votes"), c.n() * c.config(i).log_window / 4);
    EXPECT_EQ(st.last_checkpoint_digest, c.replica(0).status().last_checkpoint_digest);
  }
  // Storage was told it may truncate.
  bool stable_record = false;
  for (const auto& r : c.disk[1]) stable_record |= std::holds_alternative<StableRecord>(r);
  EXPECT_TRUE(stable_record);
}

TEST(Checkpoints, ALaggingReplicaCatchesUpFromTheLog) {
  Cluster c([](Config& cfg) {
    cfg.checkpoint_interval = 8;
    cfg.log_window = 16;
  });
  c.filter = [](const Envelope& e) { return e.to != 3 && e.from != 3; };
  run_requests(c, 1, 3);
  EXPECT_EQ(c.replica(3).status().last_executed, 0u);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 3); }));
  EXPECT_GT(c.counter(3, "catch_up.committed_executed"), 0u);
  EXPECT_EQ(c.counter(3, "state_transfers"), 0u);
  expect_same_state(c);
  expect_agreement(c);
}

TEST(Checkpoints, CatchUpAsksForTheNextRunAsSoonAsItExecutedTheLast) {
  // 40 batches behind, 4 per answer: at one STATUS per retransmission interval that would take
  // 10 intervals; asking again once a run is executed takes one interval (the first STATUS).
  Cluster c([](Config& cfg) {
    cfg.checkpoint_interval = 64;
    cfg.log_window = 256;
    cfg.catch_up_batches_max = 4;
  });
  c.filter = [](const Envelope& e) { return e.to != 3 && e.from != 3; };
  run_requests(c, 1, 40);
  EXPECT_EQ(c.replica(3).status().last_executed, 0u);
  c.filter = nullptr;
  const TimeUs interval = c.config(3).retransmit_interval_us;
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 40); }, interval * 3 / 2));
  EXPECT_EQ(c.counter(3, "state_transfers"), 0u);
  expect_same_state(c);
  expect_agreement(c);
}

TEST(Checkpoints, VotesBeyondALaggingStableCheckpointAreKeptUntilItAdvances) {
  // Replica 1 executes as the others do but hears none of their CHECKPOINTs, so its stable
  // checkpoint stays at 0 and its window ends at seq 16 while theirs moves on. It keeps the
  // pre-prepares and votes of seqs 17..24 (at most a window beyond its own) and, once the
  // CHECKPOINTs arrive, goes on with them at once: no clock advances, so nothing is sent again.
  Cluster c;  // a checkpoint every 4 seqs, a window of 16
  std::vector<Envelope> late;
  c.filter = [&](const Envelope& e) {
    if (e.to != 1 || e.type() != MsgType::kCheckpoint) return true;
    late.push_back(e);
    return false;
  };
  run_requests(c, 1, 24);
  ASSERT_EQ(c.replica(0).status().last_executed, 24u);
  EXPECT_EQ(c.replica(1).status().stable_checkpoint, 0u);
  EXPECT_EQ(c.replica(1).status().last_executed, 16u);
  EXPECT_GT(c.counter(1, "votes.early_kept"), 0u);
  c.filter = nullptr;
  for (const Envelope& e : late) c.inject(e.from, 1, *e.bytes);
  c.deliver();
  EXPECT_EQ(c.replica(1).status().last_executed, 24u);
  EXPECT_EQ(c.replica(1).status().stable_checkpoint, c.replica(0).status().stable_checkpoint);
  EXPECT_EQ(c.counter(1, "state_transfers"), 0u);
  EXPECT_EQ(c.counter(1, "catch_up.committed_executed"), 0u);
  EXPECT_EQ(c.replica(1).debug_sizes().at("view_change.early_votes"), 0u);
  expect_same_state(c);
}

TEST(Checkpoints, CheckpointsThatOvertakeTheCommitsDoNotStartAStateTransfer) {
  // The others' CHECKPOINTs for seq 4 reach replica 3 before their COMMITs for it: it holds the
  // pre-prepare, so it waits for the commits (a retransmission interval at most) and executes,
  // rather than fetching the whole state. (Their COMMITTED answers are held back too: with them it
  // would execute seq 4 from those at once.)
  Cluster c;
  run_requests(c, 1, 3);
  std::vector<Envelope> late;
  c.filter = [&](const Envelope& e) {
    if (e.to == 3 && e.type() == MsgType::kCommitted) return false;
    if (e.to != 3 || e.type() != MsgType::kCommit) return true;
    late.push_back(e);
    return false;
  };
  run_requests(c, 4, 1);
  ASSERT_EQ(c.replica(0).status().stable_checkpoint, 4u);
  EXPECT_EQ(c.replica(3).status().last_executed, 3u);
  EXPECT_FALSE(c.replica(3).status().fetching_state);
  c.filter = nullptr;
  for (const Envelope& e : late) c.inject(e.from, 3, *e.bytes);
  c.deliver();
  EXPECT_EQ(c.replica(3).status().last_executed, 4u);
  EXPECT_EQ(c.replica(3).status().stable_checkpoint, 4u);
  EXPECT_EQ(c.counter(3, "state_transfers"), 0u);
  expect_same_state(c);
}

TEST(Checkpoints, BehindWithoutTheCommitsItFetchesTheStateAfterAnInterval) {
  // Neither its own log (the COMMITs) nor the peers (COMMITTED) bring seq 4: after waiting an
  // interval it fetches the state.
  Cluster c;
  run_requests(c, 1, 3);
  c.filter = [](const Envelope& e) {
    return e.to != 3 || (e.type() != MsgType::kCommit && e.type() != MsgType::kCommitted);
  };
  run_requests(c, 4, 1);
  EXPECT_EQ(c.replica(3).status().last_executed, 3u);
  c.filter = [](const Envelope& e) {
    if (e.to == 3 && e.type() == MsgType::kCommitted) return false;
    return e.to != 3 || e.type() != MsgType::kCommit ||
           std::get<CommitMsg>(*decode_message(*e.bytes)).seq != 4;
  };
  c.advance(c.config(3).retransmit_interval_us + 10'000);
  EXPECT_EQ(c.counter(3, "state_transfers"), 1u);
  EXPECT_EQ(c.replica(3).status().last_executed, 4u);
  expect_same_state(c);
}

TEST(Checkpoints, AReplicaUpToAnIntervalBehindTheStableCheckpointCatchesUpFromThePeersArchives) {
  // Replica 3 misses seqs 5-9 (interval 4): the others' stable checkpoint is 8 and their logs
  // start at 9, but they keep the committed batches since their previous stable checkpoint (4),
  // where replica 3 stands. It executes 5-9 from those; before, it fetched the whole state.
  Cluster c;
  run_requests(c, 1, 4);
  ASSERT_EQ(c.replica(3).status().last_executed, 4u);
  c.filter = [](const Envelope& e) { return e.to != 3 && e.from != 3; };
  run_requests(c, 5, 5);
  ASSERT_EQ(c.replica(0).status().stable_checkpoint, 8u);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 9); }));
  EXPECT_EQ(c.counter(3, "state_transfers"), 0u);
  EXPECT_GT(c.counter(3, "catch_up.committed_executed"), 0u);
  expect_same_state(c);
  expect_agreement(c);
}

TEST(Checkpoints, ReplicaTwoLagsPastACheckpointAndCatchesUpByStateTransfer) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  run_requests(c, 1, 30);
  EXPECT_EQ(c.replica(0).status().stable_checkpoint, 28u);
  EXPECT_EQ(c.replica(2).status().last_executed, 0u);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 30); }));
  EXPECT_EQ(c.counter(2, "state_transfers.completed"), 1u);
  expect_same_state(c);
  // It takes part again: a request sent only to it and one other replica is ordered.
  c.send_request("bob", 1, 1, "put y 1", false, std::vector<ReplicaId>{2, 3});
  ASSERT_TRUE(c.run_until([&] { return c.accepted("bob", 1, 1).has_value(); }));
  EXPECT_EQ(c.app(2).kv.at("y"), "1");
  expect_agreement(c);
}

TEST(Checkpoints, StateTransferSkipsSourcesWhoseStateDoesNotVerify) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  run_requests(c, 1, 30);
  c.filter = nullptr;
  // Replicas 0 and 3 corrupt the state they serve.
  c.rewrite = [](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.type() != MsgType::kStateChunk || e.from == 1) return std::nullopt;
    auto m = decode_message(*e.bytes);
    StateChunkMsg chunk = std::get<StateChunkMsg>(*m);
    chunk.data.back() ^= 0x5a;
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(chunk))}};
  };
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 30); }));
  EXPECT_GE(c.counter(2, "state_transfers.bad_state"), 1u);
  expect_same_state(c);
}

// Replica 2 fetches from sources {0, 1, 3}, starting with 3 (2 % 3 = 2).
TEST(Checkpoints, AWrongByteIsFoundWithItsLeafNotAfterTheWholeState) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  for (std::uint64_t k = 1; k <= 30; ++k) {  // a state of about 3 MiB: four leaves
    c.send_request("alice", 1, k, "put x" + std::to_string(k) + " " + std::string(100'000, 'v'));
    c.deliver();
  }
  ASSERT_GT(c.replica(0).status().stable_checkpoint, 0u);
  c.filter = nullptr;
  // Replica 3 corrupts the first byte it serves; it would serve the rest correctly.
  int from_3 = 0;
  c.rewrite = [&from_3](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.type() != MsgType::kStateChunk || e.from != 3) return std::nullopt;
    StateChunkMsg chunk = std::get<StateChunkMsg>(*decode_message(*e.bytes));
    if (chunk.offset == 0) chunk.data[0] ^= 0x01;
    ++from_3;
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(chunk))}};
  };
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 30); }));
  // Given up after its first chunk (one leaf), not after the whole state.
  EXPECT_EQ(from_3, 1);
  EXPECT_EQ(c.counter(2, "state_transfers.bad_state"), 1u);
  EXPECT_EQ(c.counter(2, "state_transfers.completed"), 1u);
  expect_same_state(c);
}

TEST(Checkpoints, StateTransferAbandonsASourceDrippingShortChunks) {
  Cluster c([](Config& cfg) { cfg.state_chunk_bytes = 64; });
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  run_requests(c, 1, 30);
  c.filter = nullptr;
  // Replica 3 answers every fetch with one byte of the right state.
  c.rewrite = [](const Envelope& e) -> std::optional<std::vector<Envelope>> {
    if (e.type() != MsgType::kStateChunk || e.from != 3) return std::nullopt;
    StateChunkMsg chunk = std::get<StateChunkMsg>(*decode_message(*e.bytes));
    chunk.data.resize(1);
    return std::vector<Envelope>{
        Envelope{e.from, e.to, std::make_shared<const Bytes>(encode_message(chunk))}};
  };
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 30); }));
  EXPECT_EQ(c.counter(2, "state_transfers.completed"), 1u);
  EXPECT_GE(c.counter(2, "state_transfers.source_abandoned"), 1u);
  expect_same_state(c);
}

TEST(Checkpoints, StateTransferAbandonsASourceBelowTheMinimumRate) {
  // Replica 3 lets one chunk in three through: a chunk per two retransmission intervals, never
  // three silent ones in a row, so only the rate floor moves on to another source.
  Cluster c([](Config& cfg) {
    cfg.state_chunk_bytes = 8;
    cfg.state_transfer_min_bytes_per_s = 100;
    cfg.state_transfer_grace_us = 1'000'000;
  });
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  run_requests(c, 1, 30);
  int chunks = 0;
  c.filter = [&chunks](const Envelope& e) {
    return e.type() != MsgType::kStateChunk || e.from != 3 || ++chunks % 3 == 0;
  };
  const TimeUs start = c.now();
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 30); }));
  EXPECT_GE(c.counter(2, "state_transfers.source_abandoned"), 1u);
  EXPECT_LT(c.now() - start, 3'000'000);
  expect_same_state(c);
}

TEST(Checkpoints, StableCheckpointMovesDuringStateTransfer) {
  Cluster c;
  c.filter = [](const Envelope& e) { return e.to != 2 && e.from != 2; };
  run_requests(c, 1, 30);
  // Replica 2 hears about the checkpoint but gets no state for a while; meanwhile the cluster
  // moves on, past its own log window.
  c.filter = [](const Envelope& e) { return e.type() != MsgType::kStateChunk; };
  c.advance(1'000'000);
  EXPECT_TRUE(c.replica(2).status().fetching_state);
  run_requests(c, 31, 30);
  EXPECT_EQ(c.replica(0).status().stable_checkpoint, 60u);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return all_executed(c, 60); }));
  EXPECT_FALSE(c.replica(2).status().fetching_state);
  expect_same_state(c);
}

TEST(Checkpoints, MemoryStaysBoundedOverALongRun) {
  Cluster c;
  std::map<std::string, std::uint64_t> high;
  for (std::uint64_t k = 1; k <= 400; ++k) {
    c.send_request("c" + std::to_string(k % 5), 1, k, "put x" + std::to_string(k % 3) + " v");
    c.deliver();
    if (k % 10 == 0) c.advance(250'000);  // status and retransmissions
    for (const auto& [name, size] : c.replica(1).debug_sizes()) {
      high[name] = std::max(high[name], size);
    }
  }
  const Config& cfg = c.config(1);
  EXPECT_LE(high["log.entries"], cfg.log_window);
  EXPECT_LE(high["checkpoint.own"], 1 + cfg.log_window / cfg.checkpoint_interval);
  EXPECT_LE(high["checkpoint.archive"], cfg.checkpoint_interval);
  EXPECT_LE(high["pool.entries"], 5u);
  EXPECT_EQ(c.replica(1).debug_sizes().at("pool.entries"), 0u);
  EXPECT_LE(high["client_table.sessions"], 5u);
  EXPECT_LE(high["client_table.entries"], 5u * cfg.client_window);
}

}  // namespace
}  // namespace bastion::bft::test
