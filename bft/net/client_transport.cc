#include "bft/net/client_transport.h"

#include "bft/net/transport_impl.h"

namespace bastion::net {

ClientTransport::ClientTransport(asio::io_context& io, ClientTransportOptions options) {
  TransportImpl::Setup setup;
  setup.replicas = std::move(options.replicas);
  setup.tls = std::move(options.tls);
  setup.limits = options.limits;
  setup.seed = options.seed;
  impl_ = std::make_shared<TransportImpl>(io, std::move(setup));
}

ClientTransport::~ClientTransport() { impl_->stop(); }

void ClientTransport::on_frame(FrameHandler handler) {
  if (!handler) {
    impl_->on_frame = nullptr;
    return;
  }
  impl_->on_frame = [h = std::move(handler)](const Peer& peer, ConnectionId, ByteView frame) {
    h(peer.replica_id, frame);
  };
}
void ClientTransport::on_link_change(LinkHandler handler) { impl_->on_link = std::move(handler); }
Result<Done, std::string> ClientTransport::start() { return impl_->start(); }
void ClientTransport::stop() { impl_->stop(); }
bool ClientTransport::send_to_replica(ReplicaId id, const Frame& frame) {
  return impl_->send_to_replica(id, frame);
}
std::size_t ClientTransport::broadcast(const Frame& frame) { return impl_->broadcast(frame); }
std::vector<LinkStatus> ClientTransport::links() const { return impl_->links(); }
TransportStats ClientTransport::stats() const { return impl_->stats(); }
const std::string& ClientTransport::principal() const { return impl_->self().name; }

}  // namespace bastion::net
