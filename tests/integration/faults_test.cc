// Fault tolerance with real processes: under a steady load from several clients, SIGKILL a backup,
// then the primary; the load keeps completing; the killed replicas restart from their disks, catch
// up (state transfer and log), and end with the same stable checkpoint digest as the others.
// Nothing acknowledged is lost: every out that returned ok is found afterwards. Checkpoint states
// are captured in forked children throughout.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "client/client.h"
#include "tests/integration/cluster.h"
#include "tuplespace/text.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;
using ts::Pattern;
using ts::Value;

// One closed-loop writer: out ("w", id, i) for i = 0, 1, ...; remembers what was acknowledged.
class Writer {
 public:
  Writer(const LocalCluster& cluster, std::string identity, int id) : id_(id) {
    ClientOptions o;
    o.cluster_file = cluster.cluster_file();
    o.identity_dir = cluster.identity(identity);
    o.timeout = 20s;
    auto c = Client::connect(o);
    if (!c) throw std::runtime_error(c.error().message);
    client_ = std::move(*c);
    thread_ = std::thread([this] { loop(); });
  }
  ~Writer() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t acked() const { return acked_count_.load(); }
  std::uint64_t errors() const { return errors_.load(); }
  std::set<std::int64_t> acked_set() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  int id() const { return id_; }

 private:
  void loop() {
    for (std::int64_t i = 0; !stop_; ++i) {
      auto r = client_->out("load", Tuple{Value("w"), Value(std::int64_t{id_}), Value(i)});
      if (r) {
        std::lock_guard lock(mu_);
        acked_.insert(i);
        ++acked_count_;
      } else {
        ++errors_;
      }
    }
  }

  int id_;
  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acked_count_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::mutex mu_;
  std::set<std::int64_t> acked_;
};

// True once every writer acknowledged `more` further outs.
bool all_progress(const std::vector<std::unique_ptr<Writer>>& ws, std::uint64_t more,
                  std::chrono::milliseconds timeout) {
  std::vector<std::uint64_t> start;
  for (const auto& w : ws) start.push_back(w->acked());
  return eventually(
      [&] {
        for (std::size_t i = 0; i < ws.size(); ++i) {
          if (ws[i]->acked() < start[i] + more) return false;
        }
        return true;
      },
      timeout);
}

// Waits until a replica other than `down` reports a stable checkpoint above `seq`: a replica that
// stopped at `seq` then needs a state transfer to catch up.
bool others_checkpoint_past(Client& client, std::uint32_t down, std::uint64_t seq,
                            std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        for (const auto& r : client.status()) {
          if (r.id != down && r.reachable && r.stable_checkpoint > seq) return true;
        }
        return false;
      },
      timeout);
}

std::unique_ptr<Client> admin_client(const LocalCluster& cluster) {
  ClientOptions o;
  o.cluster_file = cluster.cluster_file();
  o.timeout = 20s;
  auto c = Client::connect(o);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

TEST(Faults, KillBackupThenPrimaryUnderLoad) {
  LocalCluster cluster(3);
  // Every checkpoint state is hashed on the worker thread, so replicas are killed with captures
  // in flight and restart from what reached their disk.
  cluster.bastiond_args = {"--checkpoint-thread-min-bytes", "0"};
  cluster.start_all();
  cluster.wait_ready();
  auto admin = admin_client(cluster);
  ASSERT_TRUE(admin->create_space("load").ok());

  std::vector<std::unique_ptr<Writer>> writers;
  const char* identities[] = {"admin", "client1", "client2", "client3"};
  for (int i = 0; i < 4; ++i)
    writers.push_back(std::make_unique<Writer>(cluster, identities[i], i));
  ASSERT_TRUE(all_progress(writers, 20, 30s)) << "no progress before any fault";

  // A backup dies: the others keep completing requests.
  auto status = admin->status();
  const std::uint32_t primary = status.at(0).primary;
  const std::uint32_t backup = (primary + 2) % 4;
  const std::uint64_t backup_seq = status.at(backup).last_executed + 20;
  cluster.kill(backup, SIGKILL);
  EXPECT_TRUE(all_progress(writers, 20, 30s)) << "no progress with backup " << backup << " down";
  EXPECT_TRUE(others_checkpoint_past(*admin, backup, backup_seq, 60s));

  // It restarts from its disk while the load goes on.
  cluster.start(backup);
  cluster.wait_ready();
  EXPECT_TRUE(all_progress(writers, 20, 30s));

  // The primary dies: a view change, then progress again.
  const std::uint64_t primary_seq = admin->status().at(primary).last_executed + 20;
  cluster.kill(primary, SIGKILL);
  EXPECT_TRUE(all_progress(writers, 20, 60s))
      << "no progress after the primary " << primary << " was killed";
  EXPECT_TRUE(others_checkpoint_past(*admin, primary, primary_seq, 60s));
  cluster.start(primary);
  cluster.wait_ready();
  EXPECT_TRUE(all_progress(writers, 20, 30s));

  for (auto& w : writers) w->stop();

  // Nothing acknowledged was lost.
  for (auto& w : writers) {
    auto all = admin->rd_all(
        "load",
        Template{Pattern(Value("w")), Pattern(Value(std::int64_t{w->id()})), Pattern::any()});
    ASSERT_TRUE(all.ok()) << all.error().message;
    std::set<std::int64_t> found;
    for (const Tuple& t : *all) found.insert(t[2].as_int());
    for (std::int64_t i : w->acked_set()) {
      ASSERT_TRUE(found.contains(i))
          << "acknowledged out (\"w\", " << w->id() << ", " << i << ") is missing";
    }
  }

  // The restarted replicas caught up: every replica reports the same last executed number and
  // stable checkpoint, with the same digest.
  ASSERT_TRUE(admin->out("load", Tuple{Value("done")}).ok());
  const bool converged = eventually(
      [&] {
        auto s = admin->status();
        if (s.size() != 4) return false;
        for (const auto& r : s) {
          if (!r.reachable || r.last_executed != s[0].last_executed ||
              r.stable_checkpoint != s[0].stable_checkpoint ||
              r.stable_digest != s[0].stable_digest) {
            return false;
          }
        }
        return s[0].stable_checkpoint > 0;
      },
      60s);
  EXPECT_TRUE(converged) << admin->status().size();
  double threaded = 0;
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    threaded += cluster.metric(r, "bastion_checkpoint_captures_total", "worker").value_or(0);
  }
  EXPECT_GT(threaded, 0);
}

}  // namespace
}  // namespace bastion::itest
