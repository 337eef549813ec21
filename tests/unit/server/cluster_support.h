// Helpers for replica node tests: a cluster directory written by init_cluster on loopback ports
// that are free, a small client made of net::ClientTransport + bft::ClientCore (the real client
// library is not used here), and polling with a deadline so a failure is an assertion, not a hang.
#pragma once

#include <unistd.h>

#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bft/core/client_core.h"
#include "bft/net/client_transport.h"
#include "config/cluster_config.h"
#include "config/cluster_init.h"
#include "tests/support/ports.h"
#include "tests/unit/config/temp_dir.h"
#include "tuplespace/ops.h"
#include "tuplespace/text.h"

namespace bastion::server::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A cluster directory (f = 1) in a temp dir, removed at the end.
class ClusterDir {
 public:
  explicit ClusterDir(std::uint32_t clients = 2) {
    config::InitOptions o;
    o.out_dir = dir_.path() / "cluster";
    o.clients = clients;
    o.base_port = bastion::testing::pick_base_port(4);
    auto file = config::init_cluster(o);
    if (!file) throw std::runtime_error(file.error().message);
    file_ = *file;
    auto c = config::load_cluster_config(file_);
    if (!c) throw std::runtime_error(c.error().message);
    config_ = std::move(*c);
  }

  const config::ClusterConfig& config() const { return config_; }
  config::ClusterConfig& config() { return config_; }
  const std::filesystem::path& file() const { return file_; }
  const std::filesystem::path& root() const { return dir_.path(); }

 private:
  bastion::testing::TempDir dir_;
  std::filesystem::path file_;
  config::ClusterConfig config_;
};

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

inline bft::TimeUs steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A client process in miniature: one session of one identity, requests one at a time.
class TestClient {
 public:
  TestClient(const config::ClusterConfig& cluster, const std::string& identity,
             std::uint64_t session)
      : transport_(io_, options(cluster, identity)),
        // Read-only replies get a generous wait: under sanitizers on a busy machine 100 ms is not
        // always enough, and the tests check which path answered.
        core_(bft::ClientConfig{cluster.n(), cluster.f, session, 200'000, 2'000'000, 2'000'000}) {
    transport_.on_frame([this](bft::ReplicaId from, bft::ByteView frame) {
      if (frame.size() > 1 && frame[1] == static_cast<std::uint8_t>(bft::MsgType::kStatusReport)) {
        auto m = bft::decode_message(frame);
        if (m && std::holds_alternative<bft::StatusReportMsg>(*m)) {
          reports_.push_back(std::get<bft::StatusReportMsg>(*m));
        }
        return;
      }
      core_.on_reply(from, frame, steady_us());
    });
    auto r = transport_.start();
    if (!r) throw std::runtime_error(r.error());
  }
  ~TestClient() {
    transport_.stop();
    io_.restart();
    io_.poll();
  }

  // The completion of one request, or nullopt after `timeout`.
  std::optional<bft::ClientCompletion> invoke(const ts::Request& op, bool read_only = false,
                                              std::chrono::milliseconds timeout = 30s) {
    const std::uint64_t number = core_.submit(ts::encode_request(op), read_only, steady_us());
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pump();
      for (auto& c : completions_) {
        if (c.number == number) {
          bft::ClientCompletion done = std::move(c);
          std::erase_if(completions_, [&](const auto& x) { return x.number == number; });
          return done;
        }
      }
      if (io_.stopped()) io_.restart();
      io_.run_one_for(5ms);
      if (auto next = core_.next_tick_us(); next && *next <= steady_us()) {
        core_.on_tick(steady_us());
      }
    }
    core_.abandon(number);
    return std::nullopt;
  }

