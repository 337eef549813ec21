// Executing a parsed command: the function the tool and the shell share (and tests call).
//
// Thread-safety: one command at a time on the caller's thread.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "client/cli/cli.h"
#include "client/cli/parse.h"

namespace bastion::cli {

// Gives the connected backend, connecting on first use (so commands that need no cluster, like
// `cluster init`, never read a cluster file). The pointer stays owned by the caller.
using BackendSlot = std::function<Expected<Backend*>()>;

// Runs `command` (not kShell), prints its output on `out` and errors on `err` (one line each);
// returns the exit code.
int execute(const Command& command, const GlobalOptions& global, const BackendSlot& backend,
            std::ostream& out, std::ostream& err);

// --cluster, else $BASTION_CLUSTER, else kDefaultClusterFile.
std::string resolve_cluster_file(const std::string& given, const Environment& env);

}  // namespace bastion::cli
