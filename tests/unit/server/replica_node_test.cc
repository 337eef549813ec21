// A 4-replica cluster of ReplicaNodes in one process, on loopback TLS, with their write-ahead
// logs on disk: requests from a real client transport execute, every replica ends in the same
// state, a replica restarted from its storage comes back with the same state digest, metrics and
// /status are served, and start-up errors are reported with the right code.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "bft/storage/fault_file_system.h"
#include "server/node_report.h"
#include "server/node_thread.h"
#include "tests/unit/server/cluster_support.h"

namespace bastion::server {
namespace {

using namespace testing;

// Timeouts short enough for a test, the same on every replica (they are protocol settings), and
// a checkpoint every 4 batches so that restarts go through checkpoints and the log.
NodeOptions test_options() {
  NodeOptions o;
  o.capture_thread_min_bytes = 0;  // every checkpoint state is hashed on the worker thread
  o.http_port = 0;
  o.publish_interval = 50ms;
  o.tune_protocol = [](bft::Config& c) {
    c.checkpoint_interval = 4;
    c.log_window = 16;
    c.pipeline_max = 4;
  };
  o.tune_transport = [](net::ReplicaTransportOptions& t) {
    t.limits.reconnect_min_ms = 20;
    t.limits.reconnect_max_ms = 200;
  };
  return o;
}

class ClusterTest : public ::testing::Test {
 protected:
  // Replica 1 on `disk_of_1` when given (a faulty or slow file system).
  void start_all(bft::storage::FaultFileSystem* disk_of_1 = nullptr) {
    for (bft::ReplicaId id = 0; id < 4; ++id) {
      NodeOptions o = test_options();
      if (id == 1 && disk_of_1 != nullptr) o.file_system = disk_of_1;
      ASSERT_NO_FATAL_FAILURE(start(id, o));
    }
  }
  void start(bft::ReplicaId id, const NodeOptions& o = test_options()) {
    auto node = NodeThread::start(dir_.config(), id, o);
    ASSERT_TRUE(node.ok()) << node.error().message;
    nodes_[id] = std::move(*node);
  }
  bft::ReplicaStatus status(bft::ReplicaId id) {
    return nodes_[id]->call([](ReplicaNode& n) { return n.status(); });
  }
  bft::Digest digest(bft::ReplicaId id) {
    return nodes_[id]->call([](ReplicaNode& n) { return n.app_digest(); });
  }
  // Every replica executed up to the same point and holds the same tuple space.
  bool converged() {
    const auto s0 = status(0);
    const auto d0 = digest(0);
    for (bft::ReplicaId id = 1; id < 4; ++id) {
      if (status(id).last_executed != s0.last_executed || digest(id) != d0) return false;
    }
    return s0.last_executed > 0;
  }

  // Inserts tuples into "jobs", one at a time, until replica `id` stopped and told its on_fatal
  // handler (which sets `fatal_called` on the node's thread); false if it never did.
  bool load_until_stopped(TestClient& client, bft::ReplicaId id, const bool& fatal_called) {
    for (int i = 0; i < 200; ++i) {
      const auto out =
          client.invoke(ts::Out{"jobs", TestClient::spec("(\"load\", " + std::to_string(i) + ")")});
      if (TestClient::reply_of(out) != ts::Reply(ts::Ack{})) return false;
      if (nodes_[id]->call([&](ReplicaNode& n) { return !n.running() && fatal_called; })) {
        return true;
      }
    }
    return false;
  }

  ClusterDir dir_;
  std::unique_ptr<NodeThread> nodes_[4];
};

TEST_F(ClusterTest, ExecutesRequestsAndReplicasAgree) {
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  EXPECT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));

