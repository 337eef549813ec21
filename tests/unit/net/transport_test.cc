// ReplicaTransport and ClientTransport on 127.0.0.1: frames both ways, replies on the client's
// connection, refused certificates, oversized frames, garbage, full queues, keep-alives, limits
// and reconnects. Every wait is bounded (run_until), so a failure is a failed assertion, not a
// hang.
#include <gtest/gtest.h>

#include <algorithm>

#include "bft/net/client_transport.h"
#include "bft/net/replica_transport.h"
#include "config/pki.h"
#include "tests/unit/net/net_test_support.h"

namespace bastion::net {
namespace {

using namespace testing;

struct Received {
  Peer peer;
  ConnectionId connection;
  std::string text;
};

// A replica transport that records what it receives.
class Node {
 public:
  Node(asio::io_context& io, ReplicaTransportOptions options) : transport(io, std::move(options)) {
    transport.on_frame([this](const Peer& p, ConnectionId c, ByteView f) {
      received.push_back({p, c, text_of(f)});
      if (echo) transport.send_to_connection(c, frame_of("echo:" + text_of(f)));
    });
    transport.on_disconnect([this](ConnectionId c) { disconnected.push_back(c); });
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

  ReplicaTransport transport;
  std::vector<Received> received;
  std::vector<ConnectionId> disconnected;
  bool echo = false;
};

class TransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new TestCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  // Fresh ports for every test, so a test never meets the previous one's sockets.
  void SetUp() override {
    assign_free_ports(const_cast<config::ClusterConfig&>(cluster_->config()));
  }
  const TestCluster& cluster() { return *cluster_; }

  asio::io_context io_;
  static TestCluster* cluster_;
};

TestCluster* TransportTest::cluster_ = nullptr;

TEST_F(TransportTest, TwoReplicasExchangeFramesBothWays) {
  Node a(io_, cluster().replica_options(0));
  Node b(io_, cluster().replica_options(1));
  a.start();
  b.start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1) && b.connected_to(0); }));
  EXPECT_TRUE(a.transport.send_to_replica(1, frame_of("hello from 0")));
  EXPECT_TRUE(b.transport.send_to_replica(0, frame_of("hello from 1")));
  ASSERT_TRUE(run_until(io_, [&] { return !a.received.empty() && !b.received.empty(); }));
  EXPECT_EQ(b.received[0].text, "hello from 0");
  EXPECT_TRUE(b.received[0].peer.is_replica());
  EXPECT_EQ(b.received[0].peer.replica_id, 0u);
  EXPECT_EQ(b.received[0].peer.name, "replica-0");
  EXPECT_EQ(a.received[0].text, "hello from 1");
  EXPECT_EQ(a.received[0].peer.replica_id, 1u);

  // Many frames keep their order and boundaries.
  for (int i = 0; i < 1000; ++i) a.transport.send_to_replica(1, frame_of(std::to_string(i)));
  ASSERT_TRUE(run_until(io_, [&] { return b.received.size() == 1001; }));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.received[1 + i].text, std::to_string(i));
  EXPECT_GE(a.transport.stats().frames_out, 1001u);
  EXPECT_EQ(b.transport.stats().frames_in, 1001u);

  // Unknown destinations and our own id are refused and counted.
  EXPECT_FALSE(a.transport.send_to_replica(0, frame_of("self")));
  EXPECT_FALSE(a.transport.send_to_replica(9, frame_of("nobody")));
  EXPECT_EQ(a.transport.stats().drops_unknown_destination, 2u);
}

TEST_F(TransportTest, LargeFramesCrossIntact) {
  Node a(io_, cluster().replica_options(0));
  Node b(io_, cluster().replica_options(1));
  a.start();
  b.start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1); }));
  Bytes big(3u << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 131 + 7);
  ASSERT_TRUE(a.transport.send_to_replica(1, make_frame(big)));
  ASSERT_TRUE(a.transport.send_to_replica(1, frame_of("after")));
  ASSERT_TRUE(run_until(io_, [&] { return b.received.size() == 2; }));
  EXPECT_EQ(b.received[0].text, std::string(big.begin(), big.end()));
  EXPECT_EQ(b.received[1].text, "after");
}

