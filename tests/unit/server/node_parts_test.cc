// The small parts of a replica node: reply routing by client session, the cluster file -> node
// settings mapping, the Ed25519 adapters, and metric naming.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <stdexcept>

#include "bft/core/messages.h"
#include "bft/core/state_digest.h"
#include "server/checkpoint_capture.h"
#include "server/client_routes.h"
#include "server/node_crypto.h"
#include "server/node_metrics.h"
#include "server/node_report.h"
#include "server/node_settings.h"
#include "tests/unit/server/cluster_support.h"

namespace bastion::server {
namespace {

using testing::ClusterDir;
using namespace std::chrono_literals;

// ---- CheckpointCapture ------------------------------------------------------------------------

// A state of `n` pieces of `piece_bytes` each, byte i of the state being i % 251.
bft::StateBytes pieces_of(std::size_t n, std::size_t piece_bytes) {
  bft::StateBytes state;
  for (std::size_t p = 0; p < n; ++p) {
    bft::Bytes piece(piece_bytes);
    for (std::size_t i = 0; i < piece_bytes; ++i) {
      piece[i] = static_cast<std::uint8_t>((p * piece_bytes + i) % 251);
    }
    state.append(std::make_shared<const bft::Bytes>(std::move(piece)));
  }
  return state;
}

struct CaptureResults {
  std::vector<std::pair<std::uint64_t, bft::CapturedState>> done;
  CheckpointCapture::Done record() {
    return [this](std::uint64_t id, bft::CapturedState r) { done.emplace_back(id, std::move(r)); };
  }
  void run_until(boost::asio::io_context& io, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (done.size() < n && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
      io.restart();
    }
  }
};

TEST(CheckpointCaptureTest, ALargeStateIsHashedOnTheWorkerAsItsPages) {
  boost::asio::io_context io;
  CaptureResults results;
  CheckpointCapture capture(io, CheckpointCapture::Options{}, results.record());
  // 1.5 MiB in pieces of 3,000 bytes.
  const bft::StateBytes state = pieces_of(525, 3000);
  EXPECT_EQ(capture.capture(7, [&] { return state; }), std::nullopt);
  results.run_until(io, 1);
  ASSERT_EQ(results.done.size(), 1U);
  EXPECT_EQ(results.done[0].first, 7U);
  const bft::CapturedState& got = results.done[0].second;
  const bft::SharedBytes whole = state.whole();
  EXPECT_EQ(got.digest, bft::state_digest(state.views()));
  EXPECT_EQ(*got.page_list, bft::state_page_list(state.views()));
  EXPECT_EQ(*got.state.whole(), *whole);
  EXPECT_EQ(capture.stats().threaded, 1U);
  EXPECT_EQ(capture.stats().last_bytes, whole->size());
}

TEST(CheckpointCaptureTest, AStateThatSharesPagesWithTheLastHashesAsIfHashedWhole) {
  boost::asio::io_context io;
  CaptureResults results;
  CheckpointCapture capture(io, CheckpointCapture::Options{}, results.record());
  const bft::StateBytes first = pieces_of(525, 3000);
  EXPECT_EQ(capture.capture(1, [&] { return first; }), std::nullopt);
  results.run_until(io, 1);
  ASSERT_EQ(results.done.size(), 1U);
  // Its first piece replaced, one dropped, one added; the rest shared.
  bft::StateBytes second;
  second.append(std::make_shared<const bft::Bytes>(bft::Bytes(100, 7)));
  for (std::size_t i = 1; i + 1 < first.pieces().size(); ++i) second.append(first.pieces()[i]);
  second.append(std::make_shared<const bft::Bytes>(bft::Bytes(20, 9)));
  EXPECT_EQ(capture.capture(2, [&] { return second; }), std::nullopt);
  results.run_until(io, 2);
  ASSERT_EQ(results.done.size(), 2U);
  EXPECT_EQ(results.done[1].second.digest, bft::state_digest(second.views()));
  // And on the spot, from the same last state.
  const bft::StateBytes small = second.pieces().back();
  const auto got = capture.capture(3, [&] { return small; });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->digest, bft::state_digest(small.views()));
}

TEST(CheckpointCaptureTest, SmallStatesAreHashedOnTheSpot) {
  boost::asio::io_context io;
  CaptureResults results;
  CheckpointCapture capture(io, CheckpointCapture::Options{}, results.record());
  const bft::StateBytes state = pieces_of(3, 1000);
  const auto got = capture.capture(1, [&] { return state; });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->digest, bft::state_digest(state.views()));
  EXPECT_EQ(capture.stats().on_the_spot, 1U);
  EXPECT_EQ(capture.stats().threaded, 0U);
}

