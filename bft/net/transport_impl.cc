#include "bft/net/transport_impl.h"

#include <algorithm>
#include <random>

#include "bft/net/tls.h"

namespace bastion::net {
namespace {

std::map<ReplicaId, PublicKey> pinned_keys(const std::vector<ReplicaAddress>& replicas) {
  std::map<ReplicaId, PublicKey> keys;
  for (const auto& r : replicas) keys.emplace(r.id, r.public_key);
  return keys;
}

std::string_view reason_text(CloseReason r) {
  switch (r) {
    case CloseReason::kPeerClosed:
      return "connection closed";
    case CloseReason::kHandshakeFailed:
      return "TLS handshake failed";
    case CloseReason::kHandshakeTimeout:
      return "connect or handshake timed out";
    case CloseReason::kFirstBytesTimeout:
      return "peer sent nothing";
    case CloseReason::kEvicted:
      return "handshake evicted by newer connections";
    case CloseReason::kOversizedFrame:
      return "peer sent an oversized frame";
    case CloseReason::kIdleTimeout:
      return "peer silent for too long";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kReplaced:
      return "replaced by a newer connection";
    case CloseReason::kStopped:
      return "stopped";
  }
  return "closed";
}

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

// The unit of the per-source limits: an IPv4 address, or the /64 network of an IPv6 one (one
// host commonly owns a whole /64). An IPv4-mapped IPv6 address counts as its IPv4 address.
asio::ip::address source_of(const tcp::endpoint& peer) {
  asio::ip::address a = peer.address();
  if (a.is_v4()) return a;
  const asio::ip::address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), std::uint8_t{0});
  return asio::ip::address_v6(bytes);
}

}  // namespace

std::string_view link_state_name(LinkState s) {
  switch (s) {
    case LinkState::kConnecting:
      return "connecting";
    case LinkState::kConnected:
      return "connected";
    case LinkState::kBackoff:
      return "backoff";
    case LinkState::kStopped:
      return "stopped";
  }
  return "?";
}

TransportImpl::TransportImpl(asio::io_context& io, Setup setup)
    : io_(io),
      setup_(std::move(setup)),
      rules_(std::make_shared<const PeerRules>(pinned_keys(setup_.replicas))),
      acceptor_(io),
      accept_retry_(io),
      resolver_(io) {
  if (setup_.seed == 0)
    setup_.seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  std::uint64_t seed = setup_.seed;
  for (const auto& r : setup_.replicas) {
    if (setup_.self && r.id == *setup_.self) continue;
    Link link{r, nullptr, std::make_unique<asio::steady_timer>(io),
              Backoff(setup_.limits.reconnect_min_ms, setup_.limits.reconnect_max_ms, seed++),
              LinkStatus{}};
    link.status.replica = r.id;
    links_.emplace(r.id, std::move(link));
  }
}

TransportImpl::~TransportImpl() { stop(); }

std::size_t TransportImpl::replica_retain_bytes() const {
  constexpr std::size_t kReplicaRetainMaxBytes = 2u << 20;
  return std::min(setup_.limits.replica_frame_max_bytes + kFrameHeaderBytes,
                  kReplicaRetainMaxBytes);
}

ConnectionSettings TransportImpl::settings(std::size_t frame_max_bytes, std::size_t queue_max_bytes,
                                           std::size_t read_retain_bytes) const {
  ConnectionSettings s;
  s.frame_max_bytes = frame_max_bytes;
  s.send_queue_max_bytes = queue_max_bytes;
  s.keepalive_ms = setup_.limits.keepalive_ms;
  s.handshake_timeout_ms = setup_.limits.handshake_timeout_ms;
  s.first_bytes_timeout_ms = setup_.limits.first_bytes_timeout_ms;
  s.write_chunk_bytes = setup_.limits.write_chunk_bytes;
  s.read_buffer_bytes = setup_.limits.read_buffer_bytes;
  s.read_retain_bytes = read_retain_bytes;
  return s;
}

