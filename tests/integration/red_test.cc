// The ReD leader election (examples/red, docs/red.md) on a real cluster: bastion-red nodes as
// processes, killed with SIGKILL as a crash would, and the properties S1, S2, L1-L3 checked on
// their logs. Leases are short (2 s, renewals every 300 ms, the cluster's skew bound 300 ms).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "client/client.h"
#include "examples/red/event_log.h"
#include "examples/red/verify.h"
#include "tests/integration/cluster.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;

constexpr int kLeaseMs = 2000;
constexpr int kRenewMs = 300;
constexpr int kSkewMs = 300;
constexpr int kHoldMs = kLeaseMs - 2 * kSkewMs - kRenewMs;  // coordinator.h, "Timing"
constexpr auto kWithin = std::chrono::milliseconds(2 * kLeaseMs);

class RedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(1);
    std::ofstream(cluster_->cluster_file(), std::ios::app)
        << "\n[protocol]\nclock_skew_max_ms = " << kSkewMs << "\n";
    cluster_->start_all();
    cluster_->wait_ready();
    for (const char* name : {"node1", "node2", "node3", "node4", "mallory"}) {
      ASSERT_EQ(cluster_->cli({"identity", "add", name}).exit_code, 0) << name;
    }
    const auto created =
        cluster_->cli({"space", "create", "red", "--policy",
                       std::string(BASTION_SOURCE_DIR) + "/examples/policies/red.lua"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  void TearDown() override {
    nodes_.clear();
    cluster_.reset();
  }

  std::string log(const std::string& node) const {
    return (cluster_->dir() / (node + ".log")).string();
  }

  void start(const std::string& node) {
    nodes_[node] = Process::spawn(
        {std::string(BASTION_BIN_DIR) + "/bastion-red", "node", "--cluster",
         cluster_->cluster_file(), "--identity", node, "--log", log(node), "--lease-ms",
         std::to_string(kLeaseMs), "--renew-ms", std::to_string(kRenewMs), "--quiet"},
        (cluster_->dir() / (node + ".out")).string());
  }

  // A crash: SIGKILL, then the `killed` line the verifier reads.
  void crash(const std::string& node) {
    nodes_.at(node).signal(SIGKILL);
    nodes_.at(node).wait(5000ms);
    std::ofstream(log(node), std::ios::app) << red::now_ms() << ' ' << node << " killed\n";
  }

  // The time of the first line of `node`'s log whose event is `event`, if any.
  std::optional<std::int64_t> logged(const std::string& node, const std::string& event) const {
    std::ifstream in(log(node));
    const std::string suffix = " " + node + " " + event;
    for (std::string line; std::getline(in, line);) {
      const auto space = line.find(' ');
      if (space != std::string::npos && line.substr(space) == suffix) {
        return std::stoll(line.substr(0, space));
      }
    }
    return std::nullopt;
  }
  bool eventually_logged(const std::string& node, const std::string& event,
                         std::chrono::milliseconds timeout = 15s) const {
    return eventually([&] { return logged(node, event).has_value(); }, timeout);
  }

  std::string role_of(const std::string& node) const {
    std::ifstream in(log(node));
    std::string role = "none";
    const std::string marker = " " + node + " role ";
    for (std::string line; std::getline(in, line);) {
      const auto at = line.find(marker);
      if (at != std::string::npos) role = line.substr(at + marker.size());
    }
    return role.substr(0, role.find(' '));
  }

  // Every property, on every node's log; failures name the property and what broke it.
  void expect_properties_hold() const {
    std::vector<std::string> paths;
    for (const auto& [node, process] : nodes_) paths.push_back(log(node));
    auto lines = red::read_logs(paths);
    ASSERT_TRUE(lines.ok()) << lines.error();
    for (const red::Verdict& v : red::verify(std::move(*lines), kWithin)) {
      EXPECT_TRUE(v.holds) << v.property << ": " << v.detail;
    }
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::map<std::string, Process> nodes_;
};

TEST_F(RedTest, ElectsAWriterAdmitsCopiersAndReplacesTheFailedUnderACrashedReplica) {
  start("node1");
  ASSERT_TRUE(eventually_logged("node1", "role writer"));
  start("node2");
  start("node3");
  ASSERT_TRUE(eventually_logged("node2", "role copier"));
  ASSERT_TRUE(eventually_logged("node3", "role copier"));
  EXPECT_TRUE(logged("node1", "ack node2"));
  EXPECT_TRUE(logged("node1", "ack node3"));

  cluster_->kill(3, SIGKILL);  // one of the service's replicas: f = 1 is tolerated
  crash("node1");
  std::string writer;
  ASSERT_TRUE(eventually(
      [&] {
        for (const char* n : {"node2", "node3"}) {
          if (role_of(n) == "writer") writer = n;
        }
        return !writer.empty();
      },
      15s));
  const std::string other = writer == "node2" ? "node3" : "node2";
  EXPECT_TRUE(logged(writer, "role writer " + other)) << "the new writer's copiers: " << other;
  EXPECT_EQ(role_of(other), "copier");

  start("node4");
  ASSERT_TRUE(eventually_logged("node4", "role copier"));
  EXPECT_TRUE(eventually_logged(writer, "ack node4", 5s));

  crash(other);
  EXPECT_TRUE(eventually_logged(writer, "failed " + other));
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kRenewMs));
  expect_properties_hold();
}

