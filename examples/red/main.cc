// bastion-red: the ReD leader election on Bastion (docs/red.md).
//
//   bastion-red node --cluster FILE --identity NAME --log FILE [--space red]
//                    [--lease-ms 8000] [--renew-ms 1000] [--quiet]
//       One ReD node: a coordinator (Algorithm 2, acting as identity NAME, whose certificate
//       name is its id) and its database replica's stand-in, two threads joined by the text
//       protocol over a socketpair. Runs until killed; exits 3 when the coordinator had to stop
//       (lease lost, its tuple expired, or a policy denial), 2 for unusable arguments.
//   bastion-red verify [--within-ms 16000] LOG...
//       Prints a verdict per property (S1, S2, L1, L2, L3) from the nodes' logs; exit 0 only
//       if all hold, 1 otherwise, 2 for unreadable logs.
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <thread>

#include "config/cluster_config.h"
#include "examples/red/coordinator.h"
#include "examples/red/standin.h"
#include "examples/red/verify.h"

namespace {

using namespace bastion;

int run_node(const std::string& cluster, const std::string& identity, const std::string& log_path,
             const std::string& space, red::Timing timing, bool quiet) {
  auto config = config::load_cluster_config(cluster);
  if (!config) {
    std::cerr << "bastion-red: " << config.error().message << '\n';
    return 2;
  }
  timing.skew = red::Millis(config->protocol.clock_skew_max_ms);
  if (auto problem = timing.problem()) {
    std::cerr << "bastion-red: " << *problem << '\n';
    return 2;
  }
  ClientOptions options;
  options.cluster_file = cluster;
  options.identity_dir = identity;
  options.timeout = timing.lease;
  auto client = Client::connect(options);
  if (!client) {
    std::cerr << "bastion-red: " << client.error().message << '\n';
    return 2;
  }
  red::EventLog log((*client)->principal(), log_path, !quiet);
  if (!log.good()) {
    std::cerr << "bastion-red: " << log_path << ": cannot be written\n";
    return 2;
  }
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    std::cerr << "bastion-red: socketpair failed\n";
    return 2;
  }
  red::LineChannel replica_end(fds[0]);
  red::LineChannel coordinator_end(fds[1]);
  red::StandIn standin(log);
  std::thread replica([&] { standin.run(replica_end); });
  red::Coordinator coordinator(**client, space, timing, coordinator_end, log);
  const std::string why = coordinator.run();
  coordinator_end.close();  // the replica stops considering itself anything
  replica.join();
  std::cerr << "bastion-red: " << log.node() << " stopped: " << why << '\n';
  return 3;
}

int run_verify(const std::vector<std::string>& logs, int within_ms) {
  auto lines = red::read_logs(logs);
  if (!lines) {
    std::cerr << "bastion-red: " << lines.error() << '\n';
    return 2;
  }
  bool all = true;
  for (const red::Verdict& v : red::verify(std::move(*lines), red::Millis(within_ms))) {
    std::cout << v.property << (v.holds ? " holds: " : " VIOLATED: ") << v.detail << '\n';
    all = all && v.holds;
  }
  std::cout << (all ? "verdict: every property holds" : "verdict: a property is violated") << '\n';
  return all ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bastion-red: the ReD leader election on Bastion (docs/red.md)"};
  app.require_subcommand(1);

  std::string cluster, identity, log_path, space = "red";
  int lease_ms = 8000, renew_ms = 1000;
  bool quiet = false;
  CLI::App* node = app.add_subcommand("node", "run one ReD node (coordinator and replica)");
  node->add_option("--cluster", cluster, "the cluster file")->required();
  node->add_option("--identity", identity, "the node's identity (its id)")->required();
  node->add_option("--log", log_path, "the event log to append to")->required();
  node->add_option("--space", space, "the election's space");
  node->add_option("--lease-ms", lease_ms, "lease of every tuple")->check(CLI::Range(1, 600000));
  node->add_option("--renew-ms", renew_ms, "renew and poll period")->check(CLI::Range(1, 60000));
  node->add_flag("--quiet", quiet, "no narration on standard output");

  std::vector<std::string> logs;
  int within_ms = 16000;
  CLI::App* verify = app.add_subcommand("verify", "check S1, S2, L1-L3 on the nodes' logs");
  verify->add_option("--within-ms", within_ms, "bound for the liveness properties")
      ->check(CLI::Range(1, 3600000));
  verify->add_option("logs", logs, "the nodes' event logs")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*node) {
    return run_node(
        cluster, identity, log_path, space,
        bastion::red::Timing{bastion::red::Millis(lease_ms), bastion::red::Millis(renew_ms), {}},
        quiet);
  }
  return run_verify(logs, within_ms);
}