  // Asks one replica for its status report.
  std::optional<bft::StatusReportMsg> query_status(bft::ReplicaId replica, std::uint64_t nonce,
                                                   std::chrono::milliseconds timeout = 10s) {
    const auto query =
        std::make_shared<const bft::Bytes>(bft::encode_message(bft::StatusQueryMsg{nonce}));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto next_send = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::chrono::steady_clock::now() >= next_send) {
        transport_.send_to_replica(replica, query);  // dropped while the link is still down
        next_send += 200ms;
      }
      for (const auto& r : reports_) {
        if (r.nonce == nonce) return r;
      }
      if (io_.stopped()) io_.restart();
      io_.run_one_for(5ms);
    }
    return std::nullopt;
  }

  // Keeps `window` requests in flight for `duration`, each new one made by make_op(i); returns
  // how many completed with kOk.
  std::uint64_t run_load(const std::function<ts::Request(std::uint64_t)>& make_op,
                         std::size_t window, std::chrono::milliseconds duration,
                         bool read_only = false) {
    std::uint64_t submitted = 0, done = 0;
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
      while (core_.in_flight() < window) {
        core_.submit(ts::encode_request(make_op(submitted++)), read_only, steady_us());
      }
      pump();
      for (const auto& c : completions_) done += c.status == bft::ReplyStatus::kOk ? 1 : 0;
      completions_.clear();
      if (io_.stopped()) io_.restart();
      io_.run_one_for(1ms);
      if (auto next = core_.next_tick_us(); next && *next <= steady_us()) {
        core_.on_tick(steady_us());
      }
    }
    return done;
  }

  // The frame of the last request sent, to replay it.
  bft::SharedBytes last_sent() const { return last_sent_; }

  // Sends `frame` to replica `to` again and again for `duration`, as fast as the transport takes
  // it (a client flooding retransmissions); returns how many times it was taken.
  std::uint64_t flood(bft::ReplicaId to, const bft::SharedBytes& frame,
                      std::chrono::milliseconds duration) {
    std::uint64_t taken = 0;
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 64; ++i) taken += transport_.send_to_replica(to, frame) ? 1 : 0;
      if (io_.stopped()) io_.restart();
      io_.poll();
    }
    return taken;
  }

  // The tuple-space reply of a completed request (fails the test on anything else).
  static ts::Reply reply_of(const std::optional<bft::ClientCompletion>& c) {
    EXPECT_TRUE(c.has_value()) << "request timed out";
    if (!c) return ts::Reply{};
    EXPECT_EQ(c->status, bft::ReplyStatus::kOk);
    auto r = codec::decode<ts::Reply>(c->result);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ts::Reply{};
  }

  static ts::Tuple tuple(std::string_view text) { return *ts::parse_tuple(text); }
  static ts::Template tmpl(std::string_view text) { return *ts::parse_template(text); }
  static ts::TupleSpec spec(std::string_view text) {
    ts::TupleSpec s;
    s.tuple = tuple(text);
    return s;
  }

 private:
  static net::ClientTransportOptions options(const config::ClusterConfig& cluster,
                                             const std::string& identity) {
    net::ClientTransportOptions o;
    for (const auto& r : cluster.replicas)
      o.replicas.push_back({r.id, r.host, r.port, r.public_key});
    const auto d = cluster.identity_dir(identity);
    o.tls = {d / "cert.pem", d / "key.pem", d / "ca.pem"};
    o.limits.reconnect_min_ms = 20;
    o.limits.reconnect_max_ms = 200;
    return o;
  }

  void pump() {
    bft::ClientOutput out = core_.take_output();
    for (const bft::ClientSend& s : out.sends) {
      last_sent_ = s.bytes;
      if (s.to) {
        transport_.send_to_replica(*s.to, s.bytes);
      } else {
        transport_.broadcast(s.bytes);
      }
    }
    for (auto& c : out.completions) completions_.push_back(std::move(c));
  }

  asio::io_context io_;
  net::ClientTransport transport_;
  bft::ClientCore core_;
  std::vector<bft::ClientCompletion> completions_;
  std::vector<bft::StatusReportMsg> reports_;
  bft::SharedBytes last_sent_;
};

}  // namespace bastion::server::testing
