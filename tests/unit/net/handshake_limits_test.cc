// The transport against strangers who hold sockets open without speaking TLS (issue 9): the
// first-bytes deadline, per-source and global handshake slots that make room by closing the
// oldest handshake rather than refusing the newcomer, the per-source connection limit, and
// replica peers getting in while clients fill their limits and idle sockets fill the slots.
// Real sockets on 127.0.0.1, so every stranger shares the honest peers' source address. Waits are
// bounded (run_until); the only timing bounds are far above what a handshake takes.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "bft/net/client_transport.h"
#include "bft/net/replica_transport.h"
#include "tests/unit/net/net_test_support.h"

namespace bastion::net {
namespace {

using namespace testing;

// Long enough that only eviction, never a deadline, can free a slot during a test.
constexpr std::uint32_t kLongMs = 60'000;
// What an honest peer gets to complete its handshake and a frame: generous, but far below kLongMs.
constexpr auto kBounded = 8s;

// Raw TCP connections that never send a byte, each noticing when the replica closes it.
class IdleSockets {
 public:
  explicit IdleSockets(asio::io_context& io) : io_(io) {}
  ~IdleSockets() {
    for (auto& s : sockets_) {
      boost::system::error_code ignored;
      s->socket.close(ignored);
    }
  }

  void open(std::uint16_t port, std::size_t count) {
    const tcp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
    for (std::size_t i = 0; i < count; ++i) {
      sockets_.push_back(std::make_unique<Socket>(io_));
      Socket* s = sockets_.back().get();
      s->socket.async_connect(to, [s](const boost::system::error_code& ec) {
        if (ec) {
          s->closed = true;
          return;
        }
        s->connected = true;
        s->watch();
      });
    }
  }
  // Opens one and waits until the replica accepted it (so that accept order is open order).
  bool open_accepted(std::uint16_t port, const std::function<std::uint64_t()>& accepted_count) {
    const std::uint64_t before = accepted_count();
    open(port, 1);
    return run_until(
        io_, [&] { return accepted_count() > before; }, kBounded);
  }
  // Sends one byte that starts a TLS record, and nothing more.
  void send_first_byte(std::size_t i) {
    static const std::uint8_t kHandshakeRecord = 0x16;
    asio::write(sockets_.at(i)->socket, asio::buffer(&kHandshakeRecord, 1));
  }

  std::size_t size() const { return sockets_.size(); }
  std::size_t connected() const {
    std::size_t n = 0;
    for (const auto& s : sockets_) n += s->connected ? 1 : 0;
    return n;
  }
  std::size_t closed() const {
    std::size_t n = 0;
    for (const auto& s : sockets_) n += s->closed ? 1 : 0;
    return n;
  }
  bool closed(std::size_t i) const { return sockets_.at(i)->closed; }

 private:
  struct Socket {
    explicit Socket(asio::io_context& io) : socket(io) {}
    void watch() {
      socket.async_read_some(asio::buffer(buf),
                             [this](const boost::system::error_code& ec, std::size_t) {
                               if (ec) {
                                 closed = true;
                                 return;
                               }
                               watch();
                             });
    }
    tcp::socket socket;
    bool connected = false;
    bool closed = false;
    std::uint8_t buf[64];
  };

  asio::io_context& io_;
  std::vector<std::unique_ptr<Socket>> sockets_;
};

// A replica transport that records what it receives and echoes what clients send.
class EchoNode {
 public:
  EchoNode(asio::io_context& io, ReplicaTransportOptions options)
      : transport(io, std::move(options)) {
    transport.on_frame([this](const Peer& p, ConnectionId c, ByteView f) {
      received.push_back({p, text_of(f)});
      if (!p.is_replica()) transport.send_to_connection(c, frame_of("echo:" + text_of(f)));
    });
  }
  void start() {
    auto r = transport.start();
    ASSERT_TRUE(r.ok()) << r.error();
  }
  bool connected_to(ReplicaId id) const {
    for (const auto& l : transport.links()) {
      if (l.replica == id) return l.state == LinkState::kConnected;
    }
    return false;
  }
  bool received_from_replica(ReplicaId id, const std::string& text) const {
    for (const auto& [peer, t] : received) {
      if (peer.is_replica() && peer.replica_id == id && t == text) return true;
    }
    return false;
  }

