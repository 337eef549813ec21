// ReplicaTransport: the network of one replica.
//
// It listens on the replica's port, where clients and other replicas both connect, and dials
// every other replica for its own outgoing traffic. So each pair of replicas has two TLS
// channels, one per direction: no tie-breaking, and a replica restart on either side heals by
// itself (outgoing links reconnect with exponential back-off and jitter, capped; of several
// incoming connections from one replica the newest wins). Every channel is TLS 1.3 with mutual
// certificate authentication against the cluster CA; a peer's identity is its certificate's
// common name, and "replica-<N>" is believed only with N's pinned key (see peer.h). Messages
// are length-framed (frame.h); per-peer send queues are bounded in bytes and drop when full.
// Before authentication a connection is bounded in time (first_bytes_timeout_ms,
// handshake_timeout_ms) and in number, in all and per source address; full handshake slots are
// freed by closing the oldest handshake, never by refusing the newcomer, so silent sockets cannot
// lock clients or a restarting replica out (options.h). Replica peers are admitted whatever the
// client limits.
//
// Threading: everything runs on the io_context given to the constructor, which the owner runs on
// one thread (the daemon drives the replication core on the same thread). Every method must be
// called on that thread (or before it runs), and the handlers are invoked on it. stop() closes
// every socket and timer, after which io_context::run() returns once no other work is left.
// Destroy the transport on that thread or while the io_context is not running; handlers are
// never invoked after stop() or destruction.
//
// A frame passed to on_frame is a view into the connection's read buffer, valid only during the
// call: copy what must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bft/net/frame.h"
#include "bft/net/options.h"
#include "bft/net/peer.h"
#include "bft/net/stats.h"
#include "codec/result.h"

namespace boost::asio {
class io_context;
}

namespace bastion::net {

class TransportImpl;

class ReplicaTransport {
 public:
  using FrameHandler =
      std::function<void(const Peer& peer, ConnectionId connection, ByteView frame)>;
  using DisconnectHandler = std::function<void(ConnectionId connection)>;

  ReplicaTransport(boost::asio::io_context& io, ReplicaTransportOptions options);
  ~ReplicaTransport();
  ReplicaTransport(const ReplicaTransport&) = delete;
  ReplicaTransport& operator=(const ReplicaTransport&) = delete;

  // Set handlers before start().
  void on_frame(FrameHandler handler);
  // Called once for every connection that was established, when it closes.
  void on_disconnect(DisconnectHandler handler);

  // Loads the TLS identity (refusing one peers would refuse), binds the port, starts dialing.
  Result<Done, std::string> start();
  void stop();

  // Queues a frame on our outgoing link to replica `id`. False (and counted) when there is no
  // such replica, the link is down, the frame is too large, or the link's queue is full.
  bool send_to_replica(ReplicaId id, const Frame& frame);
  // To every other replica; returns how many links took it.
  std::size_t broadcast(const Frame& frame);
  // Back on the connection a frame came from: replies to clients.
  bool send_to_connection(ConnectionId connection, const Frame& frame);
  void close_connection(ConnectionId connection);
  // Back-pressure: while paused, client connections (and those established meanwhile) stop
  // reading their sockets after the frames already read, so TCP pushes back on the clients;
  // replies and keep-alives still go out. Replica connections always read.
  void pause_client_reads(bool paused);

  std::vector<LinkStatus> links() const;
  TransportStats stats() const;
  std::uint16_t local_port() const;  // the bound port (useful when options chose port 0)

 private:
  std::shared_ptr<TransportImpl> impl_;
};

}  // namespace bastion::net
