// bastion-attack: how much of their throughput honest clients keep while the cluster is attacked
// (issue 9; docs/benchmarks.md, "Under attack: bastion-attack").
//
//   bastion-attack [--attacks LIST] [--duration S] [--clients N] [--op out|rdp|inp|cas|mix]
//                  [--json] [--check] [--in-memory] [--bin-dir DIR] [--keep-dir]
//                  [--client-quota-mib MIB]
//
// It starts its own 4-replica cluster on 127.0.0.1 in a temp directory (`bastion cluster init`,
// the cluster file's [test] allow_byzantine switched on and the per-client byte quota set to
// --client-quota-mib, one bastiond per replica from --bin-dir,
// by default the directory of this executable). N honest closed-loop clients (bench/cluster's
// drivers and workloads, identity admin) run in a space of their own. For each attack:
//   1. baseline: the honest clients alone for --duration seconds;
//   2. the attack starts (attacks.h; or, for the byzantine-* attacks, one replica is restarted
//      with bastiond --byzantine MODE: the primary for slow-primary and timestamp-push, a backup
//      otherwise; for state-transfer-drip a second backup is also restarted with its data wiped,
//      so that it must fetch a checkpoint, from the dripper among others), 0.5 s to take hold,
//      then the honest clients for --duration seconds while every replica's resident memory is
//      sampled every 100 ms;
//   3. the attack stops (the misbehaving replica is restarted correct), the cluster must answer
//      again within 60 s, and the writes the honest clients had acknowledged in both phases are
//      read back (all of them up to 2000, else a sample of 2000): "lost" counts those missing.
// One row per attack: baseline and attack ops/s, their ratio, both p99s, each replica's peak
// resident memory during the attack, lost writes, and a note on what the attack did.
//
// Exit status: 0 when it ran (with --check: 1 if an attack left the honest clients less than
// half their baseline throughput or lost an acknowledged write); 1 when it could not run; 2 for a
// bad command line.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/attack/attacks.h"
#include "bench/attack/local_cluster.h"
#include "bench/cluster/driver.h"
#include "bench/cluster/replica_metrics.h"
#include "bench/cluster/report.h"
#include "bench/cluster/workload.h"
#include "client/client.h"
#include "config/cluster_config.h"

namespace bastion::bench {
namespace {

using namespace std::chrono_literals;

struct Options {
  std::string attacks = "all";
  double duration_s = 5;
  std::uint64_t clients = 16;
  std::string op = "out";
  bool json = false;
  bool check = false;
  bool in_memory = false;
  std::string bin_dir;
  bool keep_dir = false;
  std::uint64_t client_quota_mib = 32;
};

const std::vector<std::string>& byzantine_attacks() {
  static const std::vector<std::string> kNames = {
      "byzantine-slow-primary", "byzantine-view-change-flood", "byzantine-state-transfer-drip",
      "byzantine-timestamp-push"};
  return kNames;
}

struct Phase {
  double ops_per_s = 0;
  double p99_ms = 0;
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::pair<std::int64_t, std::int64_t>> acked;
};

struct Row {
  std::string name;
  Phase baseline;
  Phase attack;
  std::vector<double> peak_mib;
  std::uint64_t checked = 0;
  std::uint64_t lost = 0;
  bool recovered = true;
  std::string note;

  double ratio() const {
    return baseline.ops_per_s > 0 ? attack.ops_per_s / baseline.ops_per_s : 0;
  }
};

// The honest clients: one Client (identity admin) and N closed-loop lanes in one space.
class Honest {
 public:
  Honest(const LocalCluster& cluster, Op op, std::uint64_t clients)
      : space_("honest-" + std::to_string(::getpid())), workload_(op, space_, 64) {
    ClientOptions o;
    o.cluster_file = cluster.cluster_file();
    o.identity_dir = cluster.identity("admin");
    o.timeout = 10s;
    // The replicas were just started: retry until they serve.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      auto c = Client::connect(o);
      if (c) {
        ts::SpaceOptions so;
        so.tuples_max = ts::kTuplesCap;
        so.tuples_per_client_max = ts::kTuplesCap;
        auto created = (*c)->create_space(space_, so);
        if (created || created.error().code == Errc::kSpaceExists) {
          client_ = std::move(*c);
          break;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the cluster did not serve within 60 s");
      }
      std::this_thread::sleep_for(500ms);
    }
    states_.reserve(clients);
    for (std::uint64_t c = 0; c < clients; ++c) {
      states_.emplace_back(workload_, static_cast<std::int64_t>(c));
    }
    for (ClientState& s : states_) {
      for (const ts::Request& r : s.preload()) {
        auto done = client_->execute(r);
        if (!done) throw std::runtime_error("preload failed: " + done.error().message);
      }
    }
  }