  TestClient client(dir_.config(), "client1", 7);
  for (int i = 0; i < 10; ++i) {
    const auto out =
        client.invoke(ts::Out{"jobs", TestClient::spec("(\"job\", " + std::to_string(i) + ")")});
    ASSERT_EQ(TestClient::reply_of(out), ts::Reply(ts::Ack{})) << "out " << i;
  }
  // Ordered and read-only reads both see the oldest match.
  const ts::Reply first = ts::Found{TestClient::tuple("(\"job\", 0)")};
  EXPECT_EQ(TestClient::reply_of(client.invoke(ts::Rdp{"jobs", TestClient::tmpl("(\"job\", *)")})),
            first);
  const auto read_only =
      client.invoke(ts::Rdp{"jobs", TestClient::tmpl("(\"job\", *)")}, /*read_only=*/true);
  EXPECT_EQ(TestClient::reply_of(read_only), first);
  EXPECT_TRUE(read_only->read_only);
  EXPECT_EQ(TestClient::reply_of(client.invoke(ts::Inp{"jobs", TestClient::tmpl("(\"job\", 0)")})),
            first);
  // Not an admin: a clear error from the application, agreed by the replicas.
  const ts::Reply denied = TestClient::reply_of(client.invoke(ts::SpaceDelete{"jobs"}));
  ASSERT_TRUE(std::holds_alternative<ts::Error>(denied));
  EXPECT_EQ(std::get<ts::Error>(denied).code, ts::ErrorCode::kDenied);

  ASSERT_TRUE(wait_until([&] { return converged(); }));
  const auto s = status(0);
  EXPECT_GE(s.last_executed, 13u);

  // A status query is answered by the replica asked, on the connection it came on.
  const auto report = client.query_status(2, 4242);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->replica, 2u);
  EXPECT_EQ(report->view, 0u);
  EXPECT_EQ(report->last_executed, s.last_executed);
  EXPECT_EQ(s.view, 0u);
  // Checkpoint states were encoded in child processes and still became stable.
  EXPECT_TRUE(wait_until([&] { return status(0).stable_checkpoint >= 4; }));

  // Replies went back on the clients' connections; every turn that persisted did one sync (once
  // the storage thread has done the last one asked for).
  const auto snapshot = [&] {
    return nodes_[1]->call([](ReplicaNode& n) { return n.snapshot(); });
  };
  EXPECT_TRUE(wait_until([&] {
    const NodeSnapshot now = snapshot();
    return now.driver.syncs == now.storage.syncs;
  }));
  const NodeSnapshot snap = snapshot();
  EXPECT_GE(snap.driver.replies_sent, 14u);
  EXPECT_EQ(snap.driver.replies_unroutable, 0u);
  // Each executed batch left at least its pre-prepare on disk, and a sync covers one turn's
  // records: at least one, at most one per turn.
  const std::uint64_t executed = snap.core.at("batches.executed");
  EXPECT_GE(snap.driver.persist_records, executed);
  EXPECT_GE(snap.driver.syncs, 1u);
  EXPECT_LE(snap.driver.syncs, std::min(snap.driver.turns, snap.driver.persist_records));
  // No pre-prepare was accepted without its signature checked, and none failed.
  EXPECT_GE(snap.verifier.verifies, snap.core.at("msg.in.pre_prepare"));
  EXPECT_EQ(snap.verifier.verify_failures, 0u);
  // Every checkpoint state was captured, hashed on the worker thread unless two states already
  // waited for it.
  EXPECT_EQ(snap.capture.threaded + snap.capture.on_the_spot, snap.core.at("checkpoints.taken"));
  EXPECT_GT(snap.capture.threaded, 0u);
}

TEST_F(ClusterTest, RestartedReplicaRecoversItsStateFromDisk) {
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(TestClient::reply_of(
                  admin.invoke(ts::Out{"jobs", TestClient::spec("(" + std::to_string(i) + ")")})),
              ts::Reply(ts::Ack{}));
  }
  ASSERT_TRUE(wait_until([&] { return converged(); }));

  nodes_[3]->stop();
  const bft::ReplicaStatus before = status(3);
  const bft::Digest digest_before = digest(3);
  ASSERT_GE(before.last_executed, 10u);
  ASSERT_GE(before.stable_checkpoint, 4u);
  nodes_[3].reset();

  // Straight after start(), before it heard from anyone: the state came from its own disk.
  start(3);
  const bft::ReplicaStatus after = status(3);
  EXPECT_EQ(after.last_executed, before.last_executed);
  EXPECT_EQ(digest(3), digest_before);
  EXPECT_EQ(after.view, before.view);

  // And it keeps up with the others afterwards.
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::Out{"jobs", TestClient::spec("(99)")})),
            ts::Reply(ts::Ack{}));
  ASSERT_TRUE(
      wait_until([&] { return converged() && status(3).last_executed > after.last_executed; }));
}

