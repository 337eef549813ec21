// Driver: the loop that carries out a replica's outputs over an environment (bft/core/driver.h).
// A backup of the harness's cluster is driven here on its own: it gets the client's request, the
// primary's PRE-PREPARE and the other backups' PREPAREs; its prepared certificate is persisted
// with a sync before its COMMIT leaves.
#include "bft/core/driver.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/bft/harness.h"

namespace bastion::bft::test {
namespace {

// What the driver handed over, with the disk's answer set by the test.
class RecordingEnv final : public DriverEnv {
 public:
  Appended answer = Appended::kDurable;
  std::vector<bool> syncs;          // per append
  std::vector<std::uint64_t> ends;  // records_end per append
  std::vector<Output> carried;      // per carry_out
  std::uint64_t records = 0;        // appended in all

  bool answer_capture(const CaptureRequest& /*request*/) override { return false; }
  Appended append(std::vector<PersistRecord>& r, bool sync, std::uint64_t records_end) override {
    records += r.size();
    syncs.push_back(sync);
    ends.push_back(records_end);
    return answer;
  }
  void carry_out(Output& out) override { carried.push_back(std::move(out)); }

  static std::size_t commits_in(const Output& o) {
    std::size_t n = 0;
    for (const OutMessage& m : o.messages) {
      if ((*m.bytes)[1] == static_cast<std::uint8_t>(MsgType::kCommit)) ++n;
    }
    return n;
  }
  std::size_t commits_sent() const {
    std::size_t n = 0;
    for (const Output& o : carried) n += commits_in(o);
    return n;
  }
  // The appends that asked for a sync, but the fresh start's.
  std::vector<std::size_t> synced_turns() const {
    std::vector<std::size_t> turns;
    for (std::size_t i = 1; i < syncs.size(); ++i) {
      if (syncs[i]) turns.push_back(i);
    }
    return turns;
  }
};

// Replica 1 of a cluster, alone, with what the others sent it to order a request.
struct LoneBackup {
  Cluster cluster;
  std::vector<Envelope> votes;  // the PRE-PREPARE and the PREPAREs sent to replica 1
  KvApp app;
  FakeSigner signer{1};
  FakeVerifier verifier{4};
  Replica replica{cluster.config(1), app, signer, verifier};
  RecordingEnv env;
  Driver driver{replica, env, /*check_invariants=*/true};

  LoneBackup() {
    cluster.filter = [this](const Envelope& e) {
      if (e.to != 1) return true;
      if (e.type() == MsgType::kPrePrepare || e.type() == MsgType::kPrepare) votes.push_back(e);
      return false;
    };
    cluster.send_request("alice", 1, 1, "put x 1", false, std::vector<ReplicaId>{0, 2, 3});
    cluster.deliver();
    replica.start(cluster.clock(1));
    driver.run();
  }
  // The request from the client, then the votes.
  void receive() {
    replica.on_client_message("alice", client_request_bytes(1, 1, "put x 1"), cluster.clock(1));
    driver.run();
    for (const Envelope& e : votes) {
      replica.on_replica_message(e.from, *e.bytes, cluster.clock(1));
      driver.run();
    }
  }
};

TEST(Driver, WhatADiskSyncedOnTheSpotReleasedLeavesWithTheOutput) {
  LoneBackup b;
  ASSERT_EQ(b.votes.size(), 3U);
  b.receive();
  // The prepared certificate is synced, and the COMMIT that waited for it leaves with it.
  const std::vector<std::size_t> synced = b.env.synced_turns();
  ASSERT_EQ(synced.size(), 1U);
  EXPECT_EQ(RecordingEnv::commits_in(b.env.carried[synced[0]]), 1U);
  EXPECT_EQ(b.env.commits_sent(), 1U);
  EXPECT_EQ(b.env.ends.back(), b.driver.records_taken());
  EXPECT_EQ(b.env.records, b.driver.records_taken());
  EXPECT_EQ(b.env.carried.size(), b.env.syncs.size());  // one carry_out per append
}

TEST(Driver, SendsWaitingForALaterSyncLeaveOnceItIsReported) {
  LoneBackup b;
  b.env.answer = DriverEnv::Appended::kLater;
  b.receive();
  ASSERT_EQ(b.env.synced_turns().size(), 1U);
  EXPECT_EQ(b.env.commits_sent(), 0U);
  EXPECT_GT(b.replica.held_send_bytes(), 0U);

  b.driver.durable(b.driver.records_taken());
  b.driver.run();
  EXPECT_EQ(b.env.commits_sent(), 1U);
  EXPECT_EQ(b.replica.held_send_bytes(), 0U);
}

TEST(Driver, NothingIsCarriedOutWhenTheEnvironmentStopped) {
  LoneBackup b;
  b.env.answer = DriverEnv::Appended::kStopped;
  const std::size_t before = b.env.carried.size();
  b.receive();
  EXPECT_GT(b.env.syncs.size(), 1U);
  EXPECT_EQ(b.env.carried.size(), before);
}

}  // namespace
}  // namespace bastion::bft::test
