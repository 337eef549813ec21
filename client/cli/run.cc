// Running one `bastion` command; see cli.h. The shell reuses execute() for every line.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "client/cli/cli.h"
#include "client/cli/execute.h"
#include "client/cli/output.h"
#include "client/cli/parse.h"
#include "config/cluster_init.h"

namespace bastion::cli {
namespace {

std::string getenv_or_empty(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once at start
  return v == nullptr ? std::string() : std::string(v);
}

int report(std::ostream& err, const Error& error) {
  err << "bastion: " << error_label(error.code) << ": " << error.message << '\n';
  return exit_code_of(error.code);
}

// Closes a file descriptor when it goes out of scope.
struct Fd {
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

// The contents of a policy file, at most ts::kPolicyBytesMax bytes. The error is the usage error
// line, naming the option (`--policy`) or the argument (`FILE`) that gave the path.
Result<std::string, std::string> read_policy_file(const std::string& path,
                                                  std::string_view option) {
  const std::string what = std::string(option) + ": ";
  auto cannot_read = [&](int error) {
    return fail(what + "cannot read '" + path + "': " + std::strerror(error));
  };
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return cannot_read(errno);
  std::string text;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read(errno);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > ts::kPolicyBytesMax) {
      return fail(what + "'" + path + "' is larger than a policy may be (" +
                  std::to_string(ts::kPolicyBytesMax) + " bytes)");
    }
  }
  return text;
}

// The request of `command` with its policy file read into it; a usage error line otherwise.
Result<ts::Request, std::string> with_policy_file(const Command& command) {
  ts::Request request = command.request;
  const std::string& path = *command.policy_file;
  if (auto* create = std::get_if<ts::SpaceCreate>(&request)) {
    auto text = read_policy_file(path, "--policy");
    if (!text) return fail(std::move(text).error());
    if (text->empty()) {
      return fail("--policy: '" + path +
                  "' is empty (leave --policy out to create a space without a policy)");
    }
    create->options.policy = std::move(*text);
  } else if (auto* set = std::get_if<ts::SpaceSetPolicy>(&request)) {
    auto text = read_policy_file(path, "FILE");
    if (!text) return fail(std::move(text).error());
    if (text->empty()) return fail(std::string("FILE is empty (use --none to remove the policy)"));
    set->policy = std::move(*text);
  } else {
    return fail(command.name + ": takes no policy file");
  }
  return request;
}

// Every reply alternative a command can get, printed; returns the exit code.
int print_reply(const Command& command, Expected<ts::Reply> reply, Printer& printer,
                std::ostream& err) {
  if (!reply) {
    const Errc code = reply.error().code;
    // Answers, not failures: nothing matched, or a wait ran out.
    if (code == Errc::kNotFound || code == Errc::kTimedOut) {
      printer.no_match();
      return kExitNoMatch;
    }
    return report(err, reply.error());
  }
  struct Visitor {
    const Command& command;
    Printer& printer;
    std::ostream& err;
    int operator()(const ts::Error& e) const {
      return report(err, Error{Errc::kProtocol, "error reply without code: " + e.message});
    }
    int operator()(const ts::Ack&) const {
      printer.ok();
      return kExitOk;
    }
    int operator()(const ts::Pending&) const {
      return report(err, Error{Errc::kProtocol, command.name + " got a provisional reply"});
    }
    int operator()(const ts::Confidential&) const {
      // The client library opens these before they reach the tool.
      return report(err, Error{Errc::kProtocol, command.name + " got sealed tuples"});
    }
    int operator()(const ts::Found& found) const {
      printer.tuple(found.tuple);
      return kExitOk;
    }
    int operator()(const ts::FoundAll& all) const {
      for (const Tuple& t : all.tuples) printer.tuple(t);
      return kExitOk;
    }
    int operator()(const ts::CasResult& cas) const {
      if (cas.inserted) {
        printer.cas_inserted();
        return kExitOk;
      }
      printer.cas_existing(cas.existing);
      return kExitNoMatch;
    }
    int operator()(const ts::Spaces& spaces) const {
      if (!std::holds_alternative<ts::SpaceShow>(command.request)) {
        printer.spaces(spaces.spaces);
        return kExitOk;
      }
      if (spaces.spaces.size() != 1) {
        return report(
            err, Error{Errc::kProtocol, "space show got " + std::to_string(spaces.spaces.size()) +
                                            " spaces instead of one"});
      }
      const ts::SpaceInfo& space = spaces.spaces.front();
      if (space.policy_bytes != space.options.policy.size()) {
        return report(
            err, Error{Errc::kProtocol,
                       "space show got a policy of " + std::to_string(space.options.policy.size()) +
                           " bytes, but policy_bytes " + std::to_string(space.policy_bytes)});
      }
      printer.space(space);
      return kExitOk;
    }
  };
  return std::visit(Visitor{command, printer, err}, *reply);
}

// A local cluster-file command's failure: an invalid value is a usage error, anything else
// (an existing cluster or identity, an unreadable CA key) another error.
int config_failure(const Command& command, const config::ConfigError& error, std::ostream& err) {
  err << "bastion: " << command.name << ": " << error.message << '\n';
  return error.code == config::ConfigErrorCode::kInvalidValue ? kExitUsage : kExitError;
}

int cluster_init(const Command& command, Printer& printer, std::ostream& err) {
  auto file = config::init_cluster(command.init);
  if (!file) return config_failure(command, file.error(), err);
  printer.cluster_file(file->string());
  return kExitOk;
}

// Issues the identity next to the cluster file, with the CA key kept there (the operator's
// machine: docs/operations.md, "Adding a client identity").
int identity_add(const Command& command, const GlobalOptions& global, Printer& printer,
                 std::ostream& err) {
  std::filesystem::path dir = std::filesystem::path(global.cluster_file).parent_path();
  if (dir.empty()) dir = ".";
  auto added = config::add_identity(dir, command.identity);
  if (!added) return config_failure(command, added.error(), err);
  printer.identity_dir(added->string());
  return kExitOk;
}

// Gives identities a confidential space's own fingerprint key, beside the cluster file (the
// operator's machine, like identity add).
int space_key(const Command& command, const GlobalOptions& global, Printer& printer,
              std::ostream& err) {
  std::filesystem::path dir = std::filesystem::path(global.cluster_file).parent_path();
  if (dir.empty()) dir = ".";
  auto written = config::add_space_key(dir, command.space, command.identities);
  if (!written) return config_failure(command, written.error(), err);
  for (const std::filesystem::path& file : *written) printer.key_file(file.string());
  return kExitOk;
}

}  // namespace