Result<Done, std::string> TransportImpl::start() {
  if (started_) return fail(std::string("transport already started"));
  if (setup_.self && !rules_->is_replica(*setup_.self)) {
    return fail("replica " + std::to_string(*setup_.self) + " is not in the replica list");
  }
  auto tls = make_tls_context(setup_.tls, *rules_, setup_.self);
  if (!tls) return fail(std::move(tls).error());
  tls_ = std::move(tls->ctx);
  self_peer_ = std::move(tls->self);
  if (setup_.listen) {
    if (auto r = listen(); !r) return r;
  }
  started_ = true;
  if (setup_.listen) accept();
  for (auto& [id, link] : links_) dial(id);
  return Done{};
}

Result<Done, std::string> TransportImpl::listen() {
  std::string host = setup_.listen_host;
  std::uint16_t port = setup_.listen_port;
  for (const auto& r : setup_.replicas) {
    if (setup_.self && r.id == *setup_.self) {
      if (host.empty()) host = r.host;
      if (port == 0) port = r.port;
    }
  }
  error_code ec;
  tcp::endpoint endpoint;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(io_);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return fail("cannot resolve " + host + ": " + ec.message());
    endpoint = *results.begin();
  }
  const std::string where = host + ":" + std::to_string(port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    return fail("cannot listen on " + where + ": " + ec.message());
  }
  local_port_ = acceptor_.local_endpoint(ec).port();
  return Done{};
}

void TransportImpl::stop() {
  if (stopped_) return;
  stopped_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  resolver_.cancel();
  for (auto& [id, link] : links_) {
    link.timer->cancel();
    link.conn.reset();
    set_link_state(link, LinkState::kStopped);
  }
  // Detach first: a stopping transport reports nothing more to its owner.
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (auto& [id, e] : connections_) all.push_back(e.conn);
  connections_.clear();
  inbound_replica_.clear();
  client_connections_by_principal_.clear();
  handshakes_.clear();
  sources_.clear();
  for (auto& c : all) {
    c->detach();
    c->close(CloseReason::kStopped);
  }
  stats_.connections_open = 0;
  stats_.client_connections_open = 0;
  stats_.handshakes_in_progress = 0;
}

void TransportImpl::accept() {
  acceptor_.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void TransportImpl::on_accept(const error_code& ec, tcp::socket socket) {
  if (stopped_) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // Out of descriptors, for instance: retry later rather than spin.
    ++stats_.accept_errors;
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([self = shared_from_this()](const error_code& e) {
      if (!e && !self->stopped_) self->accept();
    });
    return;
  }
  error_code remote_ec;
  const tcp::endpoint remote = socket.remote_endpoint(remote_ec);
  if (remote_ec) {  // gone already
    error_code ignored;
    socket.close(ignored);
  } else if (const asio::ip::address source = source_of(remote); !make_room_for_handshake(source)) {
    ++stats_.refused_source_limit;
    error_code ignored;
    socket.close(ignored);
  } else {
    const ConnectionId id = next_connection_id_++;
    auto conn = std::make_shared<Connection>(
        io_, tls_, std::move(socket), Connection::Direction::kInbound, id, rules_, std::nullopt,
        settings(setup_.limits.client_frame_max_bytes, setup_.limits.client_send_queue_max_bytes,
                 0),
        this);
    connections_.emplace(id, Entry{conn, false, true, false, source});
    handshakes_.insert(id);
    sources_[source].handshakes.insert(id);
    stats_.handshakes_in_progress = handshakes_.size();
    conn->start_inbound();
  }
  accept();
}

