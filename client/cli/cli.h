// The `bastion` command-line tool as a library: parse a command line, connect when the command
// needs the cluster, execute it, print its output, return its exit code.
//
// Everything the tool touches comes in through parameters (Services, streams), so the same code
// runs in the binary, in the interactive shell (one command per line) and in unit tests with a
// fake Backend. The interface (commands, options, output, exit codes) is documented in
// docs/cli.md; tests/unit/client/cli_test.cc pins it.
//
// Thread-safety: none needed; one command runs at a time on the caller's thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/client.h"

namespace bastion::cli {

enum ExitCode : int {
  kExitOk = 0,           // done; for match commands: a tuple matched (cas: inserted)
  kExitNoMatch = 1,      // no tuple matched, a wait timed out, or cas found an existing match
  kExitUsage = 2,        // usage or syntax error; an unusable cluster file or identity
  kExitDenied = 3,       // denied by an access list or a policy
  kExitUnavailable = 4,  // no quorum answered within the timeout
  kExitError = 5,        // any other error
};

// How a failed call ends the tool.
int exit_code_of(Errc code);
// "denied", "no such space", ...: the prefix of an error line on stderr.
std::string error_label(Errc code);

// What the commands need from the service. ClientBackend is the real one.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Expected<ts::Reply> execute(const ts::Request& request, CallOptions call) = 0;
  virtual std::vector<ReplicaInfo> status(CallOptions call) = 0;
};

class ClientBackend final : public Backend {
 public:
  explicit ClientBackend(std::unique_ptr<Client> client) : client_(std::move(client)) {}
  Expected<ts::Reply> execute(const ts::Request& request, CallOptions call) override {
    return client_->execute(request, call);
  }
  std::vector<ReplicaInfo> status(CallOptions call) override { return client_->status(call); }

 private:
  std::unique_ptr<Client> client_;
};

// The options before (or anywhere around) the command.
struct GlobalOptions {
  std::string cluster_file;  // resolved: --cluster, else $BASTION_CLUSTER, else the default
  std::string identity;      // empty: the cluster file's default identity
  bool json = false;
  std::optional<Millis> timeout;
};

inline constexpr const char* kDefaultClusterFile = "./var/local-cluster/cluster.toml";
inline constexpr Millis kDefaultTimeout{10'000};

// The process environment the tool reads (injected for tests).
struct Environment {
  std::string bastion_cluster;  // $BASTION_CLUSTER
  std::string home;             // $HOME
  std::string xdg_state_home;   // $XDG_STATE_HOME
};
Environment environment_from_process();

using BackendFactory =
    std::function<Expected<std::unique_ptr<Backend>>(const GlobalOptions& options)>;
// The real factory: Client::connect with the global options.
BackendFactory client_factory();

struct Services {
  Environment env;
  BackendFactory connect;
  // Runs the interactive shell (the binary passes the libedit one); empty: `shell` is refused.
  std::function<int(const GlobalOptions& options)> shell;
};

// `bastion ARGS...` (ARGS without the program name). Errors go to `err` as one line.
int run(const std::vector<std::string>& args, const Services& services, std::ostream& out,
        std::ostream& err);

}  // namespace bastion::cli
