// Parsing a `bastion` command line (CLI11) into a Command: what to do, fully validated.
//
// Every usage or syntax problem becomes one line of text (the caller prefixes "bastion: " and
// exits 2); CLI11's own exit codes are never used. TUPLE and TEMPLATE arguments are parsed with
// the tuple text syntax here, so a syntax error is reported before connecting, naming the
// argument and the column ("syntax error in TUPLE at column 12: unterminated string").
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/cli/cli.h"
#include "codec/result.h"
#include "config/cluster_init.h"
#include "tuplespace/ops.h"

namespace bastion::cli {

enum class Mode {
  kTool,   // the binary's command line: global connection options, `shell`
  kShell,  // one line of the shell: no --cluster / --identity, no nested shell
};

enum class CommandKind {
  kRequest,      // one tuple-space request (every space and tuple command)
  kStatus,       // per-replica status
  kShell,        // interactive shell
  kClusterInit,  // write a new cluster (needs no cluster file)
  kIdentityAdd,  // issue a client identity with the cluster's CA (needs no replica)
  kSpaceKey,     // give identities a confidential space's own fingerprint key (no replica)
};

struct Command {
  CommandKind kind = CommandKind::kRequest;
  std::string name;                     // "rdp", "space create", ...: for messages
  ts::Request request;                  // kRequest
  config::InitOptions init;             // kClusterInit
  std::string identity;                 // kIdentityAdd: its name
  std::string space;                    // kSpaceKey: the space
  std::vector<std::string> identities;  // kSpaceKey: who gets the key (empty: every identity)
  // `space create --policy FILE`, `space set-policy NAME FILE`: the file whose contents become
  // the request's policy script. Parsing reads no files; execute() reads it.
  std::optional<std::string> policy_file;
  // --protect of a tuple command (confidential spaces): SpaceOptions::protection bytes; empty:
  // the space's default.
  std::vector<std::uint8_t> protection;
};

struct Invocation {
  GlobalOptions global;  // cluster_file as given (empty: not given); resolved by the caller
  Command command;
};

// A request for help: the text to print on stdout (exit 0).
struct HelpText {
  std::string text;
};
struct UsageError {
  std::string message;  // one line, without the "bastion: " prefix
};

using Parsed = std::variant<Invocation, HelpText, UsageError>;

Parsed parse_command_line(const std::vector<std::string>& args, Mode mode);

// SECONDS arguments: a non-negative decimal number, possibly fractional ("0.5", "2", "1.25");
// rounded up to whole milliseconds. The error names the option.
Result<Millis, std::string> parse_seconds(std::string_view text, std::string_view option);
// What an item of an IDS or LIST argument may be.
enum class IdItems {
  kNames,           // principal names only (per-tuple --readers and --removers)
  kNamesAndGroups,  // names and group references "@name" (space access lists)
};
// IDS arguments: comma-separated principal names ("alice,bob"); with kNamesAndGroups, items may
// also be group references ("alice,@ops"), an '@' followed by a valid name.
Result<std::vector<std::string>, std::string> parse_ids(std::string_view text,
                                                        std::string_view option,
                                                        IdItems items = IdItems::kNames);
// LIST arguments (space access lists): "*" alone means everyone (an empty list); anything else is
// parse_ids with kNamesAndGroups.
Result<std::vector<std::string>, std::string> parse_access_list(std::string_view text,
                                                                std::string_view option);

// The commands, one per line, for the shell's `help`.
std::string command_summary();

}  // namespace bastion::cli
