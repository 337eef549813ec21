// One TLS channel: handshake, peer identification, framed reads, coalesced writes (frames sent
// during one handler turn leave together), keep-alives
// (internal header; the transports own connections).
//
// Life cycle: created by a transport for an accepted socket (inbound) or to dial a replica
// (outbound) -> an inbound connection first waits for the peer's first byte, for at most
// first_bytes_timeout_ms -> handshake, finished within handshake_timeout_ms of the accept or of
// the dial (connect included), during which the peer's certificate is classified by PeerRules
// inside the TLS verify callback, so a refused peer fails the handshake itself -> established:
// frames flow both ways; every keepalive_ms/2 a tick sends a keep-alive if nothing was written for
// keepalive_ms and closes the channel if nothing was read for 3 x keepalive_ms -> closed, exactly
// once, with a CloseReason.
//
// Reading may be paused (back-pressure): no frame is delivered and no read is issued until it
// resumes, so the kernel's buffers fill and TCP stops the peer's writes. A read already in flight
// completes into the buffer; its frames wait for the resume. Writes and keep-alives go on, and a
// paused connection is not closed for its silence.
//
// Ownership: asynchronous operations hold a shared_ptr to their connection, so it lives until
// the last completes. The owner (a transport) is told of establishment, frames and the close;
// detach() cuts that link, after which the connection never calls its owner again.
//
// Thread-safety: none; every call and completion runs on the io_context's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/net/asio.h"
#include "bft/net/frame.h"
#include "bft/net/peer.h"
#include "bft/net/stats.h"

namespace bastion::net {

enum class CloseReason : std::uint8_t {
  kPeerClosed,         // EOF or a network error
  kHandshakeFailed,    // TLS or certificate checks failed
  kHandshakeTimeout,   // connect + handshake took too long
  kFirstBytesTimeout,  // accepted, and the peer sent nothing
  kEvicted,            // still handshaking when the slots were full and a newer one came
  kOversizedFrame,
  kIdleTimeout,
  kRefused,   // over a connection limit, or not wanted
  kReplaced,  // a newer connection from the same replica
  kStopped,   // the transport is stopping
};

class Connection;

class ConnectionOwner {
 public:
  virtual void on_connection_established(Connection& c) = 0;
  // The first bytes after the handshake (a frame or a keep-alive): the peer really talks to us.
  virtual void on_connection_heard(Connection& c) = 0;
  virtual void on_connection_frame(Connection& c, ByteView frame) = 0;
  virtual void on_connection_closed(Connection& c, CloseReason reason) = 0;
  virtual TransportStats& mutable_stats() = 0;

 protected:
  ~ConnectionOwner() = default;
};

struct ConnectionSettings {
  std::size_t frame_max_bytes = 0;       // frames we accept from the peer
  std::size_t send_queue_max_bytes = 0;  // frames queued towards the peer
  std::uint32_t keepalive_ms = 1000;
  std::uint32_t handshake_timeout_ms = 5000;
  std::uint32_t first_bytes_timeout_ms = 1000;  // inbound only; capped by handshake_timeout_ms
  std::size_t write_chunk_bytes = 64u << 10;
  std::size_t read_buffer_bytes = 16u << 10;
  std::size_t read_retain_bytes = 0;  // a drained read buffer up to this size is kept
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class Direction : std::uint8_t { kInbound, kOutbound };
  enum class SendResult : std::uint8_t { kQueued, kQueueFull, kNotOpen };

  Connection(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, tcp::socket socket,
             Direction direction, ConnectionId id, std::shared_ptr<const PeerRules> rules,
             std::optional<ReplicaId> expected_replica, const ConnectionSettings& settings,
             ConnectionOwner* owner);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start_inbound();
  void start_outbound(const std::vector<tcp::endpoint>& endpoints);

  SendResult send(Frame frame);
  void close(CloseReason reason);
  void detach() { owner_ = nullptr; }
  // Pauses or resumes reading (see above). A resume delivers the buffered frames after the
  // handlers that are ready now, never from inside this call.
  void set_reading_paused(bool paused);
  // Applied once the peer is known (inbound connections learn what the peer is at handshake).
  void set_limits(std::size_t frame_max_bytes, std::size_t send_queue_max_bytes,
                  std::size_t read_retain_bytes);

  ConnectionId id() const { return id_; }
  Direction direction() const { return direction_; }
  bool established() const { return state_ == State::kEstablished; }
  bool closed() const { return state_ == State::kClosed; }
  const Peer& peer() const { return peer_; }  // valid once established
  // Why the handshake failed, when the verify callback said so (for status and logs).
  const std::string& refusal() const { return refusal_; }
  std::size_t queued_bytes() const { return queue_.queued_bytes(); }

 private:
  // kConnecting: dialing (outbound) or waiting for the peer's first byte (inbound).
  enum class State : std::uint8_t { kConnecting, kHandshaking, kEstablished, kClosed };
  using Clock = std::chrono::steady_clock;

  // Closes the connection with `reason` if it is not established by `at`. Re-arming moves the
  // deadline; a wait that already fired for an earlier one finds it moved and does nothing.
  void arm_deadline(Clock::time_point at, CloseReason reason);
  void on_first_bytes(const error_code& ec);
  void handshake();
  void on_handshake(const error_code& ec);
  bool on_verify(bool preverified, asio::ssl::verify_context& ctx);
  void arm_tick();
  void on_tick();
  void read();
  void on_read(const error_code& ec, std::size_t bytes);
  // Hands the buffered frames to the owner, then reads more; stops while paused.
  void deliver();
  void write();
  void on_write(const error_code& ec, std::size_t bytes);
  void finish(CloseReason reason);

  asio::ssl::stream<tcp::socket> stream_;
  std::shared_ptr<asio::ssl::context> tls_;  // outlives the stream's SSL object
  asio::steady_timer timer_;
  const Direction direction_;
  const ConnectionId id_;
  const std::shared_ptr<const PeerRules> rules_;
  const std::optional<ReplicaId> expected_replica_;
  ConnectionSettings settings_;
  ConnectionOwner* owner_;

  State state_ = State::kConnecting;
  Peer peer_;
  std::optional<Peer> verified_peer_;
  std::string refusal_;

  FrameReader reader_;
  SendQueue queue_;
  std::vector<std::uint8_t> write_buf_;
  std::size_t write_frames_ = 0;  // frames completed by the chunk being written
  bool writing_ = false;
  bool write_posted_ = false;  // a write() is posted behind the current handlers
  bool heard_ = false;
  bool reading_ = false;  // an async read is in flight
  bool reading_paused_ = false;
  Clock::time_point started_;  // accepted or dialed: the handshake deadline counts from here
  Clock::time_point deadline_;
  CloseReason deadline_reason_ = CloseReason::kHandshakeTimeout;
  Clock::time_point last_read_;
  Clock::time_point last_write_;
};

}  // namespace bastion::net
