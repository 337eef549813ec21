// Child processes for the integration tests and the benchmarks that run local clusters: spawn
// with output to a log file, wait with a deadline, signal, and run a command to completion
// capturing its output.
//
// Every Process is killed (SIGKILL) and reaped when it is destroyed, so a failing test never
// leaves replicas behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace bastion::testing {

using std::chrono::milliseconds;

class Process {
 public:
  Process() = default;
  // Starts argv[0] (a path) with stdout and stderr appended to `log_path`, stdin from /dev/null.
  static Process spawn(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // The exit status (exit code, or 128 + signal) once it ended, or nullopt after `timeout`.
  std::optional<int> wait(milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the exit status.
  int stop(milliseconds grace = milliseconds(5000));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it timed out (then killed)
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`), feeding `input` on stdin.
CommandResult run(const std::vector<std::string>& argv, milliseconds timeout,
                  const std::string& input = "");

std::string read_file(const std::string& path);

}  // namespace bastion::testing
