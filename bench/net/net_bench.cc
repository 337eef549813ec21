// Transport benchmarks on 127.0.0.1, TLS 1.3 with mutual authentication, as deployed.
//
//   PingPong/<bytes>          one frame client -> replica -> client at a time, both transports
//                             on the benchmark thread: round-trip latency (time per iteration)
//   OneWay/<bytes>            replica 0 -> replica 1, receiver on its own thread: frames/s
//   RequestReply/<window>     client -> replica (echo) -> client with <window> requests in
//                             flight, replica on its own thread: 64-byte requests/s
//
// Each benchmark sets up a fresh cluster (cluster init) in a temporary directory.
//
// allocs_per_frame counts C++ heap allocations (operator new, all threads) per frame delivered:
// what the transport, Asio and the benchmark's own handlers allocate; OpenSSL's own malloc calls
// are not included. The echo handlers allocate their reply frame (2 allocations).
// The counting operator new below uses malloc and its delete uses free; GCC 12 inlines both and
// mistakes the pair for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <thread>

#include "bft/net/client_transport.h"
#include "bft/net/replica_transport.h"
#include "config/cluster_config.h"
#include "config/cluster_init.h"

std::atomic<std::uint64_t> g_allocations{0};

namespace {

using namespace bastion;
namespace asio = boost::asio;
using namespace std::chrono_literals;

std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// A cluster on disk for the lifetime of one benchmark.
class Cluster {
 public:
  Cluster() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-bench.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
    config::InitOptions o;
    o.out_dir = dir_;
    o.clients = 1;
    auto file = config::init_cluster(o);
    if (!file) std::abort();
    config_ = config::load_cluster_config(*file).value();
    for (auto& r : config_.replicas) r.port = free_port();
  }
  ~Cluster() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::vector<net::ReplicaAddress> addresses(std::uint32_t n) const {
    std::vector<net::ReplicaAddress> out;
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto& r = config_.replicas[i];
      out.push_back({r.id, r.host, r.port, r.public_key});
    }
    return out;
  }
  // Only `n` replicas take part, so no link keeps retrying an absent one.
  net::ReplicaTransportOptions replica(std::uint32_t id, std::uint32_t n) const {
    net::ReplicaTransportOptions o;
    o.self = id;
    o.replicas = addresses(n);
    const auto& r = config_.replicas[id];
    o.tls = {r.cert, r.key, config_.ca_cert};
    return o;
  }
  net::ClientTransportOptions client() const {
    net::ClientTransportOptions o;
    o.replicas = addresses(1);
    const auto d = config_.identity_dir("client1");
    o.tls = {d / "cert.pem", d / "key.pem", d / "ca.pem"};
    return o;
  }

 private:
  std::filesystem::path dir_;
  config::ClusterConfig config_;
};

template <class Pred>
void run_until(asio::io_context& io, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) std::abort();
    if (io.stopped()) io.restart();
    io.run_one_for(1ms);
  }
}

net::Frame payload(std::size_t bytes) { return net::make_frame(net::Bytes(bytes, 0x5a)); }