TEST_F(TransportTest, ClientGetsTheReplyOnItsConnection) {
  Node r0(io_, cluster().replica_options(0));
  r0.echo = true;
  r0.start();
  ClientTransport client(io_, cluster().client_options("client1"));
  std::vector<std::pair<ReplicaId, std::string>> replies;
  client.on_frame([&](ReplicaId id, ByteView f) { replies.emplace_back(id, text_of(f)); });
  ASSERT_TRUE(client.start().ok());
  EXPECT_EQ(client.principal(), "client1");
  ASSERT_TRUE(run_until(io_, [&] { return client.links()[0].state == LinkState::kConnected; }));
  EXPECT_TRUE(client.send_to_replica(0, frame_of("ping")));
  ASSERT_TRUE(run_until(io_, [&] { return !replies.empty(); }));
  ASSERT_EQ(r0.received.size(), 1u);
  EXPECT_EQ(r0.received[0].peer.kind, PeerKind::kClient);
  EXPECT_EQ(r0.received[0].peer.name, "client1");
  EXPECT_EQ(replies[0], (std::pair<ReplicaId, std::string>{0, "echo:ping"}));
  EXPECT_EQ(r0.transport.stats().client_connections_open, 1u);

  // The other replicas are down: their links report it, and frames to them are dropped.
  const auto links = client.links();
  ASSERT_EQ(links.size(), 4u);
  EXPECT_NE(links[1].state, LinkState::kConnected);
  EXPECT_FALSE(links[1].last_error.empty());

  // Closing the client is seen by the replica as a disconnect of that connection.
  const ConnectionId conn = r0.received[0].connection;
  client.stop();
  ASSERT_TRUE(run_until(io_, [&] { return !r0.disconnected.empty(); }));
  EXPECT_EQ(r0.disconnected[0], conn);
  EXPECT_FALSE(r0.transport.send_to_connection(conn, frame_of("late")));
  EXPECT_EQ(r0.transport.stats().client_connections_open, 0u);
}

TEST_F(TransportTest, ClientWithCertificateFromAnotherCaIsRefused) {
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  TestCluster other(1);
  const auto id = other.config().identity_dir("client1");
  RawTlsClient raw(io_, id / "cert.pem", id / "key.pem");
  raw.connect(r0.transport.local_port());
  ASSERT_TRUE(run_until(io_, [&] { return raw.closed; }));
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().handshake_failures == 1; }));
  EXPECT_TRUE(r0.received.empty());
  EXPECT_EQ(r0.transport.stats().connections_accepted, 0u);

  // The real client transport refuses to even start with a certificate its CA did not issue.
  ClientTransportOptions o = cluster().client_options("client1");
  o.tls.cert = id / "cert.pem";
  o.tls.key = id / "key.pem";
  ClientTransport client(io_, o);
  auto started = client.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("not valid for the cluster CA"), std::string::npos)
      << started.error();
}

// Issues a certificate from the cluster's CA for `cn` with a fresh key, into `dir`.
void issue(const TestCluster& cluster, const std::string& cn, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto ca_cert = config::pki::read_certificate(cluster.config().ca_cert);
  auto ca_key = config::pki::read_private_key(cluster.dir() / "ca" / "key.pem");
  auto key = config::pki::generate_ed25519_key();
  auto cert =
      config::pki::issue_certificate(*ca_cert, *ca_key, *key, cn, config::pki::LeafKind::kReplica);
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(config::pki::write_certificate(dir / "cert.pem", *cert).ok());
  ASSERT_TRUE(config::pki::write_private_key(dir / "key.pem", *key).ok());
}