TEST_F(ClusterTest, CleanlyStoppedClusterResumesInItsViewAtOnce) {
  // After a clean stop every record was synced: no replica abstains, so the restarted cluster
  // orders the next request in view 0, without waiting for a view change.
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  ASSERT_TRUE(wait_until([&] { return converged(); }));
  for (bft::ReplicaId id = 0; id < 4; ++id) nodes_[id].reset();
  start_all();
  TestClient again(dir_.config(), "admin", 2);
  ASSERT_EQ(TestClient::reply_of(again.invoke(ts::Out{"jobs", TestClient::spec("(1)")})),
            ts::Reply(ts::Ack{}));
  for (bft::ReplicaId id = 0; id < 4; ++id) {
    EXPECT_EQ(status(id).view, 0u) << id;
    const NodeSnapshot s = nodes_[id]->call([](ReplicaNode& n) { return n.snapshot(); });
    EXPECT_EQ(s.core.count("recovery.abstained") ? s.core.at("recovery.abstained") : 0u, 0u);
  }
}

TEST_F(ClusterTest, ServesMetricsAndStatus) {
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  const std::uint16_t port = nodes_[2]->call([](ReplicaNode& n) { return n.http_port(); });
  ASSERT_NE(port, 0);

  const auto get = [port](const std::string& path) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    std::string response;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      response.append(buf, n);
      if (ec) break;
    }
    return response;
  };
  // Published every 50 ms: wait until the create shows, and the replica's own COMMIT left (it
  // may execute on the others' commits while its own waits for its disk).
  std::string metrics;
  ASSERT_TRUE(wait_until([&] {
    metrics = get("/metrics");
    return metrics.find("bastion_requests_total{replica=\"2\",outcome=\"executed\"} 1") !=
               std::string::npos &&
           metrics.find("bastion_links_connected{replica=\"2\"} 3") != std::string::npos &&
           metrics.find("bastion_messages_out_total{replica=\"2\",type=\"commit\"}") !=
               std::string::npos;
  })) << metrics;
  EXPECT_NE(metrics.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(metrics.find("bastion_messages_in_total{replica=\"2\",type=\"prepare\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("bastion_storage_sync_seconds_count"), std::string::npos);
  EXPECT_NE(metrics.find("bastion_view{replica=\"2\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("bastion_pool_entries{replica=\"2\",container="), std::string::npos);
  EXPECT_NE(metrics.find("bastion_held_bytes{replica=\"2\"}"), std::string::npos);
  EXPECT_NE(metrics.find("bastion_client_reads_paused{replica=\"2\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("bastion_backpressure_total{replica=\"2\"} 0"), std::string::npos);

  std::string status;
  ASSERT_TRUE(wait_until([&] {
    status = get("/status");
    return status.find("\"state\":\"backoff\"") == std::string::npos &&
           status.find("\"state\":\"connecting\"") == std::string::npos;
  })) << status;
  EXPECT_NE(status.find("application/json"), std::string::npos);
  EXPECT_NE(status.find("\"replica\":2"), std::string::npos);
  EXPECT_NE(status.find("\"view_changing\":false"), std::string::npos);
  EXPECT_NE(status.find("\"client_reads_paused\":false"), std::string::npos);
  const bft::Digest settings =
      nodes_[2]->call([](ReplicaNode& n) { return n.snapshot().execution_settings_digest; });
  EXPECT_NE(status.find("\"execution_settings_digest\":\"" + hex(settings) + "\""),
            std::string::npos);
  EXPECT_NE(status.find("\"state\":\"connected\""), std::string::npos);
  EXPECT_NE(get("/nothing").find("404"), std::string::npos);
  EXPECT_NE(get("/metrics/x").find("404"), std::string::npos);
}

TEST_F(ClusterTest, StorageFailureStopsTheReplicaAndTheOthersGoOn) {
  bft::storage::FaultFileSystem fs(7);
  NodeError fatal;
  bool fatal_called = false;
  ASSERT_NO_FATAL_FAILURE(start_all(&fs));
  nodes_[1]->call([&](ReplicaNode& n) {
    n.on_fatal([&](const NodeError& e) {
      fatal = e;
      fatal_called = true;
    });
    return 0;
  });
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  ASSERT_TRUE(wait_until([&] { return status(1).last_executed >= 1; }));

  // Armed on replica 1's io thread, so that the snapshot is taken before anything fails, and
  // only when nothing waits for its disk: a sync asked for earlier and completed after the
  // snapshot would be counted below (a flake under load).
  std::optional<NodeSnapshot> armed;
  ASSERT_TRUE(wait_until([&] {
    armed = nodes_[1]->call([&](ReplicaNode& n) -> std::optional<NodeSnapshot> {
      NodeSnapshot s = n.snapshot();
      if (s.driver.held_bytes != 0) return std::nullopt;
      fs.fail_after(0);
      return s;
    });
    return armed.has_value();
  }));
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::Out{"jobs", TestClient::spec("(1)")})),
            ts::Reply(ts::Ack{}));
  ASSERT_TRUE(wait_until([&] {
    return nodes_[1]->call([&](ReplicaNode& n) { return !n.running() && fatal_called; });
  }));
  EXPECT_EQ(fatal.code, NodeErrc::kStorage);
  EXPECT_NE(fatal.message.find("storage failed"), std::string::npos) << fatal.message;
  // Its certificate never became durable: no COMMIT and no reply left it. (The storage thread
  // reports the failure asynchronously, so the core may still have executed the batch in memory
  // meanwhile, from the others' commits; nothing of that is sent, and a restart starts from disk.)
  const NodeSnapshot s1 = nodes_[1]->call([](ReplicaNode& n) { return n.snapshot(); });
  const auto commit = static_cast<std::size_t>(bft::MsgType::kCommit);
  EXPECT_EQ(s1.driver.messages_out[commit], armed->driver.messages_out[commit]);
  EXPECT_EQ(s1.driver.replies_sent, armed->driver.replies_sent);
  EXPECT_EQ(s1.driver.syncs, armed->driver.syncs);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::Out{"jobs", TestClient::spec("(2)")})),
            ts::Reply(ts::Ack{}));
  nodes_[1].reset();  // before `fs`
}

