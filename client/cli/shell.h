// The `bastion shell`: the tool's commands, one per line, over one connection.
//
// A line is split into words like a POSIX shell would for the common cases ('single quotes',
// "double quotes", backslash escapes, # comments), with one addition that makes tuples easy to
// type: a parenthesised group is one word, kept verbatim, so
//     out jobs ("job", 42) --lease 5
// needs no quoting. Each line then goes through the same parser and execute() as the tool, so it
// prints the same output; --json and --timeout may be given per line. Built-ins: help, quit,
// exit; Ctrl-D ends the shell too. Its exit code is 0.
//
// Interactive input uses libedit (line editing, history saved to $XDG_STATE_HOME/bastion/history,
// else ~/.local/state/bastion/history); input that is not a terminal is read line by line without
// prompts, so scripts can pipe commands in.
//
// Thread-safety: a Shell is used by one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "client/cli/cli.h"
#include "codec/result.h"

namespace bastion::cli {

// Splits a shell line into words; the error names the column of the unterminated quote or group.
Result<std::vector<std::string>, std::string> split_line(std::string_view line);

class Shell {
 public:
  Shell(GlobalOptions global, BackendFactory connect);

  // Runs one line; returns its exit code (0 for blank lines, comments and built-ins).
  int line(std::string_view text, std::ostream& out, std::ostream& err);
  bool finished() const { return finished_; }

 private:
  GlobalOptions global_;
  BackendFactory connect_;
  std::unique_ptr<Backend> backend_;
  bool finished_ = false;
};

// Empty when neither $XDG_STATE_HOME nor $HOME is set.
std::filesystem::path history_file(const Environment& env);

// The interactive loop on the process's stdin/stdout/stderr. Returns 0.
int run_shell(const GlobalOptions& global, const BackendFactory& connect, const Environment& env);

}  // namespace bastion::cli
