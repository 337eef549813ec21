// bastiond: runs one replica of a Bastion cluster (a ReplicaNode) until SIGTERM or SIGINT.
//
//   bastiond --cluster DIR/cluster.toml --id N [--log-level LEVEL] [--in-memory]
//            [--byzantine MODE]
//
// --byzantine (TEST ONLY, server/byzantine.h) makes the replica misbehave for measurements; it is
// refused (exit 2) unless the cluster file sets [test] allow_byzantine = true.
//
// Logs go to stderr, one line per notable event (docs/operations.md lists them). Exit status:
//   0  stopped by SIGTERM/SIGINT after flushing its storage and closing its connections;
//   1  it could not run: data directory unusable, port taken, storage failure while running;
//   2  bad command line or configuration (the message names the file, the key and the problem),
//      also when it stops because its cluster file's execution settings differ from the other
//      replicas' (server/execution_settings.h).
// A second signal during shutdown ends the process at once (the signal's default action).
#include <malloc.h>
#include <signal.h>

#include <utility>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/cluster_config.h"
#include "server/byzantine.h"
#include "server/replica_node.h"

namespace {

struct Args {
  std::string cluster_file;
  std::uint32_t id = 0;
  std::string log_level = "info";
  bool in_memory = false;
  std::uint64_t checkpoint_thread_min_bytes =
      bastion::server::NodeOptions{}.capture_thread_min_bytes;
  std::optional<std::string> checkpoint_fork_min_bytes;  // no longer used: a warning
  std::optional<std::string> checkpoint_stall_max_ms;    // no longer used: a warning
  std::string byzantine;                                 // empty: a correct replica
};

const char* signal_name(int signal) {
  return signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "a signal";
}

// The first SIGTERM or SIGINT stops the node; the io_context then runs out of work and run()
// returns. The signals go back to their default action, so a second one ends the process at once.
void stop_on_signal(boost::asio::signal_set& signals, bastion::server::ReplicaNode& node,
                    spdlog::logger& log) {
  signals.async_wait([&signals, &node, &log](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log.info("{} received: shutting down", signal_name(signal));
    boost::system::error_code ignored;
    signals.clear(ignored);
    node.stop();
  });
}

int run(const Args& args, const std::shared_ptr<spdlog::logger>& log) {
  auto cluster = bastion::config::load_cluster_config(args.cluster_file);
  if (!cluster) {
    log->critical("{}", cluster.error().message);
    return 2;
  }
  std::optional<bastion::server::ByzantineMode> byzantine;
  if (!args.byzantine.empty()) {
    byzantine = bastion::server::parse_byzantine_mode(args.byzantine);
    if (!byzantine) {
      log->critical("--byzantine: unknown mode '{}' (one of {})", args.byzantine,
                    bastion::server::byzantine_mode_names());
      return 2;
    }
    if (!cluster->test.allow_byzantine) {
      log->critical(
          "{}: --byzantine {} needs [test] allow_byzantine = true in the cluster file (a "
          "misbehaving replica is for measurements only)",
          cluster->file.string(), args.byzantine);
      return 2;
    }
  }
  log->info("starting replica {} of cluster '{}' (n = {}, f = {}) from {}", args.id, cluster->name,
            cluster->n(), cluster->f, cluster->file.string());

  boost::asio::io_context io;
  bastion::server::NodeOptions options;
  options.logger = log;
  if (args.in_memory) options.in_memory = true;
  options.capture_thread_min_bytes = args.checkpoint_thread_min_bytes;
  if (args.checkpoint_fork_min_bytes || args.checkpoint_stall_max_ms) {
    log->warn(
        "--checkpoint-fork-min-bytes and --checkpoint-stall-max-ms no longer have an effect: "
        "checkpoint states are hashed on a thread (--checkpoint-thread-min-bytes)");
  }
  options.byzantine = byzantine;
  bastion::server::ReplicaNode node(io, std::move(*cluster), args.id, std::move(options));
  // Registered before start(): a signal that arrives while starting is handled once running.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  if (auto r = node.start(); !r) {
    log->critical("{}", r.error().message);
    return bastion::server::exit_code(r.error().code);
  }

  int status = 0;
  node.on_fatal([&](const bastion::server::NodeError& error) {
    status = bastion::server::exit_code(error.code);
    boost::system::error_code ignored;
    signals.cancel(ignored);
    signals.clear(ignored);
  });
  stop_on_signal(signals, node, *log);
  io.run();
  if (status == 0) log->info("bye");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // Large buffers come and go (state transfer, checkpoint files, states of large tuples). glibc
  // serves blocks of a few MB with mmap() and gives them back with munmap(), so each new one
  // faults every page in again, which cost more than filling it (about 3.6 ms per MB on the
  // development VMs; docs/benchmarks.md, "Checkpoint buffers and page faults"). Blocks up to
  // 32 MiB (glibc's largest threshold) come from the heap instead, and the heap keeps up to
  // 256 MiB of free memory for the next one.
  (void)::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  (void)::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"bastiond: one replica of a Bastion cluster"};
  Args args;
  app.add_option("--cluster", args.cluster_file, "the cluster file (cluster.toml)")->required();
  app.add_option("--id", args.id, "this replica's id in the cluster file")->required();
  app.add_option("--log-level", args.log_level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--in-memory", args.in_memory,
               "keep no data on disk (a restart starts empty; for tests and demos)");
  app.add_option("--checkpoint-thread-min-bytes", args.checkpoint_thread_min_bytes,
                 "hash checkpoint states of this size or more on a worker thread, smaller ones "
                 "on the event loop (default 1048576; 0: all on the worker)");
  // Accepted so that scripts written for earlier versions still start; a warning says so.
  app.add_option("--checkpoint-fork-min-bytes", args.checkpoint_fork_min_bytes)->group("");
  app.add_option("--checkpoint-stall-max-ms", args.checkpoint_stall_max_ms)->group("");
  app.add_option("--byzantine", args.byzantine,
                 "TEST ONLY: misbehave as MODE (slow-primary, view-change-flood, "
                 "state-transfer-drip, timestamp-push); needs [test] allow_byzantine = true in "
                 "the cluster file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // A peer that closes its socket must not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);

  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("replica-" + std::to_string(args.id), sink);
  log->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v");
  log->set_level(spdlog::level::from_str(args.log_level));
  log->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(log);
  const int status = run(args, log);
  log->flush();
  return status;
}
