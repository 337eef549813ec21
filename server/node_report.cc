// /status JSON and periodic stats line of a replica node (see node_report.h).
#include "server/node_report.h"

#include <fmt/format.h>

#include <cstdio>

namespace bastion::server {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

const char* json_bool(bool b) { return b ? "true" : "false"; }

std::uint64_t counter(const bft::Counters& c, const std::string& name) {
  auto it = c.find(name);
  return it == c.end() ? 0 : it->second;
}

std::uint64_t drops(const bft::Counters& c) {
  std::uint64_t total = 0;
  for (const auto& [name, value] : c) {
    if (name.rfind("drop.", 0) == 0) total += value;
  }
  return total;
}

double per_second(std::uint64_t delta, std::int64_t interval_ms) {
  return interval_ms <= 0 ? 0.0 : static_cast<double>(delta) * 1000.0 / interval_ms;
}

}  // namespace

std::string hex(const bft::Digest& d) {
  std::string out;
  out.reserve(d.size() * 2);
  for (const std::uint8_t b : d) out += fmt::format("{:02x}", b);
  return out;
}

std::string status_json(const NodeSnapshot& s) {
  const bft::ReplicaStatus& r = s.status;
  std::string out = fmt::format(
      "{{\"replica\":{},\"listen\":{},\"view\":{},\"primary\":{},\"view_changing\":{},"
      "\"last_executed\":{},\"stable_checkpoint\":{},\"agreed_time_us\":{},"
      "\"checkpoint_digest\":\"{}\",\"execution_settings_digest\":\"{}\",\"fetching_state\":{},"
      "\"in_memory\":{},\"uptime_ms\":{},\"client_connections\":{},\"held_bytes\":{},"
      "\"client_reads_paused\":{},\"links\":[",
      r.id, json_string(s.listen), r.view, r.primary, json_bool(r.view_changing), r.last_executed,
      r.stable_checkpoint, r.agreed_time_us, hex(r.last_checkpoint_digest),
      hex(s.execution_settings_digest), json_bool(r.fetching_state), json_bool(s.in_memory),
      s.uptime_ms, s.client_connections, s.driver.held_bytes,
      json_bool(s.driver.client_reads_paused));
  for (std::size_t i = 0; i < s.links.size(); ++i) {
    const net::LinkStatus& l = s.links[i];
    out +=
        fmt::format("{}{{\"replica\":{},\"state\":{},\"last_error\":{}}}", i ? "," : "", l.replica,
                    json_string(net::link_state_name(l.state)), json_string(l.last_error));
  }
  out += fmt::format(
      "],\"storage\":{{\"syncs\":{},\"bytes_synced\":{},\"log_bytes\":{},\"segments\":{},"
      "\"checkpoint_files\":{}}},\"sizes\":{{",
      s.storage.syncs, s.storage.bytes_synced, s.storage.log_bytes, s.storage.segments,
      s.storage.checkpoint_files);
  bool first = true;
  for (const auto& [name, size] : s.sizes) {
    out += fmt::format("{}{}:{}", first ? "" : ",", json_string(name), size);
    first = false;
  }
  out += "}}\n";
  return out;
}

std::string stats_line(const NodeSnapshot& previous, const NodeSnapshot& current,
                       std::int64_t interval_ms) {
  const auto delta = [&](const std::string& name) {
    return counter(current.core, name) - counter(previous.core, name);
  };
  const std::uint64_t executed = delta("requests.executed");
  const std::uint64_t batches = delta("batches.executed");
  const std::uint64_t syncs = current.driver.syncs - previous.driver.syncs;
  const std::uint64_t sync_ns = current.driver.sync_ns - previous.driver.sync_ns;
  std::uint64_t links_up = 0;
  for (const net::LinkStatus& l : current.links) {
    links_up += l.state == net::LinkState::kConnected ? 1 : 0;
  }
  const std::uint64_t crypto_ns = (current.signer.sign_ns - previous.signer.sign_ns) +
                                  (current.verifier.verify_ns - previous.verifier.verify_ns);
  return fmt::format(
      "stats: view {} primary {}{} executed {} stable {} | {:.1f} req/s, {:.1f} batches/s, "
      "{} drops | syncs {} avg {:.2f} ms | crypto {:.1f}% of io time | links {}/{} | clients {}",
      current.status.view, current.status.primary,
      current.status.view_changing ? " (view changing)" : "", current.status.last_executed,
      current.status.stable_checkpoint, per_second(executed, interval_ms),
      per_second(batches, interval_ms), drops(current.core) - drops(previous.core), syncs,
      syncs ? static_cast<double>(sync_ns) / syncs / 1e6 : 0.0,
      interval_ms > 0 ? static_cast<double>(crypto_ns) / 1e4 / interval_ms : 0.0, links_up,
      current.links.size(), current.client_connections);
}

}  // namespace bastion::server