bool TransportImpl::make_room_for_handshake(const asio::ip::address& source) {
  const auto& l = setup_.limits;
  const std::size_t per_source_max = std::max<std::uint32_t>(1, l.handshakes_per_source_max);
  const std::size_t connections_max = std::max<std::uint32_t>(1, l.connections_per_source_max);
  const std::size_t all_max = std::max<std::uint32_t>(1, l.handshakes_in_progress_max);
  // Each eviction removes one handshake from the sets, so these loops end.
  for (auto it = sources_.find(source); it != sources_.end(); it = sources_.find(source)) {
    const Source& s = it->second;
    if (s.handshakes.size() < per_source_max && s.handshakes.size() + s.clients < connections_max) {
      break;
    }
    if (s.handshakes.empty()) return false;  // all established clients: nothing to evict
    evict_handshake(*s.handshakes.begin());
  }
  while (handshakes_.size() >= all_max) evict_handshake(*handshakes_.begin());
  return true;
}

void TransportImpl::evict_handshake(ConnectionId id) {
  auto it = connections_.find(id);
  if (it != connections_.end()) {
    auto conn = it->second.conn;         // alive until the close path has run
    conn->close(CloseReason::kEvicted);  // on_connection_closed ends the handshake's accounting
  }
  // Never left behind, whatever the close path did: make_room_for_handshake loops on these.
  if (auto left = connections_.find(id); left != connections_.end()) {
    end_handshake(id, left->second);
  } else if (handshakes_.erase(id) != 0) {
    for (auto& [address, source] : sources_) source.handshakes.erase(id);
    std::erase_if(sources_, [](const auto& kv) {
      return kv.second.handshakes.empty() && kv.second.clients == 0;
    });
    stats_.handshakes_in_progress = handshakes_.size();
  }
}

void TransportImpl::end_handshake(ConnectionId id, Entry& e) {
  if (!e.handshaking) return;
  e.handshaking = false;
  handshakes_.erase(id);
  stats_.handshakes_in_progress = handshakes_.size();
  auto s = sources_.find(e.source);
  if (s == sources_.end()) return;
  s->second.handshakes.erase(id);
  if (s->second.handshakes.empty() && s->second.clients == 0) sources_.erase(s);
}

void TransportImpl::release_source_client(const Entry& e) {
  auto s = sources_.find(e.source);
  if (s == sources_.end()) return;
  if (s->second.clients > 0) --s->second.clients;
  if (s->second.handshakes.empty() && s->second.clients == 0) sources_.erase(s);
}

void TransportImpl::dial(ReplicaId id) {
  if (stopped_) return;
  Link& link = links_.at(id);
  set_link_state(link, LinkState::kConnecting);
  ++stats_.dial_attempts;
  error_code ec;
  const auto address = asio::ip::make_address(link.address.host, ec);
  if (!ec) {
    dial_endpoints(id, {tcp::endpoint(address, link.address.port)});
    return;
  }
  // Names go through the resolver (Asio runs getaddrinfo on its own internal thread; the
  // completion still comes back on ours).
  resolver_.async_resolve(
      link.address.host, std::to_string(link.address.port),
      [self = shared_from_this(), id](const error_code& e,
                                      const tcp::resolver::results_type& results) {
        if (self->stopped_) return;
        Link& l = self->links_.at(id);
        if (e || results.empty()) {
          l.status.last_error = "resolve " + l.address.host + ": " + e.message();
          ++l.status.failures;
          ++self->stats_.dial_failures;
          self->schedule_reconnect(l);
          return;
        }
        self->dial_endpoints(id, std::vector<tcp::endpoint>(results.begin(), results.end()));
      });
}

void TransportImpl::dial_endpoints(ReplicaId id, const std::vector<tcp::endpoint>& endpoints) {
  Link& link = links_.at(id);
  const ConnectionId conn_id = next_connection_id_++;
  auto conn = std::make_shared<Connection>(
      io_, tls_, tcp::socket(io_), Connection::Direction::kOutbound, conn_id, rules_, id,
      settings(setup_.limits.replica_frame_max_bytes, setup_.limits.replica_send_queue_max_bytes,
               replica_retain_bytes()),
      this);
  connections_.emplace(conn_id, Entry{conn, false, false, false, {}});
  link.conn = conn;
  conn->start_outbound(endpoints);
}