TEST(CheckpointCaptureTest, PastTheQueueBoundStatesAreHashedOnTheSpot) {
  boost::asio::io_context io;
  CaptureResults results;
  CheckpointCapture::Options o;
  o.thread_min_bytes = 0;
  o.queued_max = 2;
  CheckpointCapture capture(io, o, results.record());
  // The io thread does not run in between: the first two wait for it, the third cannot queue.
  EXPECT_EQ(capture.capture(1, [] { return pieces_of(1, 10); }), std::nullopt);
  EXPECT_EQ(capture.capture(2, [] { return pieces_of(1, 20); }), std::nullopt);
  const auto third = capture.capture(3, [] { return pieces_of(1, 30); });
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->state.size(), 30U);
  results.run_until(io, 2);
  ASSERT_EQ(results.done.size(), 2U);
  EXPECT_EQ(results.done[0].first, 1U);
  EXPECT_EQ(results.done[1].first, 2U);
  // Delivered results free their places in the queue.
  EXPECT_EQ(capture.capture(4, [] { return pieces_of(1, 40); }), std::nullopt);
  results.run_until(io, 3);
  EXPECT_EQ(results.done.size(), 3U);
}

TEST(CheckpointCaptureTest, ResultsOfADestroyedCaptureAreDropped) {
  boost::asio::io_context io;
  bool called = false;
  {
    CheckpointCapture::Options o;
    o.thread_min_bytes = 0;
    CheckpointCapture capture(io, o, [&](std::uint64_t, bft::CapturedState) { called = true; });
    EXPECT_EQ(capture.capture(1, [] { return pieces_of(4, 1 << 20); }), std::nullopt);
  }  // joins the worker
  io.run_for(10ms);
  EXPECT_FALSE(called);
}

// ---- ClientRoutes ---------------------------------------------------------------------------

TEST(ClientRoutesTest, RepliesFollowTheLastConnectionOfASession) {
  ClientRoutes routes(4);
  const bft::ClientKey alice1{"alice", 1};
  routes.note(alice1, 10);
  EXPECT_EQ(routes.find(alice1), std::optional<net::ConnectionId>(10));
  EXPECT_EQ(routes.find({"alice", 2}), std::nullopt);
  EXPECT_EQ(routes.find({"bob", 1}), std::nullopt);
  // Reconnected: the new connection wins; closing the old one does not forget the session.
  routes.note(alice1, 11);
  EXPECT_EQ(routes.find(alice1), std::optional<net::ConnectionId>(11));
  routes.drop_connection(10);
  EXPECT_EQ(routes.find(alice1), std::optional<net::ConnectionId>(11));
  routes.drop_connection(11);
  EXPECT_EQ(routes.find(alice1), std::nullopt);
  EXPECT_EQ(routes.sessions(), 0u);
  EXPECT_EQ(routes.connections(), 0u);
}

TEST(ClientRoutesTest, SessionsPerConnectionAreBounded) {
  ClientRoutes routes(3);
  for (std::uint64_t s = 0; s < 1000; ++s) routes.note({"mallory", s}, 5);
  EXPECT_EQ(routes.sessions(), 3u);
  // The most recent ones are kept.
  EXPECT_TRUE(routes.find({"mallory", 999}).has_value());
  EXPECT_FALSE(routes.find({"mallory", 0}).has_value());
  // Noting the same session again costs nothing.
  for (int i = 0; i < 100; ++i) routes.note({"mallory", 999}, 5);
  EXPECT_EQ(routes.sessions(), 3u);
  EXPECT_TRUE(routes.find({"mallory", 997}).has_value());
}

TEST(ClientRoutesTest, PeeksTheSessionOfARequestOnly) {
  bft::ClientRequestMsg m;
  m.session = 0x1234567890abcdefULL;
  m.number = 3;
  m.payload = {1, 2, 3};
  const bft::Bytes bytes = bft::encode_message(m);
  EXPECT_EQ(peek_request_session(bytes), std::optional<std::uint64_t>(m.session));
  // Truncated, other versions and other types: no session.
  EXPECT_EQ(peek_request_session(bft::ByteView(bytes).first(5)), std::nullopt);
  bft::Bytes other = bytes;
  other[0] = 99;
  EXPECT_EQ(peek_request_session(other), std::nullopt);
  bft::StatusMsg status;
  EXPECT_EQ(peek_request_session(bft::encode_message(status)), std::nullopt);
  EXPECT_EQ(peek_request_session({}), std::nullopt);
}

// ---- node settings --------------------------------------------------------------------------