  ReplicaTransport transport;
  std::vector<std::pair<Peer, std::string>> received;
};

// A client that says "ping" to replica 0 as soon as its link is up and records the replies.
class PingClient {
 public:
  PingClient(asio::io_context& io, ClientTransportOptions options)
      : transport(io, std::move(options)) {
    transport.on_frame([this](ReplicaId, ByteView f) { replies.push_back(text_of(f)); });
    transport.on_link_change([this](ReplicaId id, bool up) {
      if (id == 0 && up) transport.send_to_replica(0, frame_of("ping"));
    });
  }
  void start() { ASSERT_TRUE(transport.start().ok()); }
  bool answered() const {
    for (const auto& r : replies) {
      if (r == "echo:ping") return true;
    }
    return false;
  }

  ClientTransport transport;
  std::vector<std::string> replies;
};

class HandshakeLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new TestCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    assign_free_ports(const_cast<config::ClusterConfig&>(cluster_->config()));
  }
  const TestCluster& cluster() { return *cluster_; }

  // Replica `id` whose deadlines never fire during a test: only eviction frees a slot.
  ReplicaTransportOptions patient_replica(ReplicaId id) {
    ReplicaTransportOptions o = cluster().replica_options(id);
    o.limits.handshake_timeout_ms = kLongMs;
    o.limits.first_bytes_timeout_ms = kLongMs;
    return o;
  }

  // Floods replica 0 with `idle` silent sockets, waits until it accepted all of them (holding
  // `held` handshake slots), then checks that an honest client gets a reply in bounded time.
  void honest_client_gets_in_past(std::size_t idle, ReplicaTransportOptions options,
                                  std::uint64_t held) {
    EchoNode r0(io_, std::move(options));
    r0.start();
    IdleSockets flood(io_);
    flood.open(r0.transport.local_port(), idle);
    ASSERT_TRUE(run_until(
        io_,
        [&] {
          const auto s = r0.transport.stats();
          return s.handshakes_in_progress == held && s.evicted_handshakes == idle - held;
        },
        kBounded))
        << "in progress " << r0.transport.stats().handshakes_in_progress << ", evicted "
        << r0.transport.stats().evicted_handshakes;
    ASSERT_TRUE(run_until(
        io_, [&] { return flood.closed() == idle - held; }, kBounded));

    PingClient client(io_, cluster().client_options("client1"));
    client.start();
    ASSERT_TRUE(run_until(
        io_, [&] { return client.answered(); }, kBounded))
        << "evicted " << r0.transport.stats().evicted_handshakes;
    const auto s = r0.transport.stats();
    EXPECT_EQ(s.connections_accepted, 1u);
    EXPECT_EQ(s.client_connections_open, 1u);
    // The client's handshake took the slot of the oldest idle socket, and nothing else.
    EXPECT_EQ(s.evicted_handshakes, idle - held + 1);
    EXPECT_EQ(s.handshakes_in_progress, held - 1);
    EXPECT_EQ(s.first_bytes_timeouts + s.handshake_timeouts, 0u);
    ASSERT_TRUE(run_until(
        io_, [&] { return flood.closed() == idle - held + 1; }, kBounded));
  }

  asio::io_context io_;
  static TestCluster* cluster_;
};

TestCluster* HandshakeLimitsTest::cluster_ = nullptr;

TEST_F(HandshakeLimitsTest, ClientGetsInWhileIdleSocketsFromItsAddressHoldEverySlot) {
  // 300 idle sockets from 127.0.0.1 against the default limits: the per-source slots (128) are
  // the ones full, and the client comes from the same address.
  const ReplicaTransportOptions o = patient_replica(0);
  ASSERT_EQ(o.limits.handshakes_per_source_max, 128u);
  honest_client_gets_in_past(300, o, 128);
}