void TransportImpl::schedule_reconnect(Link& link) {
  if (stopped_) return;
  set_link_state(link, LinkState::kBackoff);
  link.timer->expires_after(std::chrono::milliseconds(link.backoff.next_delay_ms()));
  link.timer->async_wait([self = shared_from_this(), id = link.address.id](const error_code& ec) {
    if (!ec && !self->stopped_) self->dial(id);
  });
}

void TransportImpl::set_link_state(Link& link, LinkState state) {
  link.status.state = state;
  link.status.since = std::chrono::steady_clock::now();
}

bool TransportImpl::admit_inbound(Connection& c, Entry& e) {
  const Peer& peer = c.peer();
  const auto& limits = setup_.limits;
  if (peer.is_replica()) {
    if (setup_.self && peer.replica_id == *setup_.self) return false;  // ourselves: never needed
    c.set_limits(limits.replica_frame_max_bytes, limits.replica_send_queue_max_bytes,
                 replica_retain_bytes());
    // The newest connection from a replica wins: the older one is from before its restart or a
    // network change, and may linger half-open for a long time.
    auto [it, inserted] = inbound_replica_.try_emplace(peer.replica_id, c.id());
    if (!inserted) {
      const ConnectionId old = it->second;
      it->second = c.id();
      if (auto found = connections_.find(old); found != connections_.end()) {
        auto old_conn = found->second.conn;
        ++stats_.replica_connections_replaced;
        old_conn->close(CloseReason::kReplaced);
      }
    }
    return true;
  }
  if (stats_.client_connections_open >= limits.client_connections_max) {
    ++stats_.refused_client_limit;
    return false;
  }
  auto& count = client_connections_by_principal_[peer.name];
  if (count >= limits.client_connections_per_principal_max) {
    if (count == 0) client_connections_by_principal_.erase(peer.name);
    ++stats_.refused_principal_limit;
    return false;
  }
  ++count;
  ++stats_.client_connections_open;
  ++sources_[e.source].clients;  // its handshake was charged to the source until now
  e.counted_client = true;
  c.set_limits(limits.client_frame_max_bytes, limits.client_send_queue_max_bytes, 0);
  return true;
}

void TransportImpl::on_connection_established(Connection& c) {
  auto it = connections_.find(c.id());
  if (it == connections_.end()) return;
  Entry& e = it->second;
  if (c.direction() == Connection::Direction::kInbound) {
    end_handshake(c.id(), e);
    if (!admit_inbound(c, e)) {
      c.close(CloseReason::kRefused);
      return;
    }
    e.established = true;
    ++stats_.connections_accepted;
    ++stats_.connections_open;
    if (client_reads_paused_ && !c.peer().is_replica()) c.set_reading_paused(true);
    return;
  }
  e.established = true;
  ++stats_.connections_dialed;
  ++stats_.connections_open;
  Link& link = links_.at(c.peer().replica_id);
  ++link.status.connects;
  link.status.last_error.clear();
  set_link_state(link, LinkState::kConnected);
  if (on_link) on_link(link.address.id, true);
}

void TransportImpl::pause_client_reads(bool paused) {
  client_reads_paused_ = paused;
  for (auto& [id, e] : connections_) {
    if (e.established && !e.conn->peer().is_replica()) e.conn->set_reading_paused(paused);
  }
}

void TransportImpl::on_connection_heard(Connection& c) {
  if (c.direction() != Connection::Direction::kOutbound) return;
  // Reset the back-off only once the peer has proven the link works: in TLS 1.3 a server may
  // refuse our certificate after our side of the handshake has completed, and a server that
  // refuses us must not be redialed at full speed.
  auto it = links_.find(c.peer().replica_id);
  if (it != links_.end() && it->second.conn.get() == &c) it->second.backoff.reset();
}