void PingPong(benchmark::State& state) {
  Cluster cluster;
  asio::io_context io;
  net::ReplicaTransport replica(io, cluster.replica(0, 1));
  replica.on_frame([&](const net::Peer&, net::ConnectionId c, net::ByteView f) {
    replica.send_to_connection(c, net::make_frame(net::Bytes(f.begin(), f.end())));
  });
  if (!replica.start().ok()) std::abort();
  net::ClientTransport client(io, cluster.client());
  std::uint64_t replies = 0;
  client.on_frame([&](net::ReplicaId, net::ByteView) { ++replies; });
  if (!client.start().ok()) std::abort();
  run_until(io, [&] { return client.links()[0].state == net::LinkState::kConnected; });
  const net::Frame f = payload(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const std::uint64_t want = replies + 1;
    client.send_to_replica(0, f);
    while (replies < want) io.run_one();
  }
  state.SetItemsProcessed(state.iterations());
  replica.stop();
  client.stop();
}
BENCHMARK(PingPong)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Runs an io_context on its own thread until stop() is posted.
class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() { join(); }
  asio::io_context& io() { return io_; }
  template <class F>
  void post_and_join(F f) {
    asio::post(io_, [this, f = std::move(f)]() mutable {
      f();
      guard_.reset();
    });
    join();
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

void OneWay(benchmark::State& state) {
  Cluster cluster;
  asio::io_context io;
  net::ReplicaTransport sender(io, cluster.replica(0, 2));
  if (!sender.start().ok()) std::abort();

  IoThread rx;
  std::atomic<std::uint64_t> received{0};
  std::unique_ptr<net::ReplicaTransport> receiver;
  std::atomic<bool> ready{false};
  asio::post(rx.io(), [&] {
    receiver = std::make_unique<net::ReplicaTransport>(rx.io(), cluster.replica(1, 2));
    receiver->on_frame([&](const net::Peer&, net::ConnectionId, net::ByteView) {
      received.fetch_add(1, std::memory_order_relaxed);
    });
    if (!receiver->start().ok()) std::abort();
    ready = true;
  });
  run_until(io, [&] { return ready && sender.links()[0].state == net::LinkState::kConnected; });

  const net::Frame f = payload(static_cast<std::size_t>(state.range(0)));
  constexpr std::uint64_t kBurst = 1000;
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  const std::uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    for (std::uint64_t i = 0; i < kBurst; ++i) {
      if (sender.send_to_replica(1, f)) {
        ++sent;
      } else {
        ++dropped;
      }
      if (i % 64 == 63) io.poll();  // let the writer drain while we keep producing
    }
    run_until(io, [&] { return received.load(std::memory_order_relaxed) >= sent; });
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
  state.SetBytesProcessed(
      static_cast<std::int64_t>(sent * static_cast<std::uint64_t>(state.range(0))));
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["allocs_per_frame"] =
      static_cast<double>(g_allocations.load() - allocs_before) / static_cast<double>(sent);
  sender.stop();
  rx.post_and_join([&] { receiver.reset(); });
}
BENCHMARK(OneWay)->Arg(64)->Arg(1024)->Arg(16384)->UseRealTime()->Unit(benchmark::kMillisecond);

void RequestReply(benchmark::State& state) {
  Cluster cluster;
  IoThread server;
  std::unique_ptr<net::ReplicaTransport> replica;
  std::atomic<bool> ready{false};
  asio::post(server.io(), [&] {
    replica = std::make_unique<net::ReplicaTransport>(server.io(), cluster.replica(0, 1));
    replica->on_frame([&](const net::Peer&, net::ConnectionId c, net::ByteView f) {
      replica->send_to_connection(c, net::make_frame(net::Bytes(f.begin(), f.end())));
    });
    if (!replica->start().ok()) std::abort();
    ready = true;
  });

  asio::io_context io;
  net::ClientTransport client(io, cluster.client());
  std::uint64_t replies = 0;
  client.on_frame([&](net::ReplicaId, net::ByteView) { ++replies; });
  if (!client.start().ok()) std::abort();
  run_until(io, [&] { return ready && client.links()[0].state == net::LinkState::kConnected; });

  const auto window = static_cast<std::uint64_t>(state.range(0));
  const net::Frame f = payload(64);
  constexpr std::uint64_t kPerIteration = 1000;
  std::uint64_t sent = 0;
  const std::uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    const std::uint64_t target = sent + kPerIteration;
    while (replies < target) {
      while (sent < target && sent - replies < window) {
        if (!client.send_to_replica(0, f)) std::abort();
        ++sent;
      }
      io.run_one();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(replies));
  state.counters["allocs_per_frame"] =
      static_cast<double>(g_allocations.load() - allocs_before) / static_cast<double>(replies);
  client.stop();
  server.post_and_join([&] { replica.reset(); });
}
BENCHMARK(RequestReply)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

// Counting allocator: every operator new form funnels into these two.
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

BENCHMARK_MAIN();
