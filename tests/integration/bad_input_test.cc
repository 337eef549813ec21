// Hostile and mistaken input against real replica processes: garbage bytes and oversized frames
// sent raw to a replica port, a client whose certificate comes from another CA, an identity that
// does not exist. Each gets a closed connection or a clear error, and the replicas keep serving.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "tests/integration/cluster.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until EOF or error; true if the peer closed the connection (rather than the read timing
// out).
bool peer_closes(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET || errno == EPIPE;
  }
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(2);
    cluster_->start_all();
    cluster_->wait_ready();
    ASSERT_EQ(cluster_->cli({"space", "create", "alive"}).exit_code, 0);
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  // The cluster still serves: an out and a read through every replica's quorum.
  static void expect_serving() {
    EXPECT_EQ(cluster_->cli({"out", "alive", R"(("still", 1))"}).exit_code, 0);
    EXPECT_EQ(cluster_->cli({"inp", "alive", R"(("still", 1))"}).exit_code, 0);
    for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) {
      EXPECT_TRUE(cluster_->running(i)) << "replica " << i << " died:\n"
                                        << read_file(cluster_->log_path(i));
    }
  }

  static std::unique_ptr<LocalCluster> cluster_;
};
std::unique_ptr<LocalCluster> BadInputTest::cluster_;

TEST_F(BadInputTest, GarbageBytesCloseTheConnection) {
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    const int fd = connect_loopback(cluster_->port(r));
    ASSERT_GE(fd, 0);
    std::string junk = "GET / HTTP/1.1\r\n\r\n";
    junk += std::string(64 * 1024, '\xff');
    (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(peer_closes(fd)) << "replica " << r;
    ::close(fd);
  }
  expect_serving();
}

TEST_F(BadInputTest, OversizedFrameFromAnAuthenticatedClientClosesTheConnection) {
  // A real TLS session with client1's certificate, then a frame header announcing 1 GiB.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  const std::string id = cluster_->identity("client1");
  ASSERT_EQ(SSL_CTX_use_certificate_file(ctx, (id + "/cert.pem").c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx, (id + "/key.pem").c_str(), SSL_FILETYPE_PEM), 1);
  const int fd = connect_loopback(cluster_->port(1));
  ASSERT_GE(fd, 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1) << ERR_error_string(ERR_get_error(), nullptr);
  const unsigned char header[4] = {0x00, 0x00, 0x00, 0x40};  // 2^30, little-endian
  ASSERT_EQ(SSL_write(ssl, header, 4), 4);
  char buf[256];
  int n = 0;
  do {
    n = SSL_read(ssl, buf, sizeof buf);
  } while (n > 0);
  EXPECT_LE(n, 0);  // closed by the replica
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(ctx);
  expect_serving();
}

TEST_F(BadInputTest, CertificateFromAnotherCaIsRefused) {
  const std::string other = (cluster_->dir() / "other").string();
  const auto init =
      run({bastion_path(), "cluster", "init", "--base-port", "1000", "--out", other}, 60s);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const auto r =
      cluster_->cli({"--identity", other + "/identities/admin", "--timeout", "2", "space", "list"});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_FALSE(r.err.empty());
  expect_serving();
}

TEST_F(BadInputTest, UnknownIdentityIsAUsageError) {
  const auto r = cluster_->cli({"--identity", "no-such-identity", "space", "list"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no-such-identity"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bastion::itest
