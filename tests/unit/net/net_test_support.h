// Helpers for transport tests: a test cluster on loopback, running the io_context until a
// condition holds, and raw TLS / TCP clients that misbehave on purpose.
#pragma once

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bft/net/client_transport.h"
#include "bft/net/options.h"
#include "bft/net/replica_transport.h"
#include "config/cluster_config.h"
#include "config/cluster_init.h"
#include "tests/unit/config/temp_dir.h"

namespace bastion::net::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Runs handlers until pred() holds or the timeout passes; returns pred().
inline bool run_until(asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(5ms);
  }
  return true;
}

// Runs handlers for a while (to let things that should NOT happen have their chance).
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  run_until(
      io, [] { return false; }, d);
}

// Ports that were free a moment ago on 127.0.0.1, all different: each is held until the last is
// picked (two picks in turn may give the same port, and a replica whose peer shares its port
// dials itself, which the transport counts as one more connection from 127.0.0.1).
inline void assign_free_ports(config::ClusterConfig& c) {
  asio::io_context io;
  std::vector<tcp::acceptor> held;
  for (auto& r : c.replicas) {
    held.emplace_back(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    r.port = held.back().local_endpoint().port();
  }
}

inline Frame frame_of(std::string_view s) { return make_frame(Bytes(s.begin(), s.end())); }
inline std::string text_of(ByteView v) { return std::string(v.begin(), v.end()); }

// A 4-replica cluster (f = 1) written by init_cluster, with free loopback ports.
class TestCluster {
 public:
  explicit TestCluster(std::uint32_t clients = 3) {
    config::InitOptions o;
    o.out_dir = dir_.path() / "cluster";
    o.clients = clients;
    auto file = config::init_cluster(o);
    if (!file) throw std::runtime_error(file.error().message);
    auto c = config::load_cluster_config(*file);
    if (!c) throw std::runtime_error(c.error().message);
    config_ = std::move(*c);
    assign_free_ports(config_);
  }

  const config::ClusterConfig& config() const { return config_; }
  std::filesystem::path dir() const { return config_.dir; }
  std::filesystem::path root() const { return dir_.path(); }

  std::vector<ReplicaAddress> addresses() const {
    std::vector<ReplicaAddress> out;
    for (const auto& r : config_.replicas) out.push_back({r.id, r.host, r.port, r.public_key});
    return out;
  }

  static TransportLimits fast_limits() {
    TransportLimits l;
    l.reconnect_min_ms = 20;
    l.reconnect_max_ms = 200;
    l.handshake_timeout_ms = 2000;
    return l;
  }

  ReplicaTransportOptions replica_options(ReplicaId id) const {
    ReplicaTransportOptions o;
    o.self = id;
    o.replicas = addresses();
    const auto& r = config_.replicas.at(id);
    o.tls = {r.cert, r.key, config_.ca_cert};
    o.limits = fast_limits();
    o.seed = 1000 + id;
    return o;
  }

  ClientTransportOptions client_options(const std::string& identity) const {
    ClientTransportOptions o;
    o.replicas = addresses();
    const auto d = config_.identity_dir(identity);
    o.tls = {d / "cert.pem", d / "key.pem", d / "ca.pem"};
    o.limits = fast_limits();
    o.seed = 77;
    return o;
  }

 private:
  bastion::testing::TempDir dir_;
  config::ClusterConfig config_;
};

// A TLS client driven by hand: presents whatever certificate it is given, trusts any server,
// and records what happens to it.
class RawTlsClient {
 public:
  RawTlsClient(asio::io_context& io, const std::filesystem::path& cert,
               const std::filesystem::path& key)
      : ctx_(asio::ssl::context::tls_client), stream_(io, init(ctx_, cert, key)) {}

  void connect(std::uint16_t port) {
    stream_.lowest_layer().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                         [this](const boost::system::error_code& ec) {
                                           if (ec) {
                                             closed = true;
                                             return;
                                           }
                                           stream_.async_handshake(
                                               asio::ssl::stream_base::client,
                                               [this](const boost::system::error_code& e) {
                                                 if (e) {
                                                   closed = true;
                                                   return;
                                                 }
                                                 handshake_done = true;
                                                 read();
                                                 flush();
                                               });
                                         });
  }

  // Queued until the handshake is done, then written in order, one write at a time.
  void write(std::vector<std::uint8_t> bytes) {
    out_.push_back(std::move(bytes));
    flush();
  }

  // Reading is what a well-behaved client does; a stalled one never calls read().
  void stop_reading() { reading_ = false; }

  bool handshake_done = false;
  bool closed = false;
  std::vector<std::uint8_t> received;

 private:
  static asio::ssl::context& init(asio::ssl::context& ctx, const std::filesystem::path& cert,
                                  const std::filesystem::path& key) {
    ctx.set_verify_mode(asio::ssl::verify_none);
    if (cert.empty()) return ctx;  // presents no certificate at all
    ctx.use_certificate_chain_file(cert.string());
    ctx.use_private_key_file(key.string(), asio::ssl::context::pem);
    return ctx;
  }

  void flush() {
    if (!handshake_done || writing_ || closed || out_.empty()) return;
    writing_ = true;
    asio::async_write(stream_, asio::buffer(out_.front()),
                      [this](const boost::system::error_code& ec, std::size_t) {
                        writing_ = false;
                        out_.pop_front();
                        if (ec) {
                          closed = true;
                          return;
                        }
                        flush();
                      });
  }

  void read() {
    if (!reading_) return;
    stream_.async_read_some(asio::buffer(buf_),
                            [this](const boost::system::error_code& ec, std::size_t n) {
                              if (ec) {
                                closed = true;
                                return;
                              }
                              received.insert(received.end(), buf_, buf_ + n);
                              read();
                            });
  }

  asio::ssl::context ctx_;
  asio::ssl::stream<tcp::socket> stream_;
  std::uint8_t buf_[4096];
  bool reading_ = true;
  bool writing_ = false;
  std::deque<std::vector<std::uint8_t>> out_;
};

// A frame header announcing `len` bytes, followed by `payload` (which may be shorter).
inline std::vector<std::uint8_t> frame_bytes(std::uint32_t len, std::string_view payload = {}) {
  std::vector<std::uint8_t> out(4 + payload.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(len >> (8 * i));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out[4 + i] = static_cast<std::uint8_t>(payload[i]);
  }
  return out;
}

}  // namespace bastion::net::testing
