// ClientTransport: a client's channels to every replica of a cluster.
//
// It dials all replicas with a client identity (TLS 1.3, mutual authentication against the
// cluster CA), verifies that the server it reached as replica N presents replica N's certificate
// and pinned key, and keeps each link up, reconnecting with exponential back-off and jitter.
// Frames sent while a link is connecting wait in its bounded queue; while it is down they are
// dropped and counted (the client protocol retransmits).
//
// Threading: as for ReplicaTransport: one io_context thread; every method on it; handlers on it;
// stop() closes everything so io_context::run() can return. A frame passed to on_frame is valid
// only during the call.
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

class ClientTransport {
 public:
  using FrameHandler = std::function<void(ReplicaId replica, ByteView frame)>;
  using LinkHandler = std::function<void(ReplicaId replica, bool connected)>;

  ClientTransport(boost::asio::io_context& io, ClientTransportOptions options);
  ~ClientTransport();
  ClientTransport(const ClientTransport&) = delete;
  ClientTransport& operator=(const ClientTransport&) = delete;

  void on_frame(FrameHandler handler);
  void on_link_change(LinkHandler handler);

  Result<Done, std::string> start();
  void stop();

  bool send_to_replica(ReplicaId id, const Frame& frame);
  std::size_t broadcast(const Frame& frame);

  // One entry per replica, in id order (for `bastion status`).
  std::vector<LinkStatus> links() const;
  TransportStats stats() const;
  // Our principal name, from our certificate (valid after start()).
  const std::string& principal() const;

 private:
  std::shared_ptr<TransportImpl> impl_;
};

}  // namespace bastion::net
