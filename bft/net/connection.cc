#include "bft/net/connection.h"

#include <openssl/x509_vfy.h>

#include <algorithm>

namespace bastion::net {

Connection::Connection(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls,
                       tcp::socket socket, Direction direction, ConnectionId id,
                       std::shared_ptr<const PeerRules> rules,
                       std::optional<ReplicaId> expected_replica,
                       const ConnectionSettings& settings, ConnectionOwner* owner)
    : stream_(std::move(socket), *tls),
      tls_(std::move(tls)),
      timer_(io),
      direction_(direction),
      id_(id),
      rules_(std::move(rules)),
      expected_replica_(expected_replica),
      settings_(settings),
      owner_(owner),
      reader_(settings.frame_max_bytes, settings.read_buffer_bytes, settings.read_retain_bytes),
      queue_(settings.send_queue_max_bytes) {}

Connection::~Connection() = default;

void Connection::set_limits(std::size_t frame_max_bytes, std::size_t send_queue_max_bytes,
                            std::size_t read_retain_bytes) {
  settings_.frame_max_bytes = frame_max_bytes;
  settings_.send_queue_max_bytes = send_queue_max_bytes;
  settings_.read_retain_bytes = read_retain_bytes;
  reader_.set_frame_max_bytes(frame_max_bytes);
  reader_.set_retain_bytes(read_retain_bytes);
  queue_.set_max_bytes(send_queue_max_bytes);
}

void Connection::start_inbound() {
  // A squatter that never speaks is closed early; a peer that has spoken keeps the whole
  // handshake deadline, counted from the accept.
  started_ = Clock::now();
  const std::uint32_t first_ms =
      std::min(settings_.first_bytes_timeout_ms, settings_.handshake_timeout_ms);
  arm_deadline(started_ + std::chrono::milliseconds(first_ms),
               first_ms < settings_.handshake_timeout_ms ? CloseReason::kFirstBytesTimeout
                                                         : CloseReason::kHandshakeTimeout);
  stream_.lowest_layer().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](const error_code& ec) { self->on_first_bytes(ec); });
}

void Connection::on_first_bytes(const error_code& ec) {
  if (closed()) return;
  if (ec) {
    close(CloseReason::kPeerClosed);
    return;
  }
  // Readable also means EOF: then the handshake fails at once, which is what we want.
  arm_deadline(started_ + std::chrono::milliseconds(settings_.handshake_timeout_ms),
               CloseReason::kHandshakeTimeout);
  handshake();
}

void Connection::start_outbound(const std::vector<tcp::endpoint>& endpoints) {
  started_ = Clock::now();
  arm_deadline(started_ + std::chrono::milliseconds(settings_.handshake_timeout_ms),
               CloseReason::kHandshakeTimeout);
  asio::async_connect(stream_.lowest_layer(), endpoints,
                      [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
                        if (self->closed()) return;
                        if (ec) {
                          self->refusal_ = "connect: " + ec.message();
                          self->close(CloseReason::kPeerClosed);
                          return;
                        }
                        self->handshake();
                      });
}

void Connection::arm_deadline(Clock::time_point at, CloseReason reason) {
  deadline_ = at;
  deadline_reason_ = reason;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->established() || self->closed()) return;
    if (Clock::now() < self->deadline_) return;  // moved later since this wait was armed
    self->close(self->deadline_reason_);
  });
}

void Connection::handshake() {
  state_ = State::kHandshaking;
  error_code ignored;
  stream_.lowest_layer().set_option(tcp::no_delay(true), ignored);
  stream_.set_verify_callback(
      [this](bool preverified, asio::ssl::verify_context& ctx) {
        return on_verify(preverified, ctx);
      },
      ignored);
  const auto type = direction_ == Direction::kInbound ? asio::ssl::stream_base::server
                                                      : asio::ssl::stream_base::client;
  stream_.async_handshake(
      type, [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
}

bool Connection::on_verify(bool preverified, asio::ssl::verify_context& ctx) {
  X509_STORE_CTX* store = ctx.native_handle();
  if (!preverified) {
    refusal_ = std::string("certificate: ") +
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    return false;
  }
  // Depth 1 is the cluster CA itself, already trusted; the peer is the leaf at depth 0.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
  auto peer = rules_->classify(X509_STORE_CTX_get_current_cert(store), expected_replica_);
  if (!peer) {
    refusal_ = peer.error();
    return false;
  }
  verified_peer_ = std::move(*peer);
  return true;
}

void Connection::on_handshake(const error_code& ec) {
  if (closed()) return;
  if (ec || !verified_peer_) {
    if (refusal_.empty()) refusal_ = "handshake: " + (ec ? ec.message() : "no peer certificate");
    close(CloseReason::kHandshakeFailed);
    return;
  }
  peer_ = std::move(*verified_peer_);
  state_ = State::kEstablished;
  last_read_ = last_write_ = Clock::now();
  timer_.cancel();
  if (owner_ != nullptr) owner_->on_connection_established(*this);
  if (closed()) return;  // the owner refused it
  arm_tick();
  deliver();
  write();
}

void Connection::arm_tick() {
  timer_.expires_after(
      std::chrono::milliseconds(std::max<std::uint32_t>(1, settings_.keepalive_ms / 2)));
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->on_tick();
  });
}

