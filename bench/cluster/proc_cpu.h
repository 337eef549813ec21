// CPU time of the replicas of one cluster, read from /proc (Linux).
//
// Besides CPU time, the time the replicas' threads spent runnable but waiting for a CPU (the
// second field of /proc/PID/task/TID/schedstat, summed over threads): on a machine shared with
// other work, or with more busy threads than cores, this wait is what stretches latency while
// CPU time stays low. Needs a kernel with schedstats (CONFIG_SCHED_INFO); empty otherwise.
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

struct ProcessTimes {
  double cpu_s = 0;                  // utime + stime
  std::optional<double> run_wait_s;  // runnable, waiting for a CPU; summed over threads
};

// The times of one process; empty if it is gone or unreadable.
std::optional<ProcessTimes> process_times(int pid);

// A sample of every replica found earlier, by pid.
std::map<int, ProcessTimes> sample_times(const std::map<int, ReplicaProcess>& replicas);

// What the processes present in both samples spent between them: CPU, and run-queue wait (empty
// unless every one of them reported it both times).
struct TimesDelta {
  double cpu_s = 0;
  std::optional<double> run_wait_s;
};
TimesDelta times_delta(const std::map<int, ProcessTimes>& before,
                       const std::map<int, ProcessTimes>& after);

// This process's own user + system CPU seconds (every thread).
double own_cpu_seconds();

// The 1-minute load average, or -1 if /proc/loadavg is unreadable.
double load_average_1m();

}  // namespace bastion::bench
