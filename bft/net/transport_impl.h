// The machinery shared by ReplicaTransport and ClientTransport (internal header).
//
// A TransportImpl optionally listens (replicas do), keeps one outgoing link to each remote replica
// (reconnecting with back-off), tracks every live connection by id, enforces the limits on
// accepted connections, and forwards frames and disconnects to the owner's handlers.
//
// Accepted connections are charged to their source (an IPv4 address, or the /64 of an IPv6 one)
// while they handshake, and afterwards if they are clients. When a newcomer finds the handshake
// slots of its source or of the whole transport full, the oldest handshake in progress there is
// closed to make room (never the newcomer): connection ids grow with time, so "oldest" is the
// smallest id in an ordered set.
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
#include <set>
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
  // Pauses or resumes reading on every client connection, and on those established meanwhile.
  void pause_client_reads(bool paused);

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
    bool handshaking = false;     // inbound, in handshakes_ and its source's handshakes
    bool counted_client = false;  // holds a slot in the client limits and its source's count
    asio::ip::address source;     // inbound: where it came from (see source_of)
  };
  // What one source address holds: its handshakes in progress (ordered: oldest first) and its
  // established client connections. Erased when both are empty.
  struct Source {
    std::set<ConnectionId> handshakes;
    std::uint32_t clients = 0;
  };

  Result<Done, std::string> listen();
  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  void dial(ReplicaId id);
  void dial_endpoints(ReplicaId id, const std::vector<tcp::endpoint>& endpoints);
  void schedule_reconnect(Link& link);
  void set_link_state(Link& link, LinkState state);
  ConnectionSettings settings(std::size_t frame_max_bytes, std::size_t queue_max_bytes,
                              std::size_t read_retain_bytes) const;
  // Replica links carry batches: keep a read buffer for a typical one rather than reallocate.
  std::size_t replica_retain_bytes() const;
  bool admit_inbound(Connection& c, Entry& e);
  // Makes room for one more handshake from `source`, closing the oldest ones in its way; false
  // when the source is full of established client connections and the newcomer must be refused.
  bool make_room_for_handshake(const asio::ip::address& source);
  void evict_handshake(ConnectionId id);
  void end_handshake(ConnectionId id, Entry& e);
  void release_source_client(const Entry& e);

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
  bool client_reads_paused_ = false;

  std::map<ReplicaId, Link> links_;
  std::unordered_map<ConnectionId, Entry> connections_;
  std::map<ReplicaId, ConnectionId> inbound_replica_;  // newest accepted connection per replica
  std::unordered_map<std::string, std::uint32_t> client_connections_by_principal_;
  std::set<ConnectionId> handshakes_;  // inbound, handshake in progress, oldest first
  std::map<asio::ip::address, Source> sources_;
  ConnectionId next_connection_id_ = 1;
  TransportStats stats_;
};

}  // namespace bastion::net
