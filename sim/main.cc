// bastion-sim: runs the deterministic cluster simulator over a range of seeds.
//
//   bastion-sim --seed S [--seeds N] [--f F] [--clients C] [--byzantine] [--steps K]
//               [--app kv] [--faults LIST] [--jobs J] [--verbose] [--stats]
//
// Runs seeds S..S+N-1, prints one summary line per failing seed (with the command that
// reproduces it) and a final line "N passed, M failed"; exits 0 only if every seed passed.
// --verbose prints every event of each run and the full failure reports; --stats prints one
// line of numbers per seed. --jobs runs seeds on several threads (output stays in seed order).
#include <sodium.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "bft/sim/options.h"
#include "bft/sim/simulation.h"
#include "sim/apps.h"

namespace sim = bastion::bft::sim;

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

void print_result(const std::string& program, const sim::SimOptions& o, const sim::RunResult& r,
                  bool stats, bool verbose) {
  if (stats) {
    const auto& s = r.stats;
    std::cout << "seed " << o.seed << ": " << (r.passed() ? "ok" : "FAIL") << " events=" << s.events
              << " messages=" << s.messages << " dropped=" << s.dropped
              << " ops=" << s.ops_completed << "/" << s.ops_issued
              << " ro=" << s.read_only_completed << " seq=" << s.last_executed << " view=" << s.view
              << " crashes=" << s.crashes << " provisional=" << s.provisional
              << " core_errors=" << s.core_errors << " byz_mutations=" << s.byzantine_mutations
              << " state_transfers=" << s.state_transfers
              << " state_bytes_fetched=" << s.state_bytes_fetched
              << " state_bytes_held=" << s.state_bytes_held << " abstained=" << s.abstained
              << " heal=" << s.heal_us / 1000 << "ms end=" << s.end_us / 1000 << "ms"
              << " warmup_ops=" << s.warmup_ops << " warmup_p50=" << s.warmup_latency_us / 1000
              << "ms tail_ops=" << s.tail_ops << " tail_p50=" << s.tail_latency_us / 1000
              << "ms tailc_ops=" << s.tail_correct_primary_ops
              << " tailc_p50=" << s.tail_correct_primary_latency_us / 1000
              << "ms T=" << s.request_timeout_us / 1000
              << "ms rt=" << s.retransmit_interval_us / 1000
              << "ms cap=" << s.capture_delay_max_us / 1000
              << "ms lin_steps=" << s.linearizability_steps
              << " lin_steps_max=" << s.linearizability_steps_max << "\n";
  }
  if (r.passed()) return;
  std::cout << "FAIL seed " << o.seed << ": " << first_line(r.failures.front())
            << " | reproduce: " << program << " " << o.repro_args() << "\n";
  if (verbose) {
    for (const auto& f : r.failures) std::cout << "  " << f << "\n";
    for (const auto& line : r.cluster) std::cout << "  " << line << "\n";
  }
  for (const auto& line : r.trace_tail) std::cout << "  | " << line << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "bastion-sim: libsodium failed to initialize\n";
    return 2;
  }
  CLI::App cli{"Bastion deterministic cluster simulator"};
  sim::SimOptions base;
  std::uint64_t seeds = 1;
  std::string faults;
  unsigned jobs = 1;
  bool stats = false;
  std::size_t trace_tail = 0;
  cli.add_option("--seed", base.seed, "first seed")->required();
  cli.add_option("--seeds", seeds, "number of consecutive seeds to run")
      ->check(CLI::PositiveNumber);
  cli.add_option("--f", base.f, "tolerated faults (n = 3f+1 replicas)")->check(CLI::Range(1, 4));
  cli.add_option("--clients", base.clients, "correct clients")->check(CLI::Range(1, 64));
  cli.add_flag("--byzantine", base.byzantine, "up to f Byzantine replicas and Byzantine clients");
  cli.add_option("--steps", base.steps, "client operations per run")->check(CLI::Range(1, 100000));
  std::string app = "kv";
  cli.add_option("--app", app, "replicated application")
      ->check(CLI::IsMember(bastion::sim::app_names()));
  cli.add_option("--faults", faults,
                 "fault classes to toggle, e.g. -crashes,-partitions,+drops,-equivocate");
  cli.add_option("--jobs", jobs, "seeds run in parallel")->check(CLI::Range(1, 64));
  cli.add_flag("--strict-throughput", base.throughput_strict,
               "the throughput check also counts operations ordered by Byzantine primaries");
  cli.add_flag("--real-storage", base.real_storage,
               "replicas persist through bft/storage over a fault-injecting file system");
  cli.add_flag("--verbose", base.verbose, "print every event and full failure reports");
  cli.add_flag("--stats", stats, "print one line of numbers per seed");
  cli.add_option("--trace-tail", trace_tail, "on failure, print the last K events");
  CLI11_PARSE(cli, argc, argv);
  std::string error;
  if (!base.faults.apply(faults, error)) {
    std::cerr << "bastion-sim: " << error << "\n";
    return 2;
  }
  base.plugin = bastion::sim::find_app(app);
  base.trace_tail = trace_tail;
  if (base.verbose) jobs = 1;

  const std::string program = argv[0];
  std::vector<std::optional<sim::RunResult>> results(seeds);
  std::atomic<std::uint64_t> next{0};
  std::mutex mu;
  std::uint64_t printed = 0;
  std::uint64_t failed = 0;
  auto options_for = [&](std::uint64_t i) {
    sim::SimOptions o = base;
    o.seed = base.seed + i;
    return o;
  };
  auto worker = [&] {
    for (std::uint64_t i = next++; i < seeds; i = next++) {
      sim::RunResult r = sim::run_seed(options_for(i));
      std::lock_guard lock(mu);
      results[i] = std::move(r);
      while (printed < seeds && results[printed]) {
        print_result(program, options_for(printed), *results[printed], stats, base.verbose);
        if (!results[printed]->passed()) ++failed;
        results[printed].reset();
        ++printed;
      }
      std::cout.flush();
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stats) std::cout << "wall time " << secs << " s\n";
  std::cout << (seeds - failed) << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
