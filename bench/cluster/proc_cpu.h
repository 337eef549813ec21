// CPU time of the replicas of one cluster, read from /proc (Linux).
//
// Replicas are the processes whose executable is named bastiond and whose command line gives
// `--cluster FILE` (or `--cluster=FILE`) naming the same cluster file as ours (compared after
// resolving a relative path against the process's working directory). Their user + system CPU
// time is utime + stime of /proc/PID/stat. Processes of other users whose /proc entries we cannot
// read are simply not found; a replica that exits between two samples drops out of the delta.
//
// Thread-safety: plain functions and values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace bastion::bench {

struct ReplicaProcess {
  int pid = 0;
  std::string id;  // the --id argument, "?" when absent
};

// Replica processes of the cluster, by pid.
std::map<int, ReplicaProcess> find_replicas(const std::filesystem::path& cluster_file);

// utime + stime of one process in seconds; empty if it is gone or unreadable.
std::optional<double> process_cpu_seconds(int pid);

// A CPU sample of every replica found earlier (pid -> seconds).
std::map<int, double> sample_cpu(const std::map<int, ReplicaProcess>& replicas);

// CPU seconds spent between two samples by the processes present in both.
double cpu_delta_seconds(const std::map<int, double>& before, const std::map<int, double>& after);

// This process's own user + system CPU seconds (every thread).
double own_cpu_seconds();

// The 1-minute load average, or -1 if /proc/loadavg is unreadable.
double load_average_1m();

}  // namespace bastion::bench