TEST_F(HandshakeLimitsTest, ClientGetsInWhileIdleSocketsHoldEveryGlobalSlot) {
  ReplicaTransportOptions o = patient_replica(0);
  o.limits.handshakes_per_source_max = 100'000;
  o.limits.connections_per_source_max = 100'000;
  ASSERT_EQ(o.limits.handshakes_in_progress_max, 256u);
  honest_client_gets_in_past(300, o, 256);
}

TEST_F(HandshakeLimitsTest, SilentConnectionIsClosedAfterTheFirstBytesDeadline) {
  ReplicaTransportOptions o = cluster().replica_options(0);
  o.limits.first_bytes_timeout_ms = 200;
  o.limits.handshake_timeout_ms = 1500;
  EchoNode r0(io_, o);
  r0.start();
  IdleSockets sockets(io_);
  sockets.open(r0.transport.local_port(), 2);
  ASSERT_TRUE(run_until(
      io_, [&] { return sockets.connected() == 2; }, kBounded));
  sockets.send_first_byte(1);  // has spoken: keeps the whole handshake deadline

  ASSERT_TRUE(run_until(
      io_, [&] { return r0.transport.stats().first_bytes_timeouts == 1 && sockets.closed(0); },
      kBounded));
  EXPECT_EQ(r0.transport.stats().handshake_timeouts, 0u);
  EXPECT_FALSE(sockets.closed(1));

  ASSERT_TRUE(run_until(
      io_, [&] { return r0.transport.stats().handshake_timeouts == 1 && sockets.closed(1); },
      kBounded));
  const auto s = r0.transport.stats();
  EXPECT_EQ(s.first_bytes_timeouts, 1u);
  EXPECT_EQ(s.handshakes_in_progress, 0u);
  EXPECT_EQ(s.evicted_handshakes, 0u);

  // A peer that speaks at once is not affected by the short deadline.
  PingClient client(io_, cluster().client_options("client1"));
  client.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return client.answered(); }, kBounded));
}

TEST_F(HandshakeLimitsTest, PerSourceHandshakeLimitEvictsTheOldest) {
  ReplicaTransportOptions o = patient_replica(0);
  o.limits.handshakes_per_source_max = 4;
  EchoNode r0(io_, o);
  r0.start();
  const std::uint16_t port = r0.transport.local_port();
  IdleSockets sockets(io_);
  auto in_progress = [&] { return r0.transport.stats().handshakes_in_progress; };
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sockets.open_accepted(port, in_progress)) << i;

  auto evicted = [&] { return r0.transport.stats().evicted_handshakes; };
  // Each newcomer closes the oldest handshake of its source, in order of arrival.
  for (std::size_t next = 4; next < 7; ++next) {
    ASSERT_TRUE(sockets.open_accepted(port, evicted)) << next;
    const std::size_t oldest = next - 4;
    ASSERT_TRUE(run_until(
        io_, [&] { return sockets.closed(oldest); }, kBounded))
        << next;
    for (std::size_t i = oldest + 1; i <= next; ++i) EXPECT_FALSE(sockets.closed(i)) << i;
    EXPECT_EQ(in_progress(), 4u);
    EXPECT_EQ(evicted(), oldest + 1);
  }
  EXPECT_EQ(r0.transport.stats().first_bytes_timeouts, 0u);
}

TEST_F(HandshakeLimitsTest, GlobalHandshakeLimitEvictsTheOldest) {
  ReplicaTransportOptions o = patient_replica(0);
  o.limits.handshakes_in_progress_max = 3;
  EchoNode r0(io_, o);
  r0.start();
  const std::uint16_t port = r0.transport.local_port();
  IdleSockets sockets(io_);
  auto in_progress = [&] { return r0.transport.stats().handshakes_in_progress; };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sockets.open_accepted(port, in_progress)) << i;
  ASSERT_TRUE(sockets.open_accepted(port, [&] { return r0.transport.stats().evicted_handshakes; }));
  ASSERT_TRUE(run_until(
      io_, [&] { return sockets.closed(0); }, kBounded));
  EXPECT_FALSE(sockets.closed(1));
  EXPECT_FALSE(sockets.closed(3));
  EXPECT_EQ(in_progress(), 3u);
}