void Connection::on_tick() {
  if (!established()) return;
  const auto now = Clock::now();
  const auto keepalive = std::chrono::milliseconds(settings_.keepalive_ms);
  if (!reading_paused_ && now - last_read_ >= 3 * keepalive) {
    close(CloseReason::kIdleTimeout);
    return;
  }
  if (!writing_ && queue_.empty() && now - last_write_ >= keepalive) {
    queue_.push_keepalive();
    write();
  }
  arm_tick();
}

void Connection::read() {
  reading_ = true;
  const auto space = reader_.prepare();
  stream_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const error_code& ec, std::size_t bytes) {
  reading_ = false;
  if (closed()) return;
  if (ec) {
    close(CloseReason::kPeerClosed);
    return;
  }
  reader_.commit(bytes);
  last_read_ = Clock::now();
  if (owner_ == nullptr) return;
  owner_->mutable_stats().bytes_in += bytes;
  if (!heard_ && bytes != 0) {
    heard_ = true;
    owner_->on_connection_heard(*this);
    if (closed()) return;
  }
  deliver();
}

void Connection::deliver() {
  while (!reading_paused_ && !reading_) {
    ByteView frame;
    const auto status = reader_.next(frame);
    if (status == FrameReader::Status::kNeedMore) {
      read();
      return;
    }
    if (status == FrameReader::Status::kOversized) {
      close(CloseReason::kOversizedFrame);
      return;
    }
    if (owner_ == nullptr) return;
    if (status == FrameReader::Status::kKeepalive) {
      ++owner_->mutable_stats().keepalives_in;
      continue;
    }
    ++owner_->mutable_stats().frames_in;
    owner_->on_connection_frame(*this, frame);
    if (closed()) return;  // the owner (or its callback) closed us
  }
}

void Connection::set_reading_paused(bool paused) {
  if (paused == reading_paused_) return;
  reading_paused_ = paused;
  if (paused || !established()) return;
  last_read_ = Clock::now();  // the silence while paused was ours
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->closed()) self->deliver();
  });
}

Connection::SendResult Connection::send(Frame frame) {
  if (state_ == State::kClosed) return SendResult::kNotOpen;
  if (!queue_.push(std::move(frame))) return SendResult::kQueueFull;
  // The write starts after the handlers that are ready now, so that every frame queued by this
  // turn (a node's flush sends a whole burst) leaves in one TLS record and one system call.
  if (established() && !writing_ && !write_posted_) {
    write_posted_ = true;
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->write_posted_ = false;
      self->write();
    });
  }
  return SendResult::kQueued;
}

void Connection::write() {
  if (writing_ || !established() || queue_.empty()) return;
  write_buf_.clear();
  const auto filled = queue_.fill(write_buf_, settings_.write_chunk_bytes);
  write_frames_ = filled.frames - filled.keepalives;
  if (owner_ != nullptr) owner_->mutable_stats().keepalives_out += filled.keepalives;
  writing_ = true;
  asio::async_write(
      stream_, asio::buffer(write_buf_),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_write(ec, n); });
}

void Connection::on_write(const error_code& ec, std::size_t bytes) {
  writing_ = false;
  if (closed()) return;
  if (ec) {
    close(CloseReason::kPeerClosed);
    return;
  }
  last_write_ = Clock::now();
  if (owner_ != nullptr) {
    auto& stats = owner_->mutable_stats();
    stats.bytes_out += bytes;
    stats.frames_out += write_frames_;
  }
  write();
}

void Connection::close(CloseReason reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  error_code ignored;
  timer_.cancel();
  // Closing the socket aborts the pending read and write; their handlers see closed() and stop.
  stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  queue_.clear();
  finish(reason);
}

void Connection::finish(CloseReason reason) {
  ConnectionOwner* owner = owner_;
  owner_ = nullptr;
  if (owner == nullptr) return;
  auto& stats = owner->mutable_stats();
  switch (reason) {
    case CloseReason::kHandshakeFailed:
      ++stats.handshake_failures;
      break;
    case CloseReason::kHandshakeTimeout:
      ++stats.handshake_timeouts;
      break;
    case CloseReason::kFirstBytesTimeout:
      ++stats.first_bytes_timeouts;
      break;
    case CloseReason::kEvicted:
      ++stats.evicted_handshakes;
      break;
    case CloseReason::kOversizedFrame:
      ++stats.oversized_frames;
      break;
    case CloseReason::kIdleTimeout:
      ++stats.idle_timeouts;
      break;
    default:
      break;
  }
  owner->on_connection_closed(*this, reason);
}

}  // namespace bastion::net