TEST_F(TransportTest, ClientWithoutCertificateOrWithExpiredOneIsRefused) {
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  RawTlsClient anonymous(io_, {}, {});
  anonymous.connect(r0.transport.local_port());
  anonymous.write(frame_bytes(2, "hi"));
  ASSERT_TRUE(run_until(io_, [&] { return anonymous.closed; }));
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().handshake_failures == 1; }));

  // A certificate from the right CA whose validity ended an hour ago.
  const auto dir = cluster().root() / "expired";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto ca_cert = config::pki::read_certificate(cluster().config().ca_cert);
  auto ca_key = config::pki::read_private_key(cluster().dir() / "ca" / "key.pem");
  auto key = config::pki::generate_ed25519_key();
  auto cert = config::pki::issue_certificate(*ca_cert, *ca_key, *key, "late-client",
                                             config::pki::LeafKind::kClient);
  ASSERT_TRUE(cert.ok());
  X509_gmtime_adj(X509_getm_notBefore(cert->get()), -7200);
  X509_gmtime_adj(X509_getm_notAfter(cert->get()), -3600);
  ASSERT_GT(X509_sign(cert->get(), ca_key->get(), nullptr), 0);
  ASSERT_TRUE(config::pki::write_certificate(dir / "cert.pem", *cert).ok());
  ASSERT_TRUE(config::pki::write_private_key(dir / "key.pem", *key).ok());
  RawTlsClient expired(io_, dir / "cert.pem", dir / "key.pem");
  expired.connect(r0.transport.local_port());
  expired.write(frame_bytes(2, "hi"));
  ASSERT_TRUE(run_until(io_, [&] { return expired.closed; }));
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().handshake_failures == 2; }));
  EXPECT_TRUE(r0.received.empty());
}

TEST_F(TransportTest, ReplicaNameWithoutThePinnedKeyIsRefused) {
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  const auto dir = cluster().root() / "impostors";
  std::filesystem::remove_all(dir);
  issue(cluster(), "replica-1", dir / "r1");    // right name, wrong key
  issue(cluster(), "replica-01", dir / "r01");  // not a canonical replica name
  issue(cluster(), "replica-9", dir / "r9");    // not a configured replica
  int expected_failures = 0;
  for (const char* who : {"r1", "r01", "r9"}) {
    RawTlsClient raw(io_, dir / who / "cert.pem", dir / who / "key.pem");
    raw.connect(r0.transport.local_port());
    ++expected_failures;
    ASSERT_TRUE(run_until(io_, [&] { return raw.closed; })) << who;
    // Refused during the handshake: normally a failed one, but on a loaded machine the deadline
    // for the first TLS bytes or for the handshake may close it first.
    ASSERT_TRUE(run_until(io_, [&] {
      const auto& st = r0.transport.stats();
      return st.handshake_failures + st.handshake_timeouts + st.first_bytes_timeouts >=
             std::uint64_t(expected_failures);
    })) << who;
  }
  EXPECT_TRUE(r0.received.empty());

  // The genuine replica-1 key is accepted.
  const auto& r1 = cluster().config().replicas[1];
  RawTlsClient genuine(io_, r1.cert, r1.key);
  genuine.connect(r0.transport.local_port());
  genuine.write(frame_bytes(2, "hi"));
  ASSERT_TRUE(run_until(io_, [&] { return !r0.received.empty(); }));
  EXPECT_EQ(r0.received[0].peer.replica_id, 1u);
}

TEST_F(TransportTest, ClientVerifiesItReachedTheReplicaItDialed) {
  // The client believes replica 1 listens where replica 0 actually does.
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  ClientTransportOptions o = cluster().client_options("client2");
  o.replicas[1].port = r0.transport.local_port();
  ClientTransport client(io_, o);
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(run_until(io_, [&] {
    const auto l = client.links();
    return l[0].state == LinkState::kConnected &&
           l[1].last_error.find("expected replica-1") != std::string::npos;
  })) << client.links()[1].last_error;
  EXPECT_NE(client.links()[1].state, LinkState::kConnected);
  EXPECT_GE(client.stats().handshake_failures, 1u);
}

