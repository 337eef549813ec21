#include "bft/net/replica_transport.h"

#include "bft/net/transport_impl.h"

namespace bastion::net {

ReplicaTransport::ReplicaTransport(asio::io_context& io, ReplicaTransportOptions options) {
  TransportImpl::Setup setup;
  setup.self = options.self;
  setup.replicas = std::move(options.replicas);
  setup.listen = true;
  setup.listen_host = std::move(options.listen_host);
  setup.listen_port = options.listen_port;
  setup.tls = std::move(options.tls);
  setup.limits = options.limits;
  setup.seed = options.seed;
  impl_ = std::make_shared<TransportImpl>(io, std::move(setup));
}

ReplicaTransport::~ReplicaTransport() { impl_->stop(); }

void ReplicaTransport::on_frame(FrameHandler handler) { impl_->on_frame = std::move(handler); }
void ReplicaTransport::on_disconnect(DisconnectHandler handler) {
  impl_->on_disconnect = std::move(handler);
}
Result<Done, std::string> ReplicaTransport::start() { return impl_->start(); }
void ReplicaTransport::stop() { impl_->stop(); }
bool ReplicaTransport::send_to_replica(ReplicaId id, const Frame& frame) {
  return impl_->send_to_replica(id, frame);
}
std::size_t ReplicaTransport::broadcast(const Frame& frame) { return impl_->broadcast(frame); }
bool ReplicaTransport::send_to_connection(ConnectionId connection, const Frame& frame) {
  return impl_->send_to_connection(connection, frame);
}
void ReplicaTransport::close_connection(ConnectionId connection) {
  impl_->close_connection(connection);
}
void ReplicaTransport::pause_client_reads(bool paused) { impl_->pause_client_reads(paused); }
std::vector<LinkStatus> ReplicaTransport::links() const { return impl_->links(); }
TransportStats ReplicaTransport::stats() const { return impl_->stats(); }
std::uint16_t ReplicaTransport::local_port() const { return impl_->local_port(); }

}  // namespace bastion::net
