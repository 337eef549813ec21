// The machinery shared by ReplicaTransport and ClientTransport (internal header).
//
// A TransportImpl optionally listens (replicas do), keeps one outgoing link to each remote replica
// (reconnecting with back-off), tracks every live connection by id, enforces the limits on
// accepted connections, and forwards frames and disconnects to the owner's handlers.
//
// Lifetime: always held by shared_ptr; every pending asynchronous operation holds one too, so the
// object outlives its last completion even if the facade is destroyed first. After stop() no
// handler is called again and every socket and timer is closed, so io_context::run() returns.
//
// Thread-safety: none; every call and completion on the io_context's thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bft/net/asio.h"
#include "bft/net/backoff.h"
#include "bft/net/connection.h"
#include "bft/net/options.h"
#include "bft/net/peer.h"
#include "bft/net/stats.h"
#include "codec/result.h"

namespace bastion::net {

class TransportImpl final : public ConnectionOwner,
                            public std::enable_shared_from_this<TransportImpl> {
 public:
  struct Setup {
    std::optional<ReplicaId> self;  // a replica's own id; nullopt for a client
    std::vector<ReplicaAddress> replicas;
    bool listen = false;
    std::string listen_host;
    std::uint16_t listen_port = 0;
    TlsFiles tls;
    TransportLimits limits;
    std::uint64_t seed = 0;
  };
  using FrameHandler = std::function<void(const Peer&, ConnectionId, ByteView)>;
  using DisconnectHandler = std::function<void(ConnectionId)>;
  using LinkHandler = std::function<void(ReplicaId, bool connected)>;

  TransportImpl(asio::io_context& io, Setup setup);
  ~TransportImpl();

  Result<Done, std::string> start();
  void stop();

  FrameHandler on_frame;
  DisconnectHandler on_disconnect;
  LinkHandler on_link;

  bool send_to_replica(ReplicaId id, const Frame& frame);
  std::size_t broadcast(const Frame& frame);
  bool send_to_connection(ConnectionId id, const Frame& frame);
  void close_connection(ConnectionId id);

  std::vector<LinkStatus> links() const;
  const TransportStats& stats() const { return stats_; }
  std::uint16_t local_port() const { return local_port_; }
  const Peer& self() const { return self_peer_; }

  // ConnectionOwner
  void on_connection_established(Connection& c) override;
  void on_connection_heard(Connection& c) override;
  void on_connection_frame(Connection& c, ByteView frame) override;
  void on_connection_closed(Connection& c, CloseReason reason) override;
  TransportStats& mutable_stats() override { return stats_; }

 private:
  struct Link {
    ReplicaAddress address;
    std::shared_ptr<Connection> conn;
    std::unique_ptr<asio::steady_timer> timer;
    Backoff backoff;
    LinkStatus status;
  };
  struct Entry {
    std::shared_ptr<Connection> conn;
    bool established = false;
    bool handshaking = false;     // inbound, counted in inbound_handshakes_
    bool counted_client = false;  // holds a slot in the client limits
  };

  Result<Done, std::string> listen();
  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  void dial(ReplicaId id);
  void dial_endpoints(ReplicaId id, std::vector<tcp::endpoint> endpoints);
  void schedule_reconnect(Link& link);
  void set_link_state(Link& link, LinkState state);
  ConnectionSettings settings(std::size_t frame_max_bytes, std::size_t queue_max_bytes,
                              std::size_t read_retain_bytes) const;
  // Replica links carry batches: keep a read buffer for a typical one rather than reallocate.
  std::size_t replica_retain_bytes() const;
  bool admit_inbound(Connection& c, Entry& e);

  asio::io_context& io_;
  Setup setup_;
  std::shared_ptr<const PeerRules> rules_;  // shared with connections, which may outlive us
  std::shared_ptr<asio::ssl::context> tls_;
  Peer self_peer_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  tcp::resolver resolver_;
  std::uint16_t local_port_ = 0;
  bool started_ = false;
  bool stopped_ = false;

  std::map<ReplicaId, Link> links_;
  std::unordered_map<ConnectionId, Entry> connections_;
  std::map<ReplicaId, ConnectionId> inbound_replica_;  // newest accepted connection per replica
  std::unordered_map<std::string, std::uint32_t> client_connections_by_principal_;
  std::uint32_t inbound_handshakes_ = 0;
  ConnectionId next_connection_id_ = 1;
  TransportStats stats_;
};

}  // namespace bastion::net