int exit_code_of(Errc code) {
  switch (code) {
    case Errc::kOk:
      return kExitOk;
    case Errc::kNotFound:
    case Errc::kTimedOut:
      return kExitNoMatch;
    case Errc::kConfig:
      return kExitUsage;
    case Errc::kDenied:
      return kExitDenied;
    case Errc::kUnavailable:
      return kExitUnavailable;
    default:
      return kExitError;
  }
}

std::string error_label(Errc code) {
  switch (code) {
    case Errc::kConfig:
      return "configuration";
    case Errc::kProtocol:
      return "protocol error";
    default:
      break;
  }
  std::string label(errc_name(code));
  for (char& c : label) c = c == '_' ? ' ' : c;
  return label;
}

Environment environment_from_process() {
  return {getenv_or_empty("BASTION_CLUSTER"), getenv_or_empty("HOME"),
          getenv_or_empty("XDG_STATE_HOME")};
}

BackendFactory client_factory() {
  return [](const GlobalOptions& g) -> Expected<std::unique_ptr<Backend>> {
    ClientOptions o;
    o.cluster_file = g.cluster_file;
    o.identity_dir = g.identity;
    o.timeout = g.timeout.value_or(kDefaultTimeout);
    auto client = Client::connect(o);
    if (!client) return fail(std::move(client).error());
    return std::unique_ptr<Backend>(std::make_unique<ClientBackend>(std::move(*client)));
  };
}

std::string resolve_cluster_file(const std::string& given, const Environment& env) {
  if (!given.empty()) return given;
  if (!env.bastion_cluster.empty()) return env.bastion_cluster;
  return kDefaultClusterFile;
}

int execute(const Command& command, const GlobalOptions& global, const BackendSlot& backend,
            std::ostream& out, std::ostream& err) {
  Printer printer(out, global.json);
  if (command.kind == CommandKind::kClusterInit) return cluster_init(command, printer, err);
  if (command.kind == CommandKind::kIdentityAdd) {
    return identity_add(command, global, printer, err);
  }
  if (command.kind == CommandKind::kSpaceKey) return space_key(command, global, printer, err);
  // A policy file is read before connecting: a problem with it is a usage error.
  std::optional<ts::Request> loaded;
  if (command.policy_file) {
    auto request = with_policy_file(command);
    if (!request) {
      err << "bastion: " << request.error() << '\n';
      return kExitUsage;
    }
    loaded = std::move(*request);
  }
  auto connected = backend();
  if (!connected) return report(err, connected.error());
  Backend& service = **connected;
  if (command.kind == CommandKind::kStatus) {
    const auto replicas = service.status(CallOptions{global.timeout});
    printer.status(replicas);
    std::size_t reachable = 0;
    for (const ReplicaInfo& r : replicas) reachable += r.reachable ? 1 : 0;
    // The service is available when a quorum (2f+1 of n = 3f+1) is reachable.
    const std::size_t f = replicas.empty() ? 0 : (replicas.size() - 1) / 3;
    if (reachable < 2 * f + 1 || replicas.empty()) {
      err << "bastion: unavailable: " << reachable << " of " << replicas.size()
          << " replicas reachable, a quorum needs " << 2 * f + 1 << '\n';
      return kExitUnavailable;
    }
    return kExitOk;
  }
  // kRequest (kShell is handled by the caller).
  const ts::Request& request = loaded ? *loaded : command.request;
  return print_reply(command,
                     service.execute(request, CallOptions{global.timeout, command.protection}),
                     printer, err);
}

int run(const std::vector<std::string>& args, const Services& services, std::ostream& out,
        std::ostream& err) {
  Parsed parsed = parse_command_line(args, Mode::kTool);
  if (auto* help = std::get_if<HelpText>(&parsed)) {
    out << help->text;
    return kExitOk;
  }
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    err << "bastion: " << usage->message << '\n';
    return kExitUsage;
  }
  Invocation& inv = std::get<Invocation>(parsed);
  inv.global.cluster_file = resolve_cluster_file(inv.global.cluster_file, services.env);
  if (inv.command.kind == CommandKind::kShell) {
    if (!services.shell) {
      err << "bastion: shell: not available here\n";
      return kExitUsage;
    }
    return services.shell(inv.global);
  }
  // Connect only for commands that need the cluster, and at most once.
  std::unique_ptr<Backend> backend;
  BackendSlot slot = [&]() -> Expected<Backend*> {
    if (!backend) {
      auto made = services.connect(inv.global);
      if (!made) return fail(std::move(made).error());
      backend = std::move(*made);
    }
    return backend.get();
  };
  return execute(inv.command, inv.global, slot, out, err);
}

}  // namespace bastion::cli
