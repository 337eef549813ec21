// Prometheus metrics of a replica, published from snapshots (see node_metrics.h).
#include "server/node_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <string_view>
#include <tuple>

namespace bastion::server {
namespace {

std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(ok ? c : '_');
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

double seconds_of_ns(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::string core_counter_metric(const std::string& counter) {
  return "bastion_" + sanitize(counter) + "_total";
}

// Counter and gauge families created on first use. Cumulative values become increments: a
// prometheus counter only goes up, and the sources (core, transport, storage) only go up too.
class NodeMetrics::Families {
 public:
  Families(prometheus::Registry& registry, bft::ReplicaId id)
      : registry_(registry), replica_label_(std::to_string(id)) {}

  void total(const std::string& name, const std::string& help, const prometheus::Labels& labels,
             double value) {
    auto key = std::make_pair(name, labels);
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      auto& family = counter_family(name, help);
      it = counters_.emplace(std::move(key), CounterEntry{&family.Add(labels), 0.0}).first;
    }
    CounterEntry& e = it->second;
    if (value > e.last) {
      e.counter->Increment(value - e.last);
      e.last = value;
    }
  }

  void gauge(const std::string& name, const std::string& help, const prometheus::Labels& labels,
             double value) {
    auto key = std::make_pair(name, labels);
    auto it = gauges_.find(key);
    if (it == gauges_.end()) {
      auto fam = gauge_families_.find(name);
      if (fam == gauge_families_.end()) {
        auto& family = prometheus::BuildGauge()
                           .Name(name)
                           .Help(help)
                           .Labels({{"replica", replica_label_}})
                           .Register(registry_);
        fam = gauge_families_.emplace(name, &family).first;
      }
      it = gauges_.emplace(std::move(key), &fam->second->Add(labels)).first;
    }
    it->second->Set(value);
  }

  prometheus::Histogram& histogram(const std::string& name, const std::string& help,
                                   prometheus::Histogram::BucketBoundaries buckets) {
    auto& family = prometheus::BuildHistogram()
                       .Name(name)
                       .Help(help)
                       .Labels({{"replica", replica_label_}})
                       .Register(registry_);
    return family.Add({}, std::move(buckets));
  }

 private:
  struct CounterEntry {
    prometheus::Counter* counter;
    double last;
  };

  prometheus::Family<prometheus::Counter>& counter_family(const std::string& name,
                                                          const std::string& help) {
    auto fam = counter_families_.find(name);
    if (fam == counter_families_.end()) {
      auto& family = prometheus::BuildCounter()
                         .Name(name)
                         .Help(help)
                         .Labels({{"replica", replica_label_}})
                         .Register(registry_);
      fam = counter_families_.emplace(name, &family).first;
    }
    return *fam->second;
  }

  prometheus::Registry& registry_;
  std::string replica_label_;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counter_families_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauge_families_;
  std::map<std::pair<std::string, prometheus::Labels>, CounterEntry> counters_;
  std::map<std::pair<std::string, prometheus::Labels>, prometheus::Gauge*> gauges_;
};

NodeMetrics::NodeMetrics(bft::ReplicaId id)
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_, id)) {
  sync_seconds_ = &families_->histogram(
      "bastion_storage_sync_seconds", "Duration of one group-commit sync (append + fdatasync)",
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0});
}

NodeMetrics::~NodeMetrics() = default;

void NodeMetrics::observe_sync(double seconds) { sync_seconds_->Observe(seconds); }