void TransportImpl::on_connection_frame(Connection& c, ByteView frame) {
  if (on_frame) on_frame(c.peer(), c.id(), frame);
}

void TransportImpl::on_connection_closed(Connection& c, CloseReason reason) {
  auto it = connections_.find(c.id());
  if (it == connections_.end()) return;
  Entry e = it->second;  // keeps the connection alive until this function returns
  connections_.erase(it);
  if (e.established) --stats_.connections_open;
  if (c.direction() == Connection::Direction::kInbound) {
    end_handshake(c.id(), e);
    if (e.counted_client) {
      release_source_client(e);
      --stats_.client_connections_open;
      auto p = client_connections_by_principal_.find(c.peer().name);
      if (p != client_connections_by_principal_.end() && --p->second == 0) {
        client_connections_by_principal_.erase(p);
      }
    }
    if (e.established && c.peer().is_replica()) {
      auto in = inbound_replica_.find(c.peer().replica_id);
      if (in != inbound_replica_.end() && in->second == c.id()) inbound_replica_.erase(in);
    }
  } else {
    for (auto& [id, link] : links_) {
      if (link.conn.get() != &c) continue;
      link.conn.reset();
      std::string why(reason_text(reason));
      if (!c.refusal().empty()) why += ": " + c.refusal();
      link.status.last_error = std::move(why);
      if (!e.established) {
        ++link.status.failures;
        ++stats_.dial_failures;
      } else if (on_link) {
        on_link(id, false);
      }
      schedule_reconnect(link);
      break;
    }
  }
  if (e.established && on_disconnect) on_disconnect(c.id());
}

bool TransportImpl::send_to_replica(ReplicaId id, const Frame& frame) {
  auto it = links_.find(id);
  if (it == links_.end()) {
    ++stats_.drops_unknown_destination;
    return false;
  }
  // A replica accepts client_frame_max_bytes from a client, replica_frame_max_bytes from a peer.
  const std::size_t limit =
      setup_.self ? setup_.limits.replica_frame_max_bytes : setup_.limits.client_frame_max_bytes;
  if (frame->size() > limit) {
    ++stats_.drops_too_large;
    return false;
  }
  // Frames sent while the link is still connecting wait in its queue; during back-off there is
  // no connection to hold them, and the protocol above retransmits what matters.
  Link& link = it->second;
  if (!link.conn) {
    ++stats_.drops_not_connected;
    return false;
  }
  if (link.conn->send(frame) != Connection::SendResult::kQueued) {
    ++stats_.drops_queue_full;
    return false;
  }
  return true;
}

std::size_t TransportImpl::broadcast(const Frame& frame) {
  std::size_t queued = 0;
  for (auto& [id, link] : links_) queued += send_to_replica(id, frame) ? 1 : 0;
  return queued;
}

bool TransportImpl::send_to_connection(ConnectionId id, const Frame& frame) {
  auto it = connections_.find(id);
  if (it == connections_.end() || !it->second.established) {
    ++stats_.drops_unknown_destination;
    return false;
  }
  if (frame->size() > setup_.limits.replica_frame_max_bytes) {
    ++stats_.drops_too_large;
    return false;
  }
  if (it->second.conn->send(frame) != Connection::SendResult::kQueued) {
    ++stats_.drops_queue_full;
    return false;
  }
  return true;
}

void TransportImpl::close_connection(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  auto conn = it->second.conn;
  conn->close(CloseReason::kRefused);
}

std::vector<LinkStatus> TransportImpl::links() const {
  std::vector<LinkStatus> out;
  out.reserve(links_.size());
  for (const auto& [id, link] : links_) {
    LinkStatus s = link.status;
    s.queued_bytes = link.conn ? link.conn->queued_bytes() : 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace bastion::net