TEST_F(TransportTest, OversizedFrameClosesOnlyThatConnection) {
  ReplicaTransportOptions opts = cluster().replica_options(0);
  opts.limits.client_frame_max_bytes = 1024;
  Node r0(io_, opts);
  r0.echo = true;
  r0.start();
  const auto id = cluster().config().identity_dir("client1");
  RawTlsClient raw(io_, id / "cert.pem", id / "key.pem");
  raw.connect(r0.transport.local_port());
  ASSERT_TRUE(run_until(io_, [&] { return raw.handshake_done || raw.closed; }));
  raw.write(frame_bytes(5, "small"));
  raw.write(frame_bytes(1025));  // one byte above the limit: only the header is needed
  ASSERT_TRUE(run_until(io_, [&] { return raw.closed; }));
  EXPECT_EQ(r0.transport.stats().oversized_frames, 1u);
  ASSERT_EQ(r0.received.size(), 1u);
  EXPECT_EQ(r0.received[0].text, "small");

  // Others are still served.
  ClientTransport client(io_, cluster().client_options("client2"));
  std::vector<std::string> replies;
  client.on_frame([&](ReplicaId, ByteView f) { replies.push_back(text_of(f)); });
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(run_until(io_, [&] { return client.links()[0].state == LinkState::kConnected; }));
  client.send_to_replica(0, frame_of("still there?"));
  ASSERT_TRUE(run_until(io_, [&] { return !replies.empty(); }));
  EXPECT_EQ(replies[0], "echo:still there?");
  // A client cannot send more than the replica accepts: the client transport drops it itself.
}

TEST_F(TransportTest, GarbageBytesAreDropped) {
  Node r0(io_, cluster().replica_options(0));
  r0.echo = true;
  r0.start();
  tcp::socket plain(io_);
  bool closed = false;
  std::uint8_t sink[256];
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r0.transport.local_port()));
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(2000, '\x17');
  asio::write(plain, asio::buffer(garbage));
  std::function<void()> drain = [&] {
    plain.async_read_some(asio::buffer(sink),
                          [&](const boost::system::error_code& ec, std::size_t) {
                            if (ec) {
                              closed = true;
                              return;
                            }
                            drain();
                          });
  };
  drain();
  ASSERT_TRUE(run_until(io_, [&] { return closed; }));
  EXPECT_EQ(r0.transport.stats().handshake_failures, 1u);
  EXPECT_TRUE(r0.received.empty());

  // A connection that sends nothing at all is closed by the handshake timeout.
  ReplicaTransportOptions opts = cluster().replica_options(1);
  opts.limits.handshake_timeout_ms = 200;
  Node r1(io_, opts);
  r1.start();
  tcp::socket silent(io_);
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r1.transport.local_port()));
  ASSERT_TRUE(run_until(io_, [&] { return r1.transport.stats().handshake_timeouts == 1; }));

  // And r0 still serves a real client.
  ClientTransport client(io_, cluster().client_options("client1"));
  std::vector<std::string> replies;
  client.on_frame([&](ReplicaId, ByteView f) { replies.push_back(text_of(f)); });
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(run_until(io_, [&] { return client.links()[0].state == LinkState::kConnected; }));
  client.send_to_replica(0, frame_of("x"));
  ASSERT_TRUE(run_until(io_, [&] { return !replies.empty(); }));
}

TEST_F(TransportTest, FullSendQueueDropsAndCounts) {
  ReplicaTransportOptions opts = cluster().replica_options(0);
  opts.limits.replica_send_queue_max_bytes = 64 * 1024;
  Node a(io_, opts);
  Node b(io_, cluster().replica_options(1));
  a.start();
  b.start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1); }));
  // Without running the io_context nothing leaves the queue but the first chunk.
  const Frame f = make_frame(Bytes(8 * 1024, 0xab));
  int accepted = 0;
  int dropped = 0;
  for (int i = 0; i < 100; ++i) (a.transport.send_to_replica(1, f) ? accepted : dropped)++;
  EXPECT_GT(dropped, 0);
  EXPECT_LE(accepted, 1 + 64 / 8);
  EXPECT_EQ(a.transport.stats().drops_queue_full, std::uint64_t(dropped));
  // What was accepted arrives, and nothing else.
  ASSERT_TRUE(run_until(io_, [&] { return b.received.size() == std::size_t(accepted); }));
  run_for(io_, 100ms);
  EXPECT_EQ(b.received.size(), std::size_t(accepted));
}