void NodeMetrics::publish(const NodeSnapshot& s) {
  Families& m = *families_;
  const auto d = [](std::uint64_t v) { return static_cast<double>(v); };

  // Core counters, grouped by prefix into labelled families.
  for (const auto& [name, value] : s.core) {
    const std::string_view n = name;
    if (starts_with(n, "msg.in.")) {
      m.total("bastion_messages_in_total", "Protocol messages received, by type",
              {{"type", std::string(n.substr(7))}}, d(value));
    } else if (starts_with(n, "drop.")) {
      m.total("bastion_drops_total", "Messages dropped by the replication core, by reason",
              {{"reason", std::string(n.substr(5))}}, d(value));
    } else if (starts_with(n, "requests.")) {
      m.total("bastion_requests_total", "Client requests, by outcome",
              {{"outcome", std::string(n.substr(9))}}, d(value));
    } else if (starts_with(n, "batches.")) {
      m.total("bastion_batches_total", "Batches, by kind", {{"kind", std::string(n.substr(8))}},
              d(value));
    } else {
      m.total(core_counter_metric(name), "Replication core counter " + name, {}, d(value));
    }
  }

  const DriverStats& dr = s.driver;
  for (std::size_t t = 1; t < dr.messages_out.size(); ++t) {
    if (dr.messages_out[t] == 0) continue;
    m.total("bastion_messages_out_total", "Protocol messages sent, by type, one per destination",
            {{"type", bft::type_name(static_cast<bft::MsgType>(t))}}, d(dr.messages_out[t]));
  }
  m.total("bastion_messages_refused_total",
          "Messages the transport did not take (link down or queue full)", {},
          d(dr.messages_refused));
  m.total("bastion_replies_total", "Replies to clients, by result", {{"result", "sent"}},
          d(dr.replies_sent));
  m.total("bastion_replies_total", "Replies to clients, by result", {{"result", "unroutable"}},
          d(dr.replies_unroutable));
  m.total("bastion_replies_total", "Replies to clients, by result", {{"result", "refused"}},
          d(dr.replies_refused));
  m.total("bastion_status_reports_total", "Answers to client status queries", {},
          d(dr.status_reports_sent));
  m.total("bastion_turns_total", "Event bursts whose effects were carried out", {}, d(dr.turns));
  m.total("bastion_persist_records_total", "Records made durable", {}, d(dr.persist_records));
  m.total("bastion_ticks_total", "Timer ticks", {}, d(dr.ticks));
  m.gauge("bastion_held_bytes",
          "Bytes waiting for the disk: sends held for their records, records not yet durable", {},
          d(dr.held_bytes));
  m.gauge("bastion_held_bytes_peak", "The most bytes that ever waited for the disk", {},
          d(dr.held_bytes_peak));
  m.total("bastion_backpressure_total",
          "Times client reads were paused because too many bytes waited for the disk", {},
          d(dr.client_read_pauses));
  m.gauge("bastion_client_reads_paused", "1 while client connections are not read (back-pressure)",
          {}, dr.client_reads_paused ? 1 : 0);

  const bft::storage::StorageStats& st = s.storage;
  m.total("bastion_storage_syncs_total", "Log syncs that wrote something", {}, d(st.syncs));
  m.total("bastion_storage_bytes_synced_total", "Log bytes written by syncs", {},
          d(st.bytes_synced));
  m.total("bastion_storage_compactions_total", "Log compactions", {}, d(st.compactions));
  m.gauge("bastion_storage_log_bytes", "Bytes in live log segments", {}, d(st.log_bytes));
  m.gauge("bastion_storage_segments", "Live log segments", {}, d(st.segments));
  m.gauge("bastion_storage_checkpoint_files", "Checkpoint page list files", {},
          d(st.checkpoint_files));
  m.gauge("bastion_storage_page_pack_bytes",
          "Bytes in checkpoint page packs, pages no checkpoint lists any more included", {},
          d(st.page_pack_bytes));
  m.total("bastion_storage_page_bytes_written_total",
          "Bytes written to checkpoint page packs since start, rewrites included", {},
          d(st.page_bytes_written));
  m.total("bastion_storage_page_rewrites_total",
          "Rewrites of the page packs with their live pages since start", {}, d(st.page_rewrites));

  const net::TransportStats& t = s.transport;
  const std::string frames = "bastion_transport_frames_total";
  m.total(frames, "Frames through the transport", {{"direction", "in"}}, d(t.frames_in));
  m.total(frames, "Frames through the transport", {{"direction", "out"}}, d(t.frames_out));
  const std::string bytes = "bastion_transport_bytes_total";
  m.total(bytes, "Plaintext bytes through the transport", {{"direction", "in"}}, d(t.bytes_in));
  m.total(bytes, "Plaintext bytes through the transport", {{"direction", "out"}}, d(t.bytes_out));
  const std::string drops = "bastion_transport_drops_total";
  const std::string drops_help = "Frames the transport did not send, by reason";
  m.total(drops, drops_help, {{"reason", "queue_full"}}, d(t.drops_queue_full));
  m.total(drops, drops_help, {{"reason", "not_connected"}}, d(t.drops_not_connected));
  m.total(drops, drops_help, {{"reason", "unknown_destination"}}, d(t.drops_unknown_destination));
  m.total(drops, drops_help, {{"reason", "too_large"}}, d(t.drops_too_large));
  const std::string closed = "bastion_transport_connections_closed_total";
  const std::string closed_help = "Connections closed or refused, by reason";
  m.total(closed, closed_help, {{"reason", "oversized_frame"}}, d(t.oversized_frames));
  m.total(closed, closed_help, {{"reason", "handshake_failure"}}, d(t.handshake_failures));
  m.total(closed, closed_help, {{"reason", "handshake_timeout"}}, d(t.handshake_timeouts));
  m.total(closed, closed_help, {{"reason", "idle_timeout"}}, d(t.idle_timeouts));
  m.total(closed, closed_help, {{"reason", "client_limit"}}, d(t.refused_client_limit));
  m.total(closed, closed_help, {{"reason", "principal_limit"}}, d(t.refused_principal_limit));
  m.total(closed, closed_help, {{"reason", "first_bytes_timeout"}}, d(t.first_bytes_timeouts));
  m.total(closed, closed_help, {{"reason", "handshake_evicted"}}, d(t.evicted_handshakes));
  m.total(closed, closed_help, {{"reason", "source_limit"}}, d(t.refused_source_limit));
  m.total(closed, closed_help, {{"reason", "replica_replaced"}}, d(t.replica_connections_replaced));
  const std::string opened = "bastion_transport_connections_total";
  const std::string opened_help = "Connections established, by side";
  m.total(opened, opened_help, {{"side", "accepted"}}, d(t.connections_accepted));
  m.total(opened, opened_help, {{"side", "dialed"}}, d(t.connections_dialed));
  m.total("bastion_transport_dial_failures_total", "Outgoing connection attempts that failed", {},
          d(t.dial_failures));
  m.gauge("bastion_transport_connections_open", "Live connections", {{"kind", "all"}},
          d(t.connections_open));
  m.gauge("bastion_transport_connections_open", "Live connections", {{"kind", "client"}},
          d(t.client_connections_open));
  m.gauge("bastion_transport_handshakes_in_progress",
          "Accepted connections whose TLS handshake has not completed", {},
          d(t.handshakes_in_progress));
  std::uint64_t up = 0;
  for (const net::LinkStatus& l : s.links) up += l.state == net::LinkState::kConnected ? 1 : 0;
  m.gauge("bastion_links_connected", "Outgoing links to other replicas that are up", {}, d(up));

  const std::string ops = "bastion_crypto_operations_total";
  const std::string secs = "bastion_crypto_seconds_total";
  m.total(ops, "Ed25519 operations", {{"op", "sign"}}, d(s.signer.signs));
  m.total(ops, "Ed25519 operations", {{"op", "verify"}}, d(s.verifier.verifies));
  m.total(secs, "Time spent in Ed25519 on the io thread", {{"op", "sign"}},
          seconds_of_ns(s.signer.sign_ns));
  m.total(secs, "Time spent in Ed25519 on the io thread", {{"op", "verify"}},
          seconds_of_ns(s.verifier.verify_ns));

  const std::string captures = "bastion_checkpoint_captures_total";
  const std::string captures_help = "Checkpoint states captured, by the thread that hashed them";
  m.total(captures, captures_help, {{"where", "worker"}}, d(s.capture.threaded));
  m.total(captures, captures_help, {{"where", "io_thread"}}, d(s.capture.on_the_spot));
  const std::string decisions = "bastion_policy_decisions_total";
  const std::string decisions_help = "Policy script evaluations, by result";
  m.total(decisions, decisions_help, {{"result", "allow"}}, d(s.policy.allowed));
  m.total(decisions, decisions_help, {{"result", "deny"}}, d(s.policy.denied));
  m.total(decisions, decisions_help, {{"result", "fail"}}, d(s.policy.failed));
  m.total("bastion_policy_compiles_total", "Policy scripts compiled (installs and cache misses)",
          {}, d(s.policy.compiled));
  m.gauge("bastion_checkpoint_state_bytes", "Size of the last checkpoint state captured", {},
          d(s.capture.last_bytes));
  m.gauge("bastion_checkpoint_capture_seconds",
          "Wall time of the last checkpoint capture, from taking the state to its digest", {},
          s.capture.last_ms / 1e3);
  m.gauge("bastion_checkpoint_take_seconds",
          "Wall time the io thread spent taking the last checkpoint state's pieces", {},
          s.capture.last_take_ms / 1e3);

  const bft::ReplicaStatus& r = s.status;
  m.gauge("bastion_view", "Current view", {}, d(r.view));
  m.gauge("bastion_primary", "Primary of the current view", {}, d(r.primary));
  m.gauge("bastion_view_changing", "1 while a view change is under way", {},
          r.view_changing ? 1 : 0);
  m.gauge("bastion_last_executed", "Last executed sequence number", {}, d(r.last_executed));
  m.gauge("bastion_stable_checkpoint", "Sequence number of the stable checkpoint", {},
          d(r.stable_checkpoint));
  m.gauge("bastion_agreed_time_seconds", "Agreed time of the last executed batch", {},
          static_cast<double>(r.agreed_time_us) / 1e6);
  m.gauge("bastion_fetching_state", "1 while a state transfer is under way", {},
          r.fetching_state ? 1 : 0);
  for (const auto& [name, size] : s.sizes) {
    m.gauge("bastion_pool_entries", "Entries held on behalf of peers and clients, by container",
            {{"container", name}}, d(size));
  }
  m.gauge("bastion_client_sessions_routed", "Client sessions with a known reply connection", {},
          d(s.routed_sessions));
  m.gauge("bastion_uptime_seconds", "Seconds since the node started", {},
          static_cast<double>(s.uptime_ms) / 1e3);
}

std::string NodeMetrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace bastion::server