// A slow disk under a client flood: replica 1's syncs take 3 s while a writer keeps batches in
// flight, and a client floods replica 1 with retransmissions of an executed request whose reply
// is large. Each is answered from the client table at once, but the reply waits behind the turns
// held for the disk; without back-pressure the held replies grow with the flood. Over
// transport.held_bytes_max replica 1 stops reading clients, so what it holds stays within the
// bound plus what one read of requests brings. Once the disk is fast again it reads again, the
// cluster goes on, and every acknowledged write is there.
TEST_F(ClusterTest, SlowDiskPausesClientReadsAndBoundsWhatIsHeld) {
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the recovery after 3 s of stalled syncs under a flood overran the test's bounds
  // (acknowledged writes read back timed out); the release build runs it.
  GTEST_SKIP() << "too slow to recover within the test's bounds under ASan";
#endif
  constexpr std::uint64_t kBound = 1u << 20;
  dir_.config().transport.held_bytes_max = kBound;
  bft::storage::FaultFileSystem fs(11);
  // Replica 1 stops before `fs` goes, however the test ends.
  struct StopFirst {
    std::unique_ptr<NodeThread>& node;
    ~StopFirst() { node.reset(); }
  } stop_first{nodes_[1]};
  ASSERT_NO_FATAL_FAILURE(start_all(&fs));
  const auto snapshot = [&] {
    return nodes_[1]->call([](ReplicaNode& n) { return n.snapshot(); });
  };
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  const std::string big(32 * 1024, 'x');
  const ts::Tuple big_tuple = TestClient::tuple("(\"big\", \"" + big + "\")");
  ASSERT_EQ(TestClient::reply_of(
                admin.invoke(ts::Out{"jobs", TestClient::spec("(\"big\", \"" + big + "\")")})),
            ts::Reply(ts::Ack{}));
  TestClient flooder(dir_.config(), "client2", 12);
  ASSERT_EQ(TestClient::reply_of(flooder.invoke(ts::Rdp{"jobs", TestClient::tmpl("(\"big\", *)")})),
            ts::Reply(ts::Found{big_tuple}));
  const bft::SharedBytes executed = flooder.last_sent();
  ASSERT_TRUE(wait_until([&] { return converged(); }));

  fs.set_sync_delay(3000ms);
  std::atomic<bool> writing{true};
  std::vector<int> acked;
  std::thread writer([&] {
    TestClient w(dir_.config(), "client1", 11);
    for (int i = 0; writing; ++i) {
      const auto out = w.invoke(
          ts::Out{"jobs", TestClient::spec("(\"w\", " + std::to_string(i) + ")")}, false, 20s);
      if (out && out->status == bft::ReplyStatus::kOk) acked.push_back(i);
    }
  });
  // Once replica 1 holds something for its disk, every reply it makes waits behind it. (No
  // ASSERT before the writer is joined.)
  EXPECT_TRUE(wait_until([&] { return snapshot().driver.held_bytes > 0; }));
  const std::uint64_t sent = flooder.flood(1, executed, 2s);
  writing = false;
  writer.join();
  const NodeSnapshot flooded = snapshot();
  std::printf("held bytes peak %llu (bound %llu), %llu pauses, %llu retransmissions, %zu writes\n",
              static_cast<unsigned long long>(flooded.driver.held_bytes_peak),
              static_cast<unsigned long long>(kBound),
              static_cast<unsigned long long>(flooded.driver.client_read_pauses),
              static_cast<unsigned long long>(sent), acked.size());
  EXPECT_FALSE(acked.empty());
  // On a loaded machine the flood may not reach the bound at all; when it does, reads paused.
  EXPECT_TRUE(flooded.driver.client_read_pauses >= 1 || flooded.driver.held_bytes_peak <= kBound)
      << flooded.driver.held_bytes_peak;
  EXPECT_LE(flooded.driver.held_bytes_peak, kBound + (8u << 20));

  // The disk recovers: the held bytes drain, reads resume, the cluster goes on with every
  // acknowledged write, and replica 1 catches up. (Under sanitizers the flood can starve the
  // others into a view change that leaves one replica behind for a while: only replica 1 is
  // waited for.)
  fs.set_sync_delay(0ms);
  ASSERT_TRUE(wait_until([&] {
    const NodeSnapshot s = snapshot();
    return !s.driver.client_reads_paused && s.driver.held_bytes == 0;
  }));
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::Out{"jobs", TestClient::spec("(\"after\")")})),
            ts::Reply(ts::Ack{}));
  for (const int i : acked) {
    const std::string w = "(\"w\", " + std::to_string(i) + ")";
    ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::Rdp{"jobs", TestClient::tmpl(w)})),
              ts::Reply(ts::Found{TestClient::tuple(w)}))
        << i;
  }
  ASSERT_TRUE(wait_until(
      [&] { return status(1).last_executed == status(0).last_executed && digest(1) == digest(0); },
      60s));
}