TEST_F(RedTest, AMaliciousCoordinatorIsDeniedAndTheElectionIsUnaffected) {
  start("node1");
  ASSERT_TRUE(eventually_logged("node1", "role writer"));
  start("node2");
  ASSERT_TRUE(eventually_logged("node2", "role copier"));

  ClientOptions options;
  options.cluster_file = cluster_->cluster_file();
  options.identity_dir = cluster_->identity("mallory");
  auto connected = Client::connect(options);
  ASSERT_TRUE(connected.ok()) << connected.error().message;
  Client& mallory = **connected;
  const Insert leased{Millis(kLeaseMs), {}, {}};
  const auto replica = [](const std::string& id, const std::string& state) {
    return ts::Tuple{"REPLICA", id, state};
  };
  const auto denied = [](const auto& result) {
    return !result.ok() && result.error().code == Errc::kDenied;
  };
  // Pose as the writer, as another replica, or make another one a copier.
  EXPECT_TRUE(denied(mallory.out("red", replica("mallory", "WRITER"), leased)));
  EXPECT_TRUE(denied(mallory.out("red", replica("node1", "STOPPED"), leased)));
  EXPECT_TRUE(denied(mallory.out("red", replica("node3", "COPIER"), leased)));
  // Keep the writer's tuple alive for it, or take it over.
  EXPECT_TRUE(denied(mallory.renew("red", ts::exact(replica("node1", "WRITER")), Millis(60000))));
  EXPECT_TRUE(
      denied(mallory.cas("red", {ts::Value("REPLICA"), ts::Pattern::any(), ts::Value("WRITER")},
                         replica("node2", "WRITER"), leased)));
  // Remove the writer's or a copier's tuple.
  EXPECT_TRUE(denied(mallory.inp("red", ts::exact(replica("node1", "WRITER")))));
  EXPECT_TRUE(denied(mallory.inp("red", ts::exact(replica("node2", "COPIER")))));

  // Longer than a lease: had any of it worked, roles would have moved.
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kLeaseMs));
  EXPECT_EQ(role_of("node1"), "writer");
  EXPECT_EQ(role_of("node2"), "copier");
  EXPECT_TRUE(nodes_.at("node1").running());
  expect_properties_hold();
}

TEST_F(RedTest, AWriterCutOffFromTheServiceGivesUpBeforeItsLeaseCouldEnd) {
  start("node1");
  ASSERT_TRUE(eventually_logged("node1", "role writer"));
  // Two of four replicas down: no quorum, so no renewal can succeed from now on.
  const std::int64_t cut = red::now_ms();
  cluster_->kill(2, SIGKILL);
  cluster_->kill(3, SIGKILL);
  ASSERT_TRUE(eventually_logged("node1", "role none", std::chrono::milliseconds(2 * kLeaseMs)));
  const std::int64_t gave_up = *logged("node1", "role none");
  // The last renewal that succeeded was sent before the cut; the writer holds its role for
  // kHoldMs after it, then stops: well before the lease (kLeaseMs) could end for anyone else.
  EXPECT_LE(gave_up - cut, kHoldMs + 200) << "gave up " << gave_up - cut << " ms after the cut";
  EXPECT_LT(gave_up - cut, kLeaseMs - 2 * kSkewMs);
  EXPECT_EQ(nodes_.at("node1").wait(5000ms), std::optional<int>(3));
}

}  // namespace
}  // namespace bastion::itest
