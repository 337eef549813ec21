// Scraping the replicas' metrics; see replica_metrics.h.
#include "bench/cluster/replica_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace bastion::bench {
namespace {

constexpr std::size_t kResponseBytesMax = 8 << 20;

// The body of GET /metrics from 127.0.0.1:port (HTTP/1.1, one response per connection), or empty.
std::optional<std::string> http_get_metrics(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[16384];
      for (;;) {
        const ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got <= 0 || response.size() > kResponseBytesMax) break;
        response.append(buf, static_cast<std::size_t>(got));
      }
    }
  }
  close(fd);
  if (response.rfind("HTTP/1.1 200", 0) != 0) return std::nullopt;
  const std::size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
}

// `{replica="2",op="sign"}` -> `{op="sign"}`; `{replica="2"}` -> ``.
std::string without_replica_label(std::string_view labels) {
  if (labels.size() < 2) return {};
  std::string_view inner = labels.substr(1, labels.size() - 2);
  std::string kept;
  while (!inner.empty()) {
    // Label values here never hold commas or quotes (replica ids, fixed names).
    const std::size_t comma = inner.find(',');
    const std::string_view label = inner.substr(0, comma);
    if (label.rfind("replica=", 0) != 0) {
      if (!kept.empty()) kept += ',';
      kept += label;
    }
    inner = comma == std::string_view::npos ? std::string_view{} : inner.substr(comma + 1);
  }
  return kept.empty() ? std::string{} : "{" + kept + "}";
}

double value_of(const MetricValues& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

MetricValues parse_metrics(const std::string& text) {
  MetricValues values;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t brace = line.find('{');
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos || space == 0) continue;
    std::string key;
    if (brace != std::string::npos && brace < space) {
      const std::size_t close = line.find('}', brace);
      if (close == std::string::npos || close > space) continue;
      key = line.substr(0, brace) + without_replica_label(line.substr(brace, close - brace + 1));
    } else {
      key = line.substr(0, space);
    }
    const std::string number = line.substr(space + 1);
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end == number.c_str()) continue;
    values[key] = value;
  }
  return values;
}

std::map<std::uint32_t, MetricValues> scrape_replicas(const config::ClusterConfig& cluster) {
  std::map<std::uint32_t, MetricValues> scraped;
  for (const config::ReplicaConfig& r : cluster.replicas) {
    if (auto body = http_get_metrics(r.metrics_port)) scraped.emplace(r.id, parse_metrics(*body));
  }
  return scraped;
}

std::optional<ReplicaActivity> activity_between(
    const std::map<std::uint32_t, MetricValues>& before,
    const std::map<std::uint32_t, MetricValues>& after) {
  ReplicaActivity a;
  double batches = 0;
  double requests = 0;
  double syncs = 0;
  double sync_s = 0;
  double crypto_s = 0;
  double signs = 0;
  double verifies = 0;
  double uptime_s = 0;
  for (const auto& [id, end] : after) {
    auto it = before.find(id);
    if (it == before.end()) continue;
    const MetricValues& start = it->second;
    auto delta = [&](const std::string& key) { return value_of(end, key) - value_of(start, key); };
    ++a.replicas;
    batches += delta(R"(bastion_batches_total{kind="executed"})");
    requests += delta(R"(bastion_requests_total{outcome="executed"})");
    syncs += delta("bastion_storage_syncs_total");
    sync_s += delta("bastion_storage_sync_seconds_sum");
    signs += delta(R"(bastion_crypto_operations_total{op="sign"})");
    verifies += delta(R"(bastion_crypto_operations_total{op="verify"})");
    crypto_s += delta(R"(bastion_crypto_seconds_total{op="sign"})") +
                delta(R"(bastion_crypto_seconds_total{op="verify"})");
    uptime_s += delta("bastion_uptime_seconds");
    a.view_changes = std::max(a.view_changes, delta("bastion_view"));
  }
  if (a.replicas == 0) return std::nullopt;
  a.batches_per_replica = batches / a.replicas;
  if (batches > 0) {
    a.requests_per_batch = requests / batches;
    a.syncs_per_batch = syncs / batches;
    a.signs_per_batch = signs / batches;
    a.verifies_per_batch = verifies / batches;
  }
  if (syncs > 0) a.sync_ms_mean = sync_s * 1000 / syncs;
  a.crypto_s = crypto_s;
  if (uptime_s > 0) {
    a.sync_share = sync_s / uptime_s;
    a.crypto_share = crypto_s / uptime_s;
  }
  return a;
}

}  // namespace bastion::bench