// ---- execution settings ------------------------------------------------------------------------

// Replica 3's cluster file names one more admin: the same ordered requests would not execute the
// same there. The first checkpoint it computes itself (checkpoints carry the settings digest)
// disagrees with the others'; instead of repairing and diverging again, it stops with an error
// naming the cause and both digests, and the others go on. (If it starts behind, it may first
// adopt the others' state by a catch-up, then diverge at its next checkpoint.)
TEST_F(ClusterTest, AReplicaWhoseAdminsDifferStopsInsteadOfDiverging) {
  for (bft::ReplicaId id = 0; id < 3; ++id) start(id);
  config::ClusterConfig odd = dir_.config();
  odd.admins.push_back("client1");
  auto node = NodeThread::start(odd, 3, test_options());
  ASSERT_TRUE(node.ok()) << node.error().message;
  nodes_[3] = std::move(*node);
  NodeError fatal;
  bool fatal_called = false;
  nodes_[3]->call([&](ReplicaNode& n) {
    n.on_fatal([&](const NodeError& e) {
      fatal = e;
      fatal_called = true;
    });
    return 0;
  });
  const auto settings = [&](bft::ReplicaId id) {
    return nodes_[id]->call([](ReplicaNode& n) { return n.snapshot().execution_settings_digest; });
  };
  const bft::Digest ours = settings(0);
  const bft::Digest odd_one = settings(3);
  ASSERT_NE(ours, odd_one);
  EXPECT_EQ(settings(1), ours);

  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  ASSERT_TRUE(load_until_stopped(admin, 3, fatal_called));
  EXPECT_EQ(fatal.code, NodeErrc::kConfig);
  EXPECT_EQ(exit_code(fatal.code), 2);
  const std::string cause =
      "cluster file differs from the other replicas (execution settings digest " + hex(odd_one) +
      ", theirs " + hex(ours) + ")";
  EXPECT_NE(fatal.message.find(cause), std::string::npos) << fatal.message;
  // It diverged at a checkpoint and refused the others' state for it.
  const NodeSnapshot s3 = nodes_[3]->call([](ReplicaNode& n) { return n.snapshot(); });
  EXPECT_GE(s3.core.count("checkpoints.divergent") ? s3.core.at("checkpoints.divergent") : 0u, 1u);
  EXPECT_GE(
      s3.core.count("state_transfers.bad_state") ? s3.core.at("state_transfers.bad_state") : 0u,
      1u);

  // The three others serve on (a quorum of 2f + 1) and make checkpoints without it.
  const bft::SeqNum stable_before = status(0).stable_checkpoint;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(TestClient::reply_of(
                  admin.invoke(ts::Out{"jobs", TestClient::spec("(" + std::to_string(i) + ")")})),
              ts::Reply(ts::Ack{}));
  }
  EXPECT_TRUE(wait_until([&] { return status(0).stable_checkpoint > stable_before; }));
}