TEST(NodeSettingsTest, MapsTheClusterFileOntoCoreAndTransport) {
  ClusterDir dir;
  auto& c = dir.config();
  c.protocol.checkpoint_interval = 32;
  c.protocol.request_timeout_ms = 1500;
  c.protocol.clock_skew_max_ms = 700;
  c.protocol.agreed_time_slack_ms = 250;
  c.protocol.agreed_time_window_ms = 8000;
  c.transport.keepalive_ms = 333;
  c.transport.first_bytes_timeout_ms = 444;
  c.transport.handshakes_in_progress_max = 55;
  c.transport.handshakes_per_source_max = 7;
  c.transport.connections_per_source_max = 66;
  c.transport.held_bytes_max = 1u << 20;
  auto s = node_settings(c, 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->protocol.n, 4u);
  EXPECT_EQ(s->protocol.f, 1u);
  EXPECT_EQ(s->protocol.self, 2u);
  EXPECT_EQ(s->protocol.checkpoint_interval, 32u);
  EXPECT_EQ(s->protocol.log_window, 128u);
  EXPECT_EQ(s->protocol.request_timeout_us, 1'500'000);
  EXPECT_EQ(s->protocol.clock_skew_max_us, 700'000);
  EXPECT_EQ(s->protocol.agreed_time_slack_us, 250'000);
  EXPECT_EQ(s->protocol.agreed_time_window_us, 8'000'000);
  EXPECT_EQ(s->protocol.message_bytes_max, c.protocol.frame_max_bytes);
  EXPECT_EQ(s->protocol.request_bytes_max, c.protocol.client_frame_max_bytes);
  EXPECT_TRUE(s->protocol.validate().empty());
  EXPECT_EQ(s->transport.self, 2u);
  ASSERT_EQ(s->transport.replicas.size(), 4u);
  EXPECT_EQ(s->transport.replicas[3].port, c.replicas[3].port);
  EXPECT_EQ(s->transport.replicas[3].public_key, c.replicas[3].public_key);
  EXPECT_EQ(s->transport.tls.key, c.replicas[2].key);
  EXPECT_EQ(s->transport.limits.keepalive_ms, 333u);
  EXPECT_EQ(s->transport.limits.first_bytes_timeout_ms, 444u);
  EXPECT_EQ(s->transport.limits.handshakes_in_progress_max, 55u);
  EXPECT_EQ(s->transport.limits.handshakes_per_source_max, 7u);
  EXPECT_EQ(s->transport.limits.connections_per_source_max, 66u);
  EXPECT_EQ(s->held_bytes_max, 1u << 20);
  EXPECT_EQ(s->data_dir, c.data_dir / "replica-2");
  EXPECT_EQ(s->batch_bytes_requested, 0u);
}

TEST(NodeSettingsTest, LowersTheBatchCapToFitAFrame) {
  ClusterDir dir;
  auto& p = dir.config().protocol;
  // Accepted by the cluster file (frame >= batch + 64 KiB) but a batch plus one more request of
  // client_frame_max_bytes would not fit.
  p.batch_max_bytes = 6 << 20;
  p.client_frame_max_bytes = 3 << 20;
  p.frame_max_bytes = (6 << 20) + (64 << 10);
  auto s = node_settings(dir.config(), 0);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->batch_bytes_requested, 6u << 20);
  EXPECT_EQ(s->protocol.batch_max_bytes, 3u << 20);
  EXPECT_TRUE(s->protocol.validate().empty());

  p.client_frame_max_bytes = 6 << 20;  // no room at all
  auto bad = node_settings(dir.config(), 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cluster.toml: protocol.frame_max_bytes: "), std::string::npos)
      << bad.error().message;
}

TEST(NodeSettingsTest, RefusesAFrameTooSmallForTheFirstStateChunk) {
  // The first STATE-CHUNK carries the leaf digests of the page list of a state of up to 4 GiB:
  // 5 MiB (a page per byte at most, 40 bytes each, 32 bytes per MiB of list), besides its bytes.
  ClusterDir dir;
  auto& p = dir.config().protocol;
  p.batch_max_bytes = 32 << 10;
  p.client_frame_max_bytes = 1 << 10;
  p.frame_max_bytes = 5 << 20;  // a batch fits, the digests do not
  auto bad = node_settings(dir.config(), 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.error().message.find("protocol.frame_max_bytes: 5242880 cannot carry a state chunk"),
      std::string::npos)
      << bad.error().message;
  p.frame_max_bytes = (5 << 20) + (128 << 10);
  auto good = node_settings(dir.config(), 0);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->protocol.state_chunk_bytes, (128u << 10) - (64u << 10));
  EXPECT_TRUE(good->protocol.validate().empty());
}

// ---- Ed25519 adapters -------------------------------------------------------------------------

TEST(NodeCryptoTest, SignaturesVerifyForTheSignerAndDomainOnly) {
  ClusterDir dir;
  auto signer = load_signer(dir.config(), 1);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  auto verifier = load_verifier(dir.config());
  ASSERT_TRUE(verifier.ok()) << verifier.error().message;
  const bft::Bytes message = {1, 2, 3, 4};
  const bft::Signature sig = (*signer)->sign(bft::SignDomain::kPrepare, message);
  EXPECT_TRUE((*verifier)->verify(1, bft::SignDomain::kPrepare, message, sig));
  EXPECT_FALSE((*verifier)->verify(2, bft::SignDomain::kPrepare, message, sig));
  EXPECT_FALSE((*verifier)->verify(1, bft::SignDomain::kCheckpoint, message, sig));
  EXPECT_FALSE((*verifier)->verify(1, bft::SignDomain::kPrePrepare, message, sig));
  EXPECT_FALSE((*verifier)->verify(7, bft::SignDomain::kPrepare, message, sig));
  const bft::Bytes altered = {1, 2, 3, 5};
  EXPECT_FALSE((*verifier)->verify(1, bft::SignDomain::kPrepare, altered, sig));
  EXPECT_EQ((*signer)->stats().signs, 1u);
  EXPECT_EQ((*verifier)->stats().verifies, 5u);  // the unknown replica is refused unchecked
  EXPECT_EQ((*verifier)->stats().verify_failures, 4u);
}

TEST(NodeCryptoTest, MissingKeyFileIsAConfigErrorNamingTheKey) {
  ClusterDir dir;
  auto c = dir.config();
  c.replicas[3].key = dir.root() / "missing.pem";
  auto signer = load_signer(c, 3);
  ASSERT_FALSE(signer.ok());
  EXPECT_NE(signer.error().message.find("cluster.toml: replicas[3].key: "), std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("missing.pem"), std::string::npos);
}

// ---- reporting --------------------------------------------------------------------------------

TEST(NodeReportTest, CoreCountersGetPrometheusNames) {
  EXPECT_EQ(core_counter_metric("view_changes"), "bastion_view_changes_total");
  EXPECT_EQ(core_counter_metric("view_change.timeouts"), "bastion_view_change_timeouts_total");
  EXPECT_EQ(core_counter_metric("state_transfers.completed"),
            "bastion_state_transfers_completed_total");
}

TEST(NodeReportTest, MetricsFollowSnapshotsWithoutGoingBackwards) {
  NodeMetrics metrics(3);
  NodeSnapshot s;
  s.core["drop.bad_signature"] = 5;
  s.core["msg.in.prepare"] = 10;
  s.core["view_changes"] = 1;
  s.driver.messages_out[static_cast<std::size_t>(bft::MsgType::kCommit)] = 7;
  s.status.view = 4;
  s.sizes["log.entries"] = 12;
  metrics.publish(s);
  metrics.publish(s);  // publishing the same totals again adds nothing
  std::string text = metrics.render();
  EXPECT_NE(text.find("bastion_drops_total{replica=\"3\",reason=\"bad_signature\"} 5"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bastion_messages_in_total{replica=\"3\",type=\"prepare\"} 10"),
            std::string::npos);
  EXPECT_NE(text.find("bastion_messages_out_total{replica=\"3\",type=\"commit\"} 7"),
            std::string::npos);
  EXPECT_NE(text.find("bastion_view_changes_total{replica=\"3\"} 1"), std::string::npos);
  EXPECT_NE(text.find("bastion_view{replica=\"3\"} 4"), std::string::npos);
  EXPECT_NE(text.find("bastion_pool_entries{replica=\"3\",container=\"log.entries\"} 12"),
            std::string::npos);
  s.core["drop.bad_signature"] = 8;
  metrics.publish(s);
  text = metrics.render();
  EXPECT_NE(text.find("bastion_drops_total{replica=\"3\",reason=\"bad_signature\"} 8"),
            std::string::npos);
}

TEST(NodeReportTest, StatusIsJsonWithEscapedStrings) {
  NodeSnapshot s;
  s.status.id = 1;
  s.status.view = 2;
  s.listen = "127.0.0.1:7001";
  net::LinkStatus l;
  l.replica = 0;
  l.state = net::LinkState::kBackoff;
  l.last_error = "connect: \"refused\"\n";
  s.links.push_back(l);
  s.sizes["pool.entries"] = 3;
  const std::string json = status_json(s);
  EXPECT_EQ(json.rfind("{\"replica\":1,\"listen\":\"127.0.0.1:7001\",\"view\":2,", 0), 0u) << json;
  EXPECT_NE(json.find("\"last_error\":\"connect: \\\"refused\\\"\\u000a\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"sizes\":{\"pool.entries\":3}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"checkpoint_digest\":\"" + std::string(64, '0') + "\""), std::string::npos);
}

}  // namespace
}  // namespace bastion::server