TEST_F(TransportTest, SlowClientCannotGrowTheReplicasMemory) {
  ReplicaTransportOptions opts = cluster().replica_options(0);
  opts.limits.client_send_queue_max_bytes = 256 * 1024;
  Node r0(io_, opts);
  r0.start();
  const auto id = cluster().config().identity_dir("client3");
  RawTlsClient stalled(io_, id / "cert.pem", id / "key.pem");
  stalled.stop_reading();
  stalled.connect(r0.transport.local_port());
  stalled.write(frame_bytes(5, "hello"));
  ASSERT_TRUE(run_until(io_, [&] { return !r0.received.empty(); }));
  const ConnectionId conn = r0.received[0].connection;
  // Push 64 MiB at a client that never reads: socket buffers fill, then the queue, then drops.
  const Frame f = make_frame(Bytes(64 * 1024, 1));
  std::size_t sent = 0;
  for (int round = 0; round < 1024 && r0.transport.stats().drops_queue_full == 0; ++round) {
    sent += r0.transport.send_to_connection(conn, f) ? 1 : 0;
    run_for(io_, 1ms);
  }
  EXPECT_GT(r0.transport.stats().drops_queue_full, 0u);
  EXPECT_LT(sent, 1024u);
}

// Back-pressure: paused client connections deliver nothing and stop reading, so the client's
// frames wait in the socket buffers and its own queue; replica links, replies and keep-alives go
// on, a paused client is not closed for its silence, and a client that connects meanwhile is
// paused too. On resume everything arrives, in order.
TEST_F(TransportTest, PausedClientReadsPushBackAndResume) {
  // Everyone sends keep-alives every 500 ms: a peer silent for 1.5 s is closed.
  ReplicaTransportOptions o0 = cluster().replica_options(0);
  ReplicaTransportOptions o1 = cluster().replica_options(1);
  ClientTransportOptions c1 = cluster().client_options("client1");
  ClientTransportOptions c2 = cluster().client_options("client2");
  o0.limits.keepalive_ms = o1.limits.keepalive_ms = 500;
  c1.limits.keepalive_ms = c2.limits.keepalive_ms = 500;
  Node a(io_, o0);
  Node b(io_, o1);
  a.start();
  b.start();
  ClientTransport client(io_, c1);
  std::vector<std::string> replies;
  client.on_frame([&](ReplicaId, ByteView f) { replies.push_back(text_of(f)); });
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(run_until(
      io_, [&] { return b.connected_to(0) && client.links()[0].state == LinkState::kConnected; }));
  client.send_to_replica(0, frame_of("hello"));
  ASSERT_TRUE(run_until(io_, [&] { return a.received.size() == 1; }));
  const ConnectionId conn = a.received[0].connection;

  a.transport.pause_client_reads(true);
  constexpr int kFrames = 400;  // 25 MiB: more than loopback's socket buffers take
  const std::string payload(64 * 1024, 'p');
  for (int i = 0; i < kFrames; ++i)
    client.send_to_replica(0, frame_of(std::to_string(i) + payload));
  ClientTransport late(io_, c2);
  ASSERT_TRUE(late.start().ok());
  ASSERT_TRUE(run_until(io_, [&] { return late.links()[0].state == LinkState::kConnected; }));
  late.send_to_replica(0, frame_of("late"));
  ASSERT_TRUE(run_until(io_, [&] { return b.connected_to(0); }));
  EXPECT_TRUE(b.transport.send_to_replica(0, frame_of("from replica 1")));
  EXPECT_TRUE(a.transport.send_to_connection(conn, frame_of("reply")));
  run_for(io_, 2s);  // 4 keep-alive periods
  ASSERT_EQ(a.received.size(), 2u);
  EXPECT_EQ(a.received[1].text, "from replica 1");
  EXPECT_EQ(replies, std::vector<std::string>{"reply"});
  EXPECT_EQ(a.transport.stats().idle_timeouts, 0u);
  EXPECT_LT(client.stats().frames_out, 1u + kFrames);  // TCP pushed back

  a.transport.pause_client_reads(false);
  ASSERT_TRUE(run_until(
      io_, [&] { return a.received.size() == 3u + kFrames; }, 30s));
  int next = 0;
  for (const Received& r : a.received) {
    if (r.peer.name == "client1" && r.text != "hello") {
      EXPECT_EQ(r.text, std::to_string(next++) + payload);
    }
  }
  EXPECT_EQ(next, kFrames);
  EXPECT_EQ(std::count_if(a.received.begin(), a.received.end(),
                          [](const Received& r) { return r.text == "late"; }),
            1);
  EXPECT_EQ(a.transport.stats().idle_timeouts, 0u);
}

