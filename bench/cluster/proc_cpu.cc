// CPU time of the replicas from /proc; see proc_cpu.h.
#include "bench/cluster/proc_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

namespace bastion::bench {
namespace fs = std::filesystem;
namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> split_nul(const std::string& bytes) {
  std::vector<std::string> args;
  std::string current;
  for (char c : bytes) {
    if (c == '\0') {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) args.push_back(std::move(current));
  return args;
}

fs::path canonical_or_same(const fs::path& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : resolved;
}

// The value of `--name VALUE` or `--name=VALUE` in a command line.
std::optional<std::string> flag_value(const std::vector<std::string>& args, std::string_view name) {
  const std::string with_eq = std::string(name) + "=";
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(with_eq, 0) == 0) return args[i].substr(with_eq.size());
  }
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

}  // namespace

std::map<int, ReplicaProcess> find_replicas(const fs::path& cluster_file) {
  std::map<int, ReplicaProcess> found;
  const fs::path ours = canonical_or_same(fs::absolute(cluster_file));
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (!all_digits(name)) continue;
    const std::vector<std::string> args = split_nul(read_all(entry.path() / "cmdline"));
    if (args.empty() || fs::path(args[0]).filename() != "bastiond") continue;
    const std::optional<std::string> cluster = flag_value(args, "--cluster");
    if (!cluster) continue;
    fs::path theirs(*cluster);
    if (theirs.is_relative()) {
      std::error_code cwd_ec;
      const fs::path cwd = fs::read_symlink(entry.path() / "cwd", cwd_ec);
      if (cwd_ec) continue;  // another user's process: its cwd is not ours to read
      theirs = cwd / theirs;
    }
    if (canonical_or_same(theirs) != ours) continue;
    ReplicaProcess process;
    process.pid = std::stoi(name);
    process.id = flag_value(args, "--id").value_or("?");
    found.emplace(process.pid, process);
  }
  return found;
}

namespace {

std::optional<double> process_cpu_seconds(int pid) {
  const std::string stat = read_all(fs::path("/proc") / std::to_string(pid) / "stat");
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  // Fields 3..13 precede utime (14) and stime (15).
  for (int i = 3; i <= 13; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;
  const long ticks = sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

// Sum over the process's threads of schedstat's run-queue wait (nanoseconds).
std::optional<double> run_wait_seconds(int pid) {
  std::error_code ec;
  unsigned long long wait_ns = 0;
  bool any = false;
  for (const fs::directory_entry& task :
       fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", ec)) {
    std::istringstream fields(read_all(task.path() / "schedstat"));
    unsigned long long run_ns = 0;
    unsigned long long waited_ns = 0;
    if (!(fields >> run_ns >> waited_ns)) continue;  // a thread that just exited
    wait_ns += waited_ns;
    any = true;
  }
  if (ec || !any) return std::nullopt;
  return static_cast<double>(wait_ns) / 1e9;
}

}  // namespace

std::optional<ProcessTimes> process_times(int pid) {
  const std::optional<double> cpu = process_cpu_seconds(pid);
  if (!cpu) return std::nullopt;
  return ProcessTimes{*cpu, run_wait_seconds(pid)};
}

std::map<int, ProcessTimes> sample_times(const std::map<int, ReplicaProcess>& replicas) {
  std::map<int, ProcessTimes> sample;
  for (const auto& [pid, process] : replicas) {
    if (auto times = process_times(pid)) sample.emplace(pid, *times);
  }
  return sample;
}

TimesDelta times_delta(const std::map<int, ProcessTimes>& before,
                       const std::map<int, ProcessTimes>& after) {
  TimesDelta delta;
  double wait_s = 0;
  bool wait_known = true;
  for (const auto& [pid, times] : after) {
    auto it = before.find(pid);
    if (it == before.end()) continue;
    delta.cpu_s += times.cpu_s - it->second.cpu_s;
    if (times.run_wait_s && it->second.run_wait_s) {
      wait_s += *times.run_wait_s - *it->second.run_wait_s;
    } else {
      wait_known = false;
    }
  }
  if (wait_known) delta.run_wait_s = wait_s;
  return delta;
}

double own_cpu_seconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double load_average_1m() {
  std::istringstream in(read_all("/proc/loadavg"));
  double load = -1;
  if (!(in >> load)) return -1;
  return load;
}

}  // namespace bastion::bench
