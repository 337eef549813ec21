// A real 4-replica cluster (f = 1) in this process for client tests: server::ReplicaNode on
// loopback TLS, one thread each (server::NodeThread), in memory, with the cluster directory (CA,
// replica and client identities: admin, client1, client2) written by init_cluster to a temp dir.
// The client library connects to it through the cluster file, exactly as a user's program would.
//
// Ports: replica i listens on base + i, with the base derived from the pid and checked free, so
// test processes that run at the same time do not collide.
//
// Thread-safety: a LiveCluster is driven by the test thread.
#pragma once

#include <unistd.h>

#include <utility>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "client/client.h"
#include "config/cluster_config.h"
#include "config/cluster_init.h"
#include "server/node_thread.h"
#include "tests/support/ports.h"
#include "tests/unit/config/temp_dir.h"

namespace bastion::testing {

class LiveCluster {
 public:
  static constexpr std::uint32_t kReplicas = 4;

  LiveCluster() {
    config::InitOptions o;
    o.out_dir = dir_.path() / "cluster";
    o.clients = 2;
    o.base_port = pick_base_port(kReplicas);
    auto file = config::init_cluster(o);
    if (!file) throw std::runtime_error(file.error().message);
    file_ = *file;
    auto c = config::load_cluster_config(file_);
    if (!c) throw std::runtime_error(c.error().message);
    config_ = std::move(*c);
    for (bft::ReplicaId id = 0; id < kReplicas; ++id) start(id);
  }
  ~LiveCluster() {
    for (auto& node : nodes_) {
      if (node) node->stop();
    }
  }

  void start(bft::ReplicaId id) {
    server::NodeOptions o;
    o.in_memory = true;
    o.serve_http = false;
    // A logger without sinks: the replicas' logs would drown the test's output.
    o.logger = std::make_shared<spdlog::logger>("replica-" + std::to_string(id));
    o.tune_transport = [](net::ReplicaTransportOptions& t) {
      t.limits.reconnect_min_ms = 20;
      t.limits.reconnect_max_ms = 200;
    };
    auto node = server::NodeThread::start(config_, id, o);
    if (!node) throw std::runtime_error(node.error().message);
    nodes_[id] = std::move(*node);
  }
  void stop(bft::ReplicaId id) {
    nodes_[id]->stop();
    nodes_[id].reset();
  }

  const std::filesystem::path& file() const { return file_; }
  const config::ClusterConfig& config() const { return config_; }

  ClientOptions options(const std::string& identity = "",
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    ClientOptions o;
    o.cluster_file = file_.string();
    o.identity_dir = identity;
    o.timeout = timeout;
    return o;
  }

  std::unique_ptr<Client> connect(const std::string& identity = "",
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto client = Client::connect(options(identity, timeout));
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(*client);
  }

 private:
  TempDir dir_;
  std::filesystem::path file_;
  config::ClusterConfig config_;
  std::array<std::unique_ptr<server::NodeThread>, kReplicas> nodes_;
};

}  // namespace bastion::testing