// The same replica restarted from its own disk with the other file: its recovered state is
// adopted (the operator may have changed every replica's file), and the next checkpoint it
// disagrees on stops it.
TEST_F(ClusterTest, AReplicaRestartedWithOtherSettingsStopsAtItsNextCheckpoint) {
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(TestClient::reply_of(
                  admin.invoke(ts::Out{"jobs", TestClient::spec("(" + std::to_string(i) + ")")})),
              ts::Reply(ts::Ack{}));
  }
  ASSERT_TRUE(wait_until([&] { return converged() && status(3).stable_checkpoint >= 4; }));
  nodes_[3].reset();

  config::ClusterConfig odd = dir_.config();
  odd.groups["ops"] = {"client2"};
  auto node = NodeThread::start(odd, 3, test_options());
  ASSERT_TRUE(node.ok()) << node.error().message;
  nodes_[3] = std::move(*node);
  bool fatal_called = false;
  std::string message;
  nodes_[3]->call([&](ReplicaNode& n) {
    n.on_fatal([&](const NodeError& e) {
      message = e.message;
      fatal_called = true;
    });
    return n.running();
  });
  ASSERT_TRUE(load_until_stopped(admin, 3, fatal_called));
  EXPECT_NE(message.find("cluster file differs from the other replicas"), std::string::npos)
      << message;
}