TEST_F(TransportTest, KeepalivesKeepIdleLinksUpAndSilentPeersAreClosed) {
  ReplicaTransportOptions o0 = cluster().replica_options(0);
  ReplicaTransportOptions o1 = cluster().replica_options(1);
  o0.limits.keepalive_ms = o1.limits.keepalive_ms = 100;
  Node a(io_, o0);
  Node b(io_, o1);
  a.start();
  b.start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1) && b.connected_to(0); }));
  run_for(io_, 800ms);  // 8 keep-alive periods of silence at the application level
  EXPECT_TRUE(a.connected_to(1));
  EXPECT_GT(a.transport.stats().keepalives_in, 2u);
  EXPECT_GT(a.transport.stats().keepalives_out, 2u);
  EXPECT_EQ(a.transport.stats().idle_timeouts, 0u);
  EXPECT_TRUE(a.received.empty());  // keep-alives are never delivered

  // A peer that completes the handshake and then says nothing is closed after ~3 periods.
  const auto id = cluster().config().identity_dir("client1");
  RawTlsClient mute(io_, id / "cert.pem", id / "key.pem");
  mute.stop_reading();
  mute.connect(a.transport.local_port());
  ASSERT_TRUE(run_until(
      io_, [&] { return a.transport.stats().idle_timeouts == 1; }, 3s));
}

TEST_F(TransportTest, ClientConnectionLimits) {
  ReplicaTransportOptions opts = cluster().replica_options(0);
  opts.limits.client_connections_per_principal_max = 1;
  opts.limits.client_connections_max = 2;
  Node r0(io_, opts);
  r0.start();
  auto connect = [&](const std::string& who) {
    auto c = std::make_unique<ClientTransport>(io_, cluster().client_options(who));
    EXPECT_TRUE(c->start().ok());
    return c;
  };
  auto c1 = connect("client1");
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().client_connections_open == 1; }));
  auto c1_again = connect("client1");
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().refused_principal_limit >= 1; }));
  auto c2 = connect("client2");
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().client_connections_open == 2; }));
  auto c3 = connect("client3");
  ASSERT_TRUE(run_until(io_, [&] { return r0.transport.stats().refused_client_limit >= 1; }));
  EXPECT_EQ(r0.transport.stats().client_connections_open, 2u);
  // Freed slots are reused: once client1 leaves, its second transport gets in on a retry.
  c1->stop();
  ASSERT_TRUE(run_until(io_, [&] {
    return c1_again->links()[0].state == LinkState::kConnected ||
           c3->links()[0].state == LinkState::kConnected;
  }));
}

TEST_F(TransportTest, NewestIncomingReplicaConnectionWins) {
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  const auto& r1 = cluster().config().replicas[1];
  RawTlsClient first(io_, r1.cert, r1.key);
  first.connect(r0.transport.local_port());
  first.write(frame_bytes(5, "first"));
  ASSERT_TRUE(run_until(io_, [&] { return r0.received.size() == 1; }));
  RawTlsClient second(io_, r1.cert, r1.key);
  second.connect(r0.transport.local_port());
  second.write(frame_bytes(6, "second"));
  ASSERT_TRUE(run_until(io_, [&] { return r0.received.size() == 2 && first.closed; }));
  EXPECT_EQ(r0.transport.stats().replica_connections_replaced, 1u);
  EXPECT_FALSE(second.closed);
}

