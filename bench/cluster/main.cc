// bastion-bench: closed-loop load against a running Bastion cluster.
//
//   bastion-bench --cluster FILE --op out|rdp|inp|cas|mix --clients N --duration SECONDS
//                 [--size BYTES] [--json] [--connections K] [--warmup SECONDS]
//                 [--identity NAME|DIR] [--timeout-ms MS] [--state-tuples N] [--policy FILE]
//                 [--confidential]
//
// N bench clients, each with exactly one request outstanding, share K Client objects (sessions
// and TLS connections to every replica; default 1), driven from their I/O threads. The tool
// creates its own space bench-<pid> (the identity must be an administrator; default: the
// cluster's default identity), preloads what the operation reads or removes (workload.h), runs
// --warmup seconds unmeasured, measures --duration seconds, deletes the space and prints one
// summary (report.h). Replica CPU comes from /proc when the replicas run on this machine. With
// --confidential the space is confidential, protection pu,pu,pu,pr: the payload is private (the
// client library seals every tuple and opens every reply; docs/confidentiality.md).
//
// SIGINT or SIGTERM during the run ends the window early: the summary covers what ran, and the
// space is still deleted (a second signal ends the process at once).
//
// Exit status: 0 when the run completed (failed operations are counted, not fatal); 1 when it
// could not run (connect, space creation or preload failed); 2 for a bad command line.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/cluster/driver.h"
#include "bench/cluster/proc_cpu.h"
#include "bench/cluster/replica_metrics.h"
#include "bench/cluster/report.h"
#include "bench/cluster/workload.h"
#include "client/client.h"
#include "config/cluster_config.h"
#include "config/pki.h"