// Changing the execution settings of every replica, with the cluster stopped, is how settings
// change: each replica adopts its own recovered state, and they agree again from then on.
TEST_F(ClusterTest, SettingsChangedOnEveryReplicaTogetherAreAdopted) {
  start_all();
  TestClient admin(dir_.config(), "admin", 1);
  ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"jobs", {}})), ts::Reply(ts::Ack{}));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(TestClient::reply_of(
                  admin.invoke(ts::Out{"jobs", TestClient::spec("(" + std::to_string(i) + ")")})),
              ts::Reply(ts::Ack{}));
  }
  ASSERT_TRUE(wait_until([&] { return converged() && status(0).stable_checkpoint >= 4; }));
  for (bft::ReplicaId id = 0; id < 4; ++id) nodes_[id].reset();

  dir_.config().admins.push_back("client1");
  start_all();
  std::vector<bool> fatal(4, false);
  for (bft::ReplicaId id = 0; id < 4; ++id) {
    nodes_[id]->call([&fatal, id](ReplicaNode& n) {
      n.on_fatal([&fatal, id](const NodeError&) { fatal[id] = true; });
      return 0;
    });
  }
  // client1 is an admin now, on every replica.
  TestClient client(dir_.config(), "client1", 9);
  ASSERT_EQ(TestClient::reply_of(client.invoke(ts::SpaceCreate{"more", {}})), ts::Reply(ts::Ack{}));
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(TestClient::reply_of(
                  client.invoke(ts::Out{"more", TestClient::spec("(" + std::to_string(i) + ")")})),
              ts::Reply(ts::Ack{}));
  }
  ASSERT_TRUE(wait_until([&] { return converged() && status(0).stable_checkpoint >= 12; }));
  for (bft::ReplicaId id = 0; id < 4; ++id) {
    EXPECT_TRUE(nodes_[id]->call([](ReplicaNode& n) { return n.running(); })) << id;
    EXPECT_FALSE(fatal[id]) << id;
    const NodeSnapshot s = nodes_[id]->call([](ReplicaNode& n) { return n.snapshot(); });
    EXPECT_EQ(s.core.count("checkpoints.divergent") ? s.core.at("checkpoints.divergent") : 0u, 0u)
        << id;
  }
}

// Not a test: throughput of a local cluster under load, and where the io threads spend time.
// Run with --gtest_also_run_disabled_tests --gtest_filter=*LoadReport*.
TEST_F(ClusterTest, DISABLED_LoadReport) {
  start_all();
  {
    TestClient admin(dir_.config(), "admin", 1);
    ASSERT_EQ(TestClient::reply_of(admin.invoke(ts::SpaceCreate{"load", {}})),
              ts::Reply(ts::Ack{}));
  }
  const auto before = nodes_[0]->call([](ReplicaNode& n) { return n.snapshot(); });
  const auto before1 = nodes_[1]->call([](ReplicaNode& n) { return n.snapshot(); });
  constexpr int kClients = 2;
  constexpr std::size_t kWindow = 64;
  const auto duration = 10s;
  std::vector<std::uint64_t> done(kClients, 0);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      TestClient client(dir_.config(), "client" + std::to_string(c + 1), 100 + c);
      done[c] = client.run_load(
          [c](std::uint64_t i) {
            return ts::Out{
                "load", TestClient::spec("(" + std::to_string(c) + ", " + std::to_string(i) + ")")};
          },
          kWindow, duration);
    });
  }
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::uint64_t total = 0;
  for (auto d : done) total += d;
  const auto after = nodes_[0]->call([](ReplicaNode& n) { return n.snapshot(); });
  const auto after1 = nodes_[1]->call([](ReplicaNode& n) { return n.snapshot(); });
  const auto counter = [](const NodeSnapshot& s, const char* name) {
    auto it = s.core.find(name);
    return it == s.core.end() ? std::uint64_t{0} : it->second;
  };
  const auto report = [&](const char* who, const NodeSnapshot& b, const NodeSnapshot& a) {
    const double batches = counter(a, "batches.executed") - counter(b, "batches.executed");
    const double syncs = a.driver.syncs - b.driver.syncs;
    std::printf(
        "%s: batches %.0f (%.1f req/batch), syncs %.0f (avg %.3f ms, max %.3f ms), "
        "turns %llu, sign %llu (%.1f us avg), verify %llu (%.1f us avg), crypto %.1f%% of "
        "wall time\n",
        who, batches,
        batches > 0 ? (counter(a, "requests.executed") - counter(b, "requests.executed")) / batches
                    : 0.0,
        syncs, syncs > 0 ? (a.driver.sync_ns - b.driver.sync_ns) / syncs / 1e6 : 0.0,
        a.driver.sync_ns_max / 1e6,
        static_cast<unsigned long long>(a.driver.turns - b.driver.turns),
        static_cast<unsigned long long>(a.signer.signs - b.signer.signs),
        (a.signer.sign_ns - b.signer.sign_ns) / 1e3 /
            std::max<double>(1, a.signer.signs - b.signer.signs),
        static_cast<unsigned long long>(a.verifier.verifies - b.verifier.verifies),
        (a.verifier.verify_ns - b.verifier.verify_ns) / 1e3 /
            std::max<double>(1, a.verifier.verifies - b.verifier.verifies),
        100.0 *
            ((a.signer.sign_ns - b.signer.sign_ns) +
             (a.verifier.verify_ns - b.verifier.verify_ns)) /
            (secs * 1e9));
  };
  std::printf("load: %d clients x %zu in flight, %.1f s: %llu requests, %.0f req/s\n", kClients,
              kWindow, secs, static_cast<unsigned long long>(total), total / secs);
  report("primary 0", before, after);
  report("backup 1", before1, after1);
  EXPECT_GT(total, 0u);
}

