// The summary of a run; see report.h.
#include "bench/cluster/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bastion::bench {
namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// Nearest rank: the smallest value with at least q of the samples at or below it.
std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string latency_json(const LatencySummary& l) {
  return fmt::format(
      R"({{"count":{},"p50":{:.4f},"p99":{:.4f},"p999":{:.4f},"max":{:.4f},"mean":{:.4f}}})",
      l.count, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms);
}

std::string latency_text(const LatencySummary& l) {
  return fmt::format("p50 {:.3f}  p99 {:.3f}  p999 {:.3f}  (max {:.3f}, mean {:.3f})", l.p50_ms,
                     l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms);
}

double per_1000(double seconds, std::uint64_t ops) {
  return ops == 0 ? 0 : seconds * 1000.0 / static_cast<double>(ops);
}

}  // namespace

LatencySummary summarize(std::vector<std::uint64_t>& latency_ns) {
  LatencySummary s;
  if (latency_ns.empty()) return s;
  std::sort(latency_ns.begin(), latency_ns.end());
  s.count = latency_ns.size();
  s.p50_ms = ms(percentile(latency_ns, 0.50));
  s.p99_ms = ms(percentile(latency_ns, 0.99));
  s.p999_ms = ms(percentile(latency_ns, 0.999));
  s.max_ms = ms(latency_ns.back());
  const long double sum =
      std::accumulate(latency_ns.begin(), latency_ns.end(), static_cast<long double>(0));
  s.mean_ms = static_cast<double>(sum / static_cast<long double>(latency_ns.size()) / 1e6L);
  return s;
}

std::string to_text(const Summary& s) {
  std::string out = fmt::format(
      "bastion-bench: {} on {}space {}, {} client(s) over {} connection(s), {}-byte payloads\n",
      s.op, s.confidential ? "confidential " : "", s.space, s.clients, s.connections, s.size_bytes);
  out += fmt::format("  window        {:.2f} s measured after {:.1f} s of warm-up{}\n",
                     s.duration_s, s.warmup_s, s.interrupted ? " (interrupted)" : "");
  out += fmt::format("  ops           {}\n", s.ops);
  out += fmt::format("  throughput    {:.0f} ops/s\n", s.ops_per_s);
  out += fmt::format("  latency (ms)  {}\n", latency_text(s.latency));
  for (const auto& [step, l] : s.by_step) {
    out += fmt::format("    {:<6}      {} ops, {}\n", step, l.count, latency_text(l));
  }
  if (s.errors.empty()) {
    out += "  errors        none\n";
  } else {
    std::string list;
    for (const auto& [name, count] : s.errors) {
      list += fmt::format("{}{} {}", list.empty() ? "" : ", ", name, count);
    }
    out += fmt::format("  errors        {}\n", list);
  }
  if (s.refills > 0)
    out += fmt::format("  refills       {} (out_all, not counted as ops)\n", s.refills);
  if (s.replica_cpu) {
    std::string ids;
    for (const std::string& id : s.replica_cpu->ids) ids += (ids.empty() ? "" : " ") + id;
    out += fmt::format(
        "  replica CPU   {:.3f} s per 1000 ops ({:.2f} s over the window, replicas {})\n",
        per_1000(s.replica_cpu->seconds, s.ops), s.replica_cpu->seconds, ids);
    if (s.replica_cpu->run_wait_s) {
      out +=
          fmt::format("  replica wait  {:.2f} s runnable but waiting for a CPU over the window\n",
                      *s.replica_cpu->run_wait_s);
    }
  } else {
    out += "  replica CPU   not visible\n";
  }
  if (const auto& w = s.replica_work) {
    out += fmt::format(
        "  replica work  {:.1f} requests per batch, {:.0f} batches; per batch and replica {:.1f} "
        "syncs, {:.1f} signs, {:.1f} verifies\n",
        w->requests_per_batch, w->batches_per_replica, w->syncs_per_batch, w->signs_per_batch,
        w->verifies_per_batch);
    std::string of_cpu;
    if (s.replica_cpu && s.replica_cpu->seconds > 0) {
      of_cpu = fmt::format(" (~{:.0f}% of their CPU)", 100 * w->crypto_s / s.replica_cpu->seconds);
    }
    out += fmt::format(
        "                storage thread busy syncing {:.0f}% (mean {:.2f} ms), io thread in "
        "signatures "
        "{:.0f}%{}; "
        "view changes {:.0f}\n",
        w->sync_share * 100, w->sync_ms_mean, w->crypto_share * 100, of_cpu, w->view_changes);
  } else {
    out += "  replica work  not visible (no metrics on 127.0.0.1)\n";
  }
  out += fmt::format("  bench CPU     {:.3f} s per 1000 ops ({:.2f} s over the window)\n",
                     per_1000(s.bench_cpu_s, s.ops), s.bench_cpu_s);
  out += fmt::format("  load average  {:.2f} at start, {:.2f} at end (1 min)\n", s.load_start,
                     s.load_end);
  return out;
}