namespace bastion::bench {
namespace {

struct Options {
  std::string cluster_file;
  std::string op = "out";
  std::uint64_t clients = 1;
  double duration_s = 10;
  std::uint64_t size_bytes = 64;
  bool json = false;
  std::uint64_t connections = 1;
  double warmup_s = 1;
  std::string identity;
  std::uint64_t timeout_ms = 10'000;
  std::uint64_t state_tuples = 0;
  std::string policy_file;  // the space's policy script, if any
  bool confidential = false;
};

// Preload requests in flight per connection at once: enough to keep the pipeline full, few
// enough that none waits out its timeout in the client's local queue.
constexpr std::size_t kPreloadWindow = 32;

int fail_run(const std::string& what, const Error& error) {
  std::cerr << "bastion-bench: " << what << ": " << errc_name(error.code) << ": " << error.message
            << '\n';
  return 1;
}

volatile sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int signal) {
  interrupted = 1;
  ::signal(signal, SIG_DFL);  // a second one ends the process
}

// Sleeps until `t`; false if interrupted first.
bool sleep_until(Clock::time_point t) {
  constexpr auto kSlice = std::chrono::milliseconds(20);
  while (interrupted == 0) {
    const Clock::time_point now = Clock::now();
    if (now >= t) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(kSlice, t - now));
  }
  return false;
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

ts::SpaceOptions space_options(std::uint64_t size_bytes) {
  ts::SpaceOptions options;
  // Room for the payload and the other fields; no quota may end a long run early.
  options.tuple_bytes_max = static_cast<std::uint32_t>(std::min<std::uint64_t>(
      std::max<std::uint64_t>(64 * 1024, size_bytes + 1024), ts::kTupleBytesCap));
  options.tuples_max = ts::kTuplesCap;
  options.tuples_per_client_max = ts::kTuplesCap;
  return options;
}

// Sends every client's preload, a window at a time per connection; the first failure ends it.
Expected<Done> preload(const Workload& workload, std::uint64_t state_tuples,
                       std::vector<ClientState>& states,
                       const std::vector<std::unique_ptr<Client>>& clients, CallOptions call) {
  std::vector<std::pair<Client*, ts::Request>> work;
  // Ballast (--state-tuples): written as client -1, so no operation ever matches it.
  for (ts::Request& r : workload.writes(-1, 0, state_tuples)) {
    work.emplace_back(clients[work.size() % clients.size()].get(), std::move(r));
  }
  for (ClientState& state : states) {
    Client* client = clients[static_cast<std::size_t>(state.client()) % clients.size()].get();
    for (ts::Request& r : state.preload()) work.emplace_back(client, std::move(r));
  }
  const std::size_t wave = kPreloadWindow * clients.size();
  for (std::size_t begin = 0; begin < work.size(); begin += wave) {
    std::vector<std::future<Expected<ts::Reply>>> replies;
    for (std::size_t i = begin; i < std::min(work.size(), begin + wave); ++i) {
      replies.push_back(work[i].first->execute_async(work[i].second, call));
    }
    for (auto& reply : replies) {
      Expected<ts::Reply> r = reply.get();
      if (!r) return fail(std::move(r).error());
    }
  }
  return Done{};
}

Summary summarize_run(const Options& o, const std::string& space, Recorder& total,
                      Clock::duration window) {
  Summary s;
  s.op = o.op;
  s.space = space;
  s.clients = o.clients;
  s.connections = o.connections;
  s.size_bytes = o.size_bytes;
  s.confidential = o.confidential;
  s.warmup_s = o.warmup_s;
  s.duration_s = std::chrono::duration<double>(window).count();
  std::vector<std::uint64_t> all;
  for (std::size_t k = 0; k < kStepKinds; ++k) {
    const auto kind = static_cast<StepKind>(k);
    if (kind == StepKind::kRefill) continue;
    std::vector<std::uint64_t>& samples = total.latency_ns[k];
    all.insert(all.end(), samples.begin(), samples.end());
    if (o.op == "mix" && !samples.empty()) {
      s.by_step[std::string(step_name(kind))] = summarize(samples);
    }
  }
  s.latency = summarize(all);
  s.ops = s.latency.count;
  s.ops_per_s = s.duration_s > 0 ? static_cast<double>(s.ops) / s.duration_s : 0;
  s.errors = total.errors;
  s.refills = total.refills;
  return s;
}

int run(const Options& o, Op op) {
  ClientOptions client_options;
  client_options.cluster_file = o.cluster_file;
  client_options.identity_dir = o.identity;
  client_options.timeout = Millis(o.timeout_ms);
  std::vector<std::unique_ptr<Client>> clients;
  for (std::uint64_t k = 0; k < o.connections; ++k) {
    auto connected = Client::connect(client_options);
    if (!connected) return fail_run("connect", connected.error());
    clients.push_back(std::move(*connected));
  }
  Client& admin = *clients.front();
  const std::string space = "bench-" + std::to_string(getpid());
  ts::SpaceOptions options = space_options(o.size_bytes);
  if (!o.policy_file.empty()) {
    auto text = config::pki::read_small_file(o.policy_file, ts::kPolicyBytesMax);
    if (!text) {
      std::cerr << "bastion-bench: --policy: " << text.error() << '\n';
      return 1;
    }
    options.policy = std::move(*text);
  }
  if (o.confidential) {
    // ("bench", client, key, payload): matched on the first three, the payload private.
    options.confidential = true;
    options.protection = {ts::kProtectionPublic, ts::kProtectionPublic, ts::kProtectionPublic,
                          ts::kProtectionPrivate};
  }
  if (auto created = admin.create_space(space, options); !created) {
    return fail_run("create space " + space, created.error());
  }

  const Workload workload(op, space, o.size_bytes);
  std::vector<ClientState> states;
  states.reserve(o.clients);
  for (std::uint64_t c = 0; c < o.clients; ++c) {
    states.emplace_back(workload, static_cast<std::int64_t>(c));
  }
  const CallOptions call{Millis(o.timeout_ms)};
  if (auto loaded = preload(workload, o.state_tuples, states, clients, call); !loaded) {
    const int status = fail_run("preload", loaded.error());
    (void)admin.delete_space(space);
    return status;
  }

  const std::map<int, ReplicaProcess> replicas = find_replicas(o.cluster_file);
  // Connect already loaded and checked it; a failure here only hides the replicas' metrics.
  const auto cluster = config::load_cluster_config(o.cluster_file);
  auto scrape = [&cluster] {
    return cluster ? scrape_replicas(*cluster) : std::map<std::uint32_t, MetricValues>{};
  };
  const Clock::time_point start = Clock::now() + seconds(o.warmup_s);
  Window window(start, start + seconds(o.duration_s));
  std::vector<std::vector<ClientState*>> lanes(o.connections);
  for (std::uint64_t c = 0; c < o.clients; ++c) lanes[c % o.connections].push_back(&states[c]);
  std::vector<std::unique_ptr<Driver>> drivers;
  for (std::uint64_t k = 0; k < o.connections; ++k) {
    drivers.push_back(std::make_unique<Driver>(*clients[k], std::move(lanes[k]), window, call));
  }
  signal(SIGINT, on_interrupt);
  signal(SIGTERM, on_interrupt);
  for (auto& d : drivers) d->start();

  const double load_start = load_average_1m();
  std::map<int, ProcessTimes> cpu_before;
  std::map<int, ProcessTimes> cpu_after;
  std::map<std::uint32_t, MetricValues> metrics_before;
  std::map<std::uint32_t, MetricValues> metrics_after;
  double own_before = 0;
  double own_after = 0;
  if (sleep_until(window.start())) {
    cpu_before = sample_times(replicas);
    own_before = own_cpu_seconds();
    metrics_before = scrape();
    if (!sleep_until(window.end())) window.end_now();
    cpu_after = sample_times(replicas);
    own_after = own_cpu_seconds();
    metrics_after = scrape();
  } else {
    window.end_now();  // interrupted in the warm-up: nothing measured
  }
  for (auto& d : drivers) d->wait();

  Recorder total;
  for (const auto& d : drivers) total.merge(d->recorder());
  Summary s = summarize_run(o, space, total, window.length());
  s.interrupted = interrupted != 0;
  s.load_start = load_start;
  s.load_end = load_average_1m();
  s.bench_cpu_s = own_after - own_before;
  s.replica_work = activity_between(metrics_before, metrics_after);
  if (!replicas.empty() && !cpu_after.empty()) {
    ReplicaCpu cpu;
    for (const auto& [pid, process] : replicas) {
      if (cpu_after.count(pid) != 0) cpu.ids.push_back(process.id);
    }
    const TimesDelta delta = times_delta(cpu_before, cpu_after);
    cpu.seconds = delta.cpu_s;
    cpu.run_wait_s = delta.run_wait_s;
    s.replica_cpu = cpu;
  }

  if (auto deleted = admin.delete_space(space); !deleted) {
    std::cerr << "bastion-bench: warning: could not delete space " << space << ": "
              << errc_name(deleted.error().code) << ": " << deleted.error().message << '\n';
  }
  std::cout << (o.json ? to_json(s) + "\n" : to_text(s));
  return 0;
}

}  // namespace
}  // namespace bastion::bench