TEST_F(TransportTest, ReconnectsAfterThePeerTransportRestarts) {
  Node a(io_, cluster().replica_options(0));
  a.start();
  auto b = std::make_unique<Node>(io_, cluster().replica_options(1));
  b->start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1); }));
  a.transport.send_to_replica(1, frame_of("before"));
  ASSERT_TRUE(run_until(io_, [&] { return b->received.size() == 1; }));

  b.reset();  // stops it: all its sockets close
  ASSERT_TRUE(run_until(io_, [&] { return !a.connected_to(1); }));
  EXPECT_FALSE(a.transport.send_to_replica(1, frame_of("while down")) &&
               a.transport.links()[0].state == LinkState::kConnected);
  run_for(io_, 300ms);  // a few failed attempts while it is down
  EXPECT_GE(a.transport.links()[0].failures, 1u);

  b = std::make_unique<Node>(io_, cluster().replica_options(1));
  b->start();
  ASSERT_TRUE(run_until(io_, [&] { return a.connected_to(1) && b->connected_to(0); }));
  a.transport.send_to_replica(1, frame_of("after"));
  ASSERT_TRUE(
      run_until(io_, [&] { return !b->received.empty() && b->received.back().text == "after"; }));
  EXPECT_GE(a.transport.links()[0].connects, 2u);
}

TEST_F(TransportTest, StartRefusesAnIdentityPeersWouldRefuse) {
  ReplicaTransportOptions o = cluster().replica_options(0);
  o.tls.cert = cluster().config().replicas[1].cert;
  o.tls.key = cluster().config().replicas[1].key;
  ReplicaTransport t(io_, o);
  auto r = t.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("expected replica-0"), std::string::npos) << r.error();

  ReplicaTransportOptions missing = cluster().replica_options(0);
  missing.tls.key = cluster().root() / "no-such-key.pem";
  ReplicaTransport t2(io_, missing);
  EXPECT_FALSE(t2.start().ok());

  // A replica certificate cannot serve as a client identity.
  ClientTransportOptions c = cluster().client_options("client1");
  c.tls.cert = cluster().config().replicas[2].cert;
  c.tls.key = cluster().config().replicas[2].key;
  ClientTransport client(io_, c);
  EXPECT_FALSE(client.start().ok());
}

TEST_F(TransportTest, FramesSentWhileConnectingWaitAndWhileDownAreDropped) {
  Node r0(io_, cluster().replica_options(0));
  r0.start();
  ClientTransport client(io_, cluster().client_options("client1"));
  ASSERT_TRUE(client.start().ok());
  // Right after start() the links are connecting: the frame waits in the link's queue.
  EXPECT_EQ(client.links()[0].state, LinkState::kConnecting);
  EXPECT_TRUE(client.send_to_replica(0, frame_of("early")));
  ASSERT_TRUE(run_until(io_, [&] { return r0.received.size() == 1; }));
  EXPECT_EQ(r0.received[0].text, "early");
  // Replica 3 is down: once its first attempt failed, the link is in back-off and drops.
  ASSERT_TRUE(run_until(io_, [&] { return client.links()[3].state == LinkState::kBackoff; }));
  EXPECT_FALSE(client.send_to_replica(3, frame_of("lost")));
  EXPECT_EQ(client.stats().drops_not_connected, 1u);
  // A frame above what a replica accepts from a client is refused locally.
  EXPECT_FALSE(client.send_to_replica(0, make_frame(Bytes((1u << 20) + 1, 0))));
  EXPECT_EQ(client.stats().drops_too_large, 1u);
}

TEST_F(TransportTest, StopLetsRunReturn) {
  Node a(io_, cluster().replica_options(0));
  Node b(io_, cluster().replica_options(1));
  ClientTransport client(io_, cluster().client_options("client1"));
  a.start();
  b.start();
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(run_until(
      io_, [&] { return a.connected_to(1) && client.links()[0].state == LinkState::kConnected; }));
  a.transport.stop();
  b.transport.stop();
  client.stop();
  io_.restart();
  const auto t0 = std::chrono::steady_clock::now();
  io_.run();  // returns: no socket, timer or resolver is left
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace bastion::net