TEST_F(HandshakeLimitsTest, PerSourceConnectionLimitCountsClientsAndHandshakes) {
  ReplicaTransportOptions o = patient_replica(0);
  o.limits.connections_per_source_max = 3;
  EchoNode r0(io_, o);
  r0.start();
  const std::uint16_t port = r0.transport.local_port();
  PingClient client(io_, cluster().client_options("client1"));
  client.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return client.answered(); }, kBounded));

  // One client holds one of the address's three places: two handshakes fit, a third evicts.
  IdleSockets sockets(io_);
  auto in_progress = [&] { return r0.transport.stats().handshakes_in_progress; };
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(sockets.open_accepted(port, in_progress)) << i;
  ASSERT_TRUE(sockets.open_accepted(port, [&] { return r0.transport.stats().evicted_handshakes; }));
  ASSERT_TRUE(run_until(
      io_, [&] { return sockets.closed(0); }, kBounded));
  EXPECT_FALSE(sockets.closed(1));
  EXPECT_FALSE(sockets.closed(2));

  // Three established clients fill the address: nothing to evict, so a newcomer is refused.
  PingClient second(io_, cluster().client_options("client2"));
  second.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return second.answered(); }, kBounded));
  PingClient third(io_, cluster().client_options("client3"));
  third.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return third.answered(); }, kBounded));
  EXPECT_EQ(r0.transport.stats().client_connections_open, 3u);
  EXPECT_EQ(r0.transport.stats().evicted_handshakes, 3u);  // the idle sockets made room
  IdleSockets refused(io_);
  refused.open(port, 1);
  ASSERT_TRUE(run_until(
      io_, [&] { return r0.transport.stats().refused_source_limit == 1 && refused.closed(0); },
      kBounded));
  EXPECT_EQ(r0.transport.stats().handshakes_in_progress, 0u);
}

TEST_F(HandshakeLimitsTest, ReplicaGetsInWhileSlotsAreFloodedAndClientSlotsAreFull) {
  ReplicaTransportOptions o = patient_replica(0);
  o.limits.client_connections_max = 1;
  EchoNode r0(io_, o);
  r0.start();
  const std::uint16_t port = r0.transport.local_port();
  PingClient client(io_, cluster().client_options("client1"));
  client.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return client.answered(); }, kBounded));

  IdleSockets flood(io_);
  flood.open(port, 300);
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        const auto s = r0.transport.stats();
        return s.handshakes_in_progress == 128 && s.evicted_handshakes == 300 - 128;
      },
      kBounded));

  // Replica 1 starts (or restarts) twice while the slots are full and no client place is left.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    const std::uint64_t accepted = r0.transport.stats().connections_accepted;
    EchoNode r1(io_, patient_replica(1));
    r1.start();
    ASSERT_TRUE(run_until(
        io_, [&] { return r1.connected_to(0) && r0.connected_to(1); }, kBounded));
    const std::string hello = "hello " + std::to_string(round);
    ASSERT_TRUE(r1.transport.send_to_replica(0, frame_of(hello)));
    ASSERT_TRUE(run_until(
        io_, [&] { return r0.received_from_replica(1, hello); }, kBounded));
    EXPECT_EQ(r0.transport.stats().connections_accepted, accepted + 1);
    EXPECT_EQ(r0.transport.stats().client_connections_open, 1u);
    EXPECT_EQ(r0.transport.stats().handshakes_in_progress, 127u);
    flood.open(port, 1);  // the slot the replica took is filled again
    ASSERT_TRUE(run_until(
        io_, [&] { return r0.transport.stats().handshakes_in_progress == 128; }, kBounded));
  }
  // A second client, by contrast, is refused by the client limit.
  PingClient other(io_, cluster().client_options("client2"));
  other.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return r0.transport.stats().refused_client_limit >= 1; }, kBounded));
  EXPECT_FALSE(other.answered());
}

}  // namespace
}  // namespace bastion::net