  Client& client() { return *client_; }

  Phase measure(double duration_s) {
    const Clock::time_point start = Clock::now();
    Window window(start, start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(duration_s)));
    std::vector<ClientState*> lanes;
    for (ClientState& s : states_) lanes.push_back(&s);
    Driver driver(*client_, std::move(lanes), window, CallOptions{Millis(10'000)});
    driver.start();
    driver.wait();
    Recorder r = driver.recorder();
    std::vector<std::uint64_t> all;
    for (std::size_t k = 0; k < kStepKinds; ++k) {
      if (static_cast<StepKind>(k) == StepKind::kRefill) continue;
      all.insert(all.end(), r.latency_ns[k].begin(), r.latency_ns[k].end());
    }
    const LatencySummary latency = summarize(all);
    Phase p;
    p.ops_per_s = static_cast<double>(latency.count) / duration_s;
    p.p99_ms = latency.p99_ms;
    p.errors = r.errors;
    p.acked = std::move(r.acked_writes);
    return p;
  }

  // How many of `acked` (a sample of at most `max`) cannot be read back.
  std::pair<std::uint64_t, std::uint64_t> lost(
      std::vector<std::pair<std::int64_t, std::int64_t>> acked, std::size_t max) {
    if (acked.size() > max) {
      std::mt19937_64 rng(acked.size());
      std::shuffle(acked.begin(), acked.end(), rng);
      acked.resize(max);
    }
    std::uint64_t missing = 0;
    constexpr std::size_t kWave = 64;
    for (std::size_t begin = 0; begin < acked.size(); begin += kWave) {
      std::vector<std::future<Expected<std::optional<ts::Tuple>>>> wave;
      for (std::size_t i = begin; i < std::min(acked.size(), begin + kWave); ++i) {
        wave.push_back(
            client_->rdp_async(space_, workload_.key_template(acked[i].first, acked[i].second)));
      }
      for (auto& f : wave) {
        auto r = f.get();
        if (!r || !*r) ++missing;
      }
    }
    return {acked.size(), missing};
  }

  // A tuple with a lease, for measuring how long it really lives; false if the out failed.
  bool insert_lease_probe(Millis lease) {
    auto r = client_->out(space_, ts::Tuple{ts::Value("lease-probe")}, Insert{lease, {}, {}});
    if (r) probe_acked_ = Clock::now();
    return r.ok();
  }
  // Seconds from the probe's acknowledgement until a read no longer finds it (polled every 50
  // ms until `deadline`), or nullopt if it was still there.
  std::optional<double> lease_probe_lifetime(Clock::time_point deadline) {
    const ts::Template probe{ts::Pattern(ts::Value("lease-probe"))};
    while (Clock::now() < deadline) {
      auto r = client_->rdp(space_, probe, CallOptions{Millis(5000)});
      if (r && !*r) {
        return std::chrono::duration<double>(Clock::now() - probe_acked_).count();
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

  // True once an out is answered (the cluster serves again), within `timeout`.
  bool wait_serving(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client_->out(space_, ts::Tuple{ts::Value("probe")}, {}, CallOptions{Millis(5000)});
      if (r) return true;
    }
    return false;
  }

 private:
  std::string space_;
  Workload workload_;
  std::unique_ptr<Client> client_;
  std::vector<ClientState> states_;
  Clock::time_point probe_acked_{};
};

std::uint32_t current_primary(Client& client) {
  std::map<std::uint32_t, int> votes;
  for (const ReplicaInfo& r : client.status(CallOptions{Millis(3000)})) {
    if (r.reachable && !r.view_changing) ++votes[r.primary];
  }
  std::uint32_t best = 0;
  int most = -1;
  for (const auto& [primary, n] : votes) {
    if (n > most) {
      best = primary;
      most = n;
    }
  }
  return best;
}

std::vector<pid_t> replica_pids(const LocalCluster& cluster) {
  std::vector<pid_t> pids;
  for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) pids.push_back(cluster.pid(i));
  return pids;
}

std::string errors_text(const std::map<std::string, std::uint64_t>& errors) {
  std::string out;
  for (const auto& [name, n] : errors) {
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  }
  return out;
}

// What the replicas' own metrics say of the attack phase: view changes, signature work, drops.
std::string activity_note(const std::map<std::uint32_t, MetricValues>& before,
                          const std::map<std::uint32_t, MetricValues>& after) {
  double drops = 0;
  for (const auto& [id, values] : after) {
    auto was = before.find(id);
    if (was == before.end()) continue;
    for (const auto& [key, value] : values) {
      if (key.rfind("bastion_drops_total", 0) != 0) continue;
      auto old = was->second.find(key);
      drops += value - (old == was->second.end() ? 0 : old->second);
    }
  }
  const auto activity = activity_between(before, after);
  if (!activity) return fmt::format("replicas dropped {:.0f} messages", drops);
  return fmt::format(
      "replicas: {:.0f} view change(s), {:.1f}% of their time signing and verifying, {:.0f} "
      "messages dropped",
      activity->view_changes, 100 * activity->crypto_share, drops);
}

// The replica restarted with --byzantine, and for the drip a second one that must catch up.
struct ByzantinePlan {
  std::string mode;
  std::uint32_t faulty = 0;
  std::optional<std::uint32_t> wiped;
};

ByzantinePlan plan_for(const std::string& attack, std::uint32_t primary) {
  ByzantinePlan p;
  p.mode = attack.substr(std::string("byzantine-").size());
  if (p.mode == "slow-primary" || p.mode == "timestamp-push") {
    p.faulty = primary;
  } else if (p.mode == "state-transfer-drip") {
    // A fetching replica w asks the signers of the stable proof other than itself, sorted,
    // starting at index w mod their number (bft/core/catch_up.cc): with all four replicas up
    // that is replica w + 1 mod 4. Both are backups, so the primary keeps ordering.
    p.wiped = (primary + 1) % LocalCluster::kReplicas;
    p.faulty = (primary + 2) % LocalCluster::kReplicas;
  } else {
    p.faulty = (primary + 1) % LocalCluster::kReplicas;
  }
  return p;
}

Row run_attack(const std::string& name, const Options& o, LocalCluster& cluster, Honest& honest,
               const config::ClusterConfig& config) {
  Row row;
  row.name = name;
  const std::uint32_t primary = current_primary(honest.client());
  row.baseline = honest.measure(o.duration_s);

  std::unique_ptr<Attack> attack;
  std::optional<ByzantinePlan> plan;
  // timestamp-push: a lease inserted under the correct primary, long enough to end while the
  // pushing one orders (its agreed time runs ahead: the lease ends early by that much).
  const Millis lease(static_cast<std::int64_t>(1000 * o.duration_s) + 6000);
  bool lease_probe = false;
  if (name.rfind("byzantine-", 0) == 0) {
    plan = plan_for(name, primary);
    if (plan->mode == "timestamp-push") lease_probe = honest.insert_lease_probe(lease);
    cluster.start(plan->faulty, {"--byzantine", plan->mode});
    if (plan->wiped) {
      cluster.stop(*plan->wiped);
      std::error_code ec;
      std::filesystem::remove_all(config.data_dir / ("replica-" + std::to_string(*plan->wiped)),
                                  ec);
      cluster.start(*plan->wiped);
    }
  } else {
    attack = make_attack(name);
    attack->start(AttackEnv{&cluster, primary, &honest.client()});
  }
  std::this_thread::sleep_for(500ms);
  const auto metrics_before = scrape_replicas(config);
  MemorySampler memory(replica_pids(cluster));
  row.attack = honest.measure(o.duration_s);
  memory.stop();
  row.peak_mib = memory.peak_mib();
  const std::string activity = activity_note(metrics_before, scrape_replicas(config));

  std::string note;
  if (attack) {
    attack->stop();
    note = attack->note();
  } else {
    note = "replica " + std::to_string(plan->faulty) + " ran --byzantine " + plan->mode +
           (plan->faulty == primary ? " (the primary)" : "");
    if (plan->wiped) {
      const auto metrics = scrape_replicas(config);
      auto value = [&](std::uint32_t id, const std::string& key) -> std::string {
        auto it = metrics.find(id);
        if (it == metrics.end()) return "?";
        for (const auto& [k, v] : it->second) {
          if (k.rfind(key, 0) == 0) return fmt::format("{:.0f}", v);
        }
        return "0";  // counters are published once they are not zero
      };
      note +=
          "; replica " + std::to_string(*plan->wiped) +
          " restarted empty: fetching_state=" + value(*plan->wiped, "bastion_fetching_state") +
          ", last executed " + value(*plan->wiped, "bastion_last_executed") + " vs " +
          value(primary, "bastion_last_executed") + " on the primary; the dripping replica sent " +
          value(plan->faulty, "bastion_messages_out_total{type=\"state_chunk\"") + " state chunks";
    }
    if (lease_probe) {
      const auto lived = honest.lease_probe_lifetime(Clock::now() + lease + 10s);
      note +=
          fmt::format("; a tuple with a lease of {:.1f} s inserted under the correct primary {}",
                      static_cast<double>(lease.count()) / 1000,
                      lived ? fmt::format("lived {:.2f} s", *lived)
                            : std::string("was still there 10 s after its lease"));
    }
    cluster.start(plan->faulty);  // correct again
  }
  for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) {
    if (!cluster.running(i)) {
      note += "; replica " + std::to_string(i) + " DIED (restarted)";
      cluster.start(i);
    }
  }
  note += "; " + activity;
  if (!row.attack.errors.empty()) note += "; honest errors: " + errors_text(row.attack.errors);
  row.note = note;
  row.recovered = honest.wait_serving(60s);
  if (!row.recovered) row.note += "; the cluster did NOT serve again within 60 s";

  if (o.op == "out" || o.op == "cas") {
    auto acked = row.baseline.acked;
    acked.insert(acked.end(), row.attack.acked.begin(), row.attack.acked.end());
    const auto [checked, lost] = honest.lost(std::move(acked), 2000);
    row.checked = checked;
    row.lost = lost;
  }
  return row;
}

std::string to_text(const std::vector<Row>& rows, const Options& o) {
  std::ostringstream s;
  s << fmt::format("bastion-attack: {} honest clients, op {}, {:.1f} s per phase\n", o.clients,
                   o.op, o.duration_s);
  s << fmt::format("{:<30} {:>10} {:>10} {:>6} {:>9} {:>9} {:>27} {:>10}\n", "attack", "base op/s",
                   "att op/s", "ratio", "base p99", "att p99", "peak MiB r0/r1/r2/r3", "lost");
  for (const Row& r : rows) {
    std::string mem;
    for (const double m : r.peak_mib) mem += (mem.empty() ? "" : "/") + fmt::format("{:.0f}", m);
    const std::string lost = r.checked == 0 ? "-" : fmt::format("{}/{}", r.lost, r.checked);
    s << fmt::format("{:<30} {:>10.0f} {:>10.0f} {:>5.0f}% {:>7.1f}ms {:>7.1f}ms {:>27} {:>10}\n",
                     r.name, r.baseline.ops_per_s, r.attack.ops_per_s, 100 * r.ratio(),
                     r.baseline.p99_ms, r.attack.p99_ms, mem, lost);
  }
  s << "\n";
  for (const Row& r : rows) s << r.name << ": " << r.note << "\n";
  return s.str();
}

std::string json_string(const std::string& v) {
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string to_json(const std::vector<Row>& rows, const Options& o) {
  std::ostringstream s;
  s << fmt::format(R"({{"clients":{},"op":{},"duration_s":{},"attacks":[)", o.clients,
                   json_string(o.op), o.duration_s);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::string mem;
    for (const double m : r.peak_mib) mem += (mem.empty() ? "" : ",") + fmt::format("{:.1f}", m);
    s << (i == 0 ? "" : ",")
      << fmt::format(
             R"({{"name":{},"baseline_ops_per_s":{:.1f},"attack_ops_per_s":{:.1f},"ratio":{:.3f},)"
             R"("baseline_p99_ms":{:.2f},"attack_p99_ms":{:.2f},"peak_mib":[{}],)"
             R"("acked_checked":{},"acked_lost":{},"recovered":{},"note":{}}})",
             json_string(r.name), r.baseline.ops_per_s, r.attack.ops_per_s, r.ratio(),
             r.baseline.p99_ms, r.attack.p99_ms, mem, r.checked, r.lost,
             r.recovered ? "true" : "false", json_string(r.note));
  }
  s << "]}";
  return s.str();
}

std::vector<std::string> parse_list(const std::string& list) {
  std::vector<std::string> all = traffic_attacks();
  all.insert(all.end(), byzantine_attacks().begin(), byzantine_attacks().end());
  if (list == "all") return all;
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      std::string known;
      for (const auto& a : all) known += (known.empty() ? "" : ", ") + a;
      throw CLI::ValidationError("--attacks",
                                 "unknown attack '" + name + "' (known: " + known + ")");
    }
    out.push_back(name);
  }
  return out;
}

int run(const Options& o, const std::vector<std::string>& attacks) {
  // Hundreds of sockets per replica for the handshake flood.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  std::filesystem::path bin_dir = o.bin_dir;
  if (bin_dir.empty()) bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  LocalCluster cluster(bin_dir, o.in_memory, o.client_quota_mib << 20);
  cluster.keep_dir = o.keep_dir;
  auto config = config::load_cluster_config(cluster.cluster_file());
  if (!config) {
    std::cerr << "bastion-attack: " << config.error().message << "\n";
    return 1;
  }
  for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) cluster.start(i);
  Honest honest(cluster, *parse_op(o.op), o.clients);