std::string to_json(const Summary& s) {
  std::string by_step;
  for (const auto& [step, l] : s.by_step) {
    by_step +=
        fmt::format("{}{}:{}", by_step.empty() ? "" : ",", json_string(step), latency_json(l));
  }
  std::string errors;
  for (const auto& [name, count] : s.errors) {
    errors += fmt::format("{}{}:{}", errors.empty() ? "" : ",", json_string(name), count);
  }
  std::string cpu = "null";
  if (s.replica_cpu) {
    std::string ids;
    for (const std::string& id : s.replica_cpu->ids) {
      ids += (ids.empty() ? "" : ",") + json_string(id);
    }
    const std::string wait =
        s.replica_cpu->run_wait_s ? fmt::format("{:.3f}", *s.replica_cpu->run_wait_s) : "null";
    cpu = fmt::format(
        R"({{"replicas":[{}],"seconds":{:.3f},"s_per_1000_ops":{:.4f},"run_wait_s":{}}})", ids,
        s.replica_cpu->seconds, per_1000(s.replica_cpu->seconds, s.ops), wait);
  }
  std::string work = "null";
  if (const auto& w = s.replica_work) {
    work = fmt::format(
        R"({{"replicas":{},"batches_per_replica":{:.1f},"requests_per_batch":{:.3f},)"
        R"("syncs_per_batch":{:.3f},"sync_ms_mean":{:.4f},"sync_share":{:.4f},)"
        R"("crypto_share":{:.4f},"crypto_s":{:.3f},"signs_per_batch":{:.3f},"verifies_per_batch":{:.3f},)"
        R"("view_changes":{:.0f}}})",
        w->replicas, w->batches_per_replica, w->requests_per_batch, w->syncs_per_batch,
        w->sync_ms_mean, w->sync_share, w->crypto_share, w->crypto_s, w->signs_per_batch,
        w->verifies_per_batch, w->view_changes);
  }
  return fmt::format(
      R"({{"op":{},"space":{},"confidential":{},"clients":{},"connections":{},"size_bytes":{},)"
      R"("warmup_s":{:.3f},"duration_s":{:.3f},"interrupted":{},"ops":{},"ops_per_s":{:.1f},"latency_ms":{},)"
      R"("by_step":{{{}}},"errors":{{{}}},"refills":{},"replica_cpu":{},"replica_work":{},)"
      R"("bench_cpu_s_per_1000_ops":{:.4f},"load_average_start":{:.2f},"load_average_end":{:.2f}}})",
      json_string(s.op), json_string(s.space), s.confidential ? "true" : "false", s.clients,
      s.connections, s.size_bytes, s.warmup_s, s.duration_s, s.interrupted ? "true" : "false",
      s.ops, s.ops_per_s, latency_json(s.latency), by_step, errors, s.refills, cpu, work,
      per_1000(s.bench_cpu_s, s.ops), s.load_start, s.load_end);
}

}  // namespace bastion::bench