// ---- start-up errors ---------------------------------------------------------------------------

TEST(NodeStartTest, UnusableDataDirectoryIsAStorageError) {
  ClusterDir dir;
  const auto blocker = dir.root() / "not-a-dir";
  std::ofstream(blocker) << "x";
  NodeOptions o = test_options();
  o.data_dir = blocker / "replica-0";
  boost::asio::io_context io;
  ReplicaNode node(io, dir.config(), 0, o);
  auto r = node.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kStorage);
  EXPECT_EQ(exit_code(r.error().code), 1);
  EXPECT_NE(r.error().message.find("data directory"), std::string::npos) << r.error().message;
}

TEST(NodeStartTest, DataDirectoryInUseIsRefused) {
  ClusterDir dir;
  boost::asio::io_context io;
  ReplicaNode first(io, dir.config(), 0, test_options());
  ASSERT_TRUE(first.start().ok());
  NodeOptions o = test_options();
  auto& cfg = dir.config();
  cfg.replicas[0].port = static_cast<std::uint16_t>(cfg.replicas[0].port + 50);
  ReplicaNode second(io, cfg, 0, o);
  auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kStorage);
  EXPECT_NE(r.error().message.find("locked"), std::string::npos) << r.error().message;
}

TEST(NodeStartTest, KeyThatIsNotTheReplicasIsAConfigError) {
  ClusterDir dir;
  auto cfg = dir.config();
  cfg.replicas[0].key = cfg.replicas[1].key;
  boost::asio::io_context io;
  ReplicaNode node(io, cfg, 0, test_options());
  auto r = node.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kConfig);
  EXPECT_EQ(exit_code(r.error().code), 2);
  EXPECT_NE(r.error().message.find("cluster.toml: replicas[0].key: "), std::string::npos)
      << r.error().message;
}

TEST(NodeStartTest, KeyOthersMayReadIsAConfigError) {
  ClusterDir dir;
  const auto key = dir.config().replicas[0].key;
  std::filesystem::permissions(key, std::filesystem::perms(0644));
  boost::asio::io_context io;
  ReplicaNode node(io, dir.config(), 0, test_options());
  auto r = node.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kConfig);
  EXPECT_NE(r.error().message.find("chmod 600 " + key.string()), std::string::npos)
      << r.error().message;
}

TEST(NodeStartTest, UnknownReplicaIdIsAConfigError) {
  ClusterDir dir;
  boost::asio::io_context io;
  ReplicaNode node(io, dir.config(), 9, test_options());
  auto r = node.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kConfig);
  EXPECT_NE(r.error().message.find("no replica with id 9"), std::string::npos);
}

TEST(NodeStartTest, TakenPortIsANetworkError) {
  ClusterDir dir;
  boost::asio::io_context io;
  asio::ip::tcp::acceptor squatter(
      io, {asio::ip::make_address("127.0.0.1"), dir.config().replicas[0].port});
  NodeOptions o = test_options();
  o.in_memory = true;
  ReplicaNode node(io, dir.config(), 0, o);
  auto r = node.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NodeErrc::kNetwork);
  EXPECT_FALSE(node.running());
}

TEST(NodeStartTest, InMemoryNodeWritesNothing) {
  ClusterDir dir;
  NodeOptions o = test_options();
  o.in_memory = true;
  boost::asio::io_context io;
  ReplicaNode node(io, dir.config(), 0, o);
  ASSERT_TRUE(node.start().ok());
  io.run_for(100ms);
  node.stop();
  EXPECT_FALSE(std::filesystem::exists(dir.config().data_dir));
}

}  // namespace
}  // namespace bastion::server