  std::vector<Row> rows;
  for (const std::string& name : attacks) {
    if (!o.json) std::cerr << "bastion-attack: " << name << "...\n";
    rows.push_back(run_attack(name, o, cluster, honest, *config));
  }
  std::cout << (o.json ? to_json(rows, o) + "\n" : to_text(rows, o));
  if (!o.check) return 0;
  bool ok = true;
  for (const Row& r : rows) ok = ok && r.ratio() >= 0.5 && r.lost == 0 && r.recovered;
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace bastion::bench

int main(int argc, char** argv) {
  using bastion::bench::Options;
  Options o;
  CLI::App app{"bastion-attack: honest clients' throughput under attack, beside a baseline"};
  app.add_option(
      "--attacks", o.attacks,
      "comma-separated: oversized-client, oversized-replica, handshake-flood, "
      "one-replica-junk, big-tuples, fill-and-park, client-flood, byzantine-slow-primary, "
      "byzantine-view-change-flood, byzantine-state-transfer-drip, "
      "byzantine-timestamp-push (default all)");
  app.add_option("--duration", o.duration_s, "seconds per phase (default 5)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--clients", o.clients, "honest closed-loop clients (default 16)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000}));
  app.add_option("--op", o.op, "the honest clients' operation (default out)")
      ->check(CLI::IsMember({"out", "rdp", "inp", "cas", "mix"}));
  app.add_flag("--json", o.json, "print one JSON object");
  app.add_flag("--check", o.check,
               "exit 1 if an attack leaves less than 50% of the baseline throughput, loses an "
               "acknowledged write or the cluster does not recover");
  app.add_flag("--in-memory", o.in_memory, "replicas keep no data on disk");
  app.add_option("--bin-dir", o.bin_dir,
                 "where bastiond and bastion are (default: this executable's directory)");
  app.add_option("--client-quota-mib", o.client_quota_mib,
                 "[tuplespace] bytes_per_client_max of the cluster, in MiB (default 32: small "
                 "enough for fill-and-park to reach it in a short phase)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{3072}));
  app.add_flag("--keep-dir", o.keep_dir, "keep the cluster directory (logs) afterwards");
  std::vector<std::string> attacks;
  try {
    app.parse(argc, argv);
    attacks = bastion::bench::parse_list(o.attacks);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return bastion::bench::run(o, attacks);
  } catch (const std::exception& e) {
    std::cerr << "bastion-attack: " << e.what() << "\n";
    return 1;
  }
}