int main(int argc, char** argv) {
  using bastion::bench::Options;
  Options o;
  CLI::App app{"bastion-bench: closed-loop load against a Bastion cluster"};
  app.add_option("--cluster", o.cluster_file, "cluster.toml of the cluster")->required();
  app.add_option("--op", o.op, "operation: out, rdp, inp, cas or mix")
      ->check(CLI::IsMember({"out", "rdp", "inp", "cas", "mix"}));
  app.add_option("--clients", o.clients, "closed-loop clients (one request outstanding each)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000}));
  app.add_option("--duration", o.duration_s, "seconds measured")
      ->check(CLI::Range(0.001, 86'400.0));
  app.add_option("--size", o.size_bytes, "tuple payload bytes (default 64)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{16} << 20));
  app.add_flag("--json", o.json, "print one JSON object");
  app.add_option("--connections", o.connections,
                 "Client objects (sessions, TLS connections to each replica) shared by the clients")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1024}));
  app.add_option("--warmup", o.warmup_s, "seconds of unmeasured load first (default 1)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--identity", o.identity,
                 "identity name or directory (an administrator; default: the cluster's)");
  app.add_option("--timeout-ms", o.timeout_ms, "per-call timeout (default 10000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{3'600'000}));
  app.add_option("--state-tuples", o.state_tuples,
                 "tuples written to the space before the run, so it measures a large state")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100'000'000}));
  app.add_flag("--confidential", o.confidential,
               "a confidential space: every payload sealed and opened (PVSS)");
  app.add_option("--policy", o.policy_file, "a policy script for the space (Lua)")
      ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.connections > o.clients) o.connections = o.clients;
  return bastion::bench::run(o, *bastion::bench::parse_op(o.op));
}
