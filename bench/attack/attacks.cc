// The traffic attacks of bastion-attack; see attacks.h.
#include "bench/attack/attacks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <random>
#include <sstream>
#include <utility>

#include "bench/cluster/driver.h"
#include "bench/cluster/workload.h"
#include "bft/core/messages.h"
#include "config/cluster_config.h"

namespace bastion::bench {
namespace {

using namespace std::chrono_literals;
using bft::Bytes;

// ---- sockets and TLS ----------------------------------------------------------------------------

int tcp_connect(std::uint16_t port, bool blocking) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (!blocking) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  if (blocking) {
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  return fd;
}

// A TLS client context presenting one certificate (the replicas' own is not checked: the
// attacker does not care whom it talks to).
class TlsContext {
 public:
  TlsContext(const std::string& cert, const std::string& key)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    ok_ = SSL_CTX_use_certificate_file(ctx_, cert.c_str(), SSL_FILETYPE_PEM) == 1 &&
          SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) == 1;
  }
  ~TlsContext() { SSL_CTX_free(ctx_); }
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }
  bool ok() const { return ok_; }

 private:
  SSL_CTX* ctx_;
  bool ok_ = false;
};

// A blocking TLS connection with 1 s socket timeouts.
class TlsConnection {
 public:
  static std::unique_ptr<TlsConnection> open(const TlsContext& ctx, std::uint16_t port) {
    const int fd = tcp_connect(port, true);
    if (fd < 0) return nullptr;
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      SSL_free(ssl);
      ::close(fd);
      return nullptr;
    }
    return std::unique_ptr<TlsConnection>(new TlsConnection(fd, ssl));
  }
  ~TlsConnection() {
    SSL_free(ssl_);
    ::close(fd_);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool write(const Bytes& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - done, 1 << 20));
      const int n = SSL_write(ssl_, bytes.data() + done, chunk);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads until the peer closes or `timeout` passes; true if it closed.
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) continue;
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
      if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      return true;
    }
    return false;
  }

 private:
  TlsConnection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  int fd_;
  SSL* ssl_;
};

// ---- hostile frames -----------------------------------------------------------------------------

void put_leb128(Bytes& out, std::uint64_t v) {
  do {
    const auto low = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
    out.push_back(v != 0 ? static_cast<std::uint8_t>(low | 0x80) : low);
  } while (v != 0);
}

Bytes framed(const Bytes& payload) {
  Bytes out;
  const auto n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// The encoding of a message whose vector holds one element, with the vector's count replaced by
// `count`, cut before the element: returns (prefix up to and with the count, the element).
std::pair<Bytes, Bytes> split_at_count(const bft::Message& none, const bft::Message& one,
                                       std::uint64_t count) {
  const Bytes a = bft::encode_message(none);
  const Bytes b = bft::encode_message(one);
  std::size_t pos = 0;
  while (pos < a.size() && pos < b.size() && a[pos] == b[pos]) ++pos;
  Bytes prefix(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(pos));
  put_leb128(prefix, count);
  // The element: what `one` has beyond `none`, after the (one-byte) count.
  const std::size_t element_bytes = b.size() - a.size();
  Bytes element(b.begin() + static_cast<std::ptrdiff_t>(pos + 1),
                b.begin() + static_cast<std::ptrdiff_t>(pos + 1 + element_bytes));
  return {std::move(prefix), std::move(element)};
}

// `prefix` followed by copies of `element` up to `size` bytes.
Bytes repeat_to(Bytes prefix, const Bytes& element, std::size_t size) {
  while (prefix.size() + element.size() <= size && !element.empty()) {
    prefix.insert(prefix.end(), element.begin(), element.end());
  }
  prefix.resize(size, 0xff);
  return prefix;
}

// A VIEW-CHANGE (without its envelope) holding one prepared certificate whose prepares claim
// `count` elements, followed by a few of them: the element of the nested frames.
Bytes nested_view_change(std::uint64_t count) {
  bft::ViewChangeMsg none;
  none.prepared.resize(1);
  bft::ViewChangeMsg one = none;
  one.prepared[0].prepares.resize(1);
  auto [prefix, prepare] = split_at_count(none, one, count);
  prefix.erase(prefix.begin(), prefix.begin() + 2);  // the envelope (version, type)
  return repeat_to(prefix, prepare, prefix.size() + 4 * prepare.size());
}

// One hostile payload of about `size` bytes; `kind` picks the shape.
Bytes hostile_payload(std::size_t kind, std::size_t size, std::mt19937_64& rng) {
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 40;
  switch (kind % 5) {
    case 0: {  // NEW-VIEW -> VIEW-CHANGE -> certificate -> prepare, every count huge
      bft::NewViewMsg none;
      bft::NewViewMsg one;
      one.view_changes.resize(1);
      auto [prefix, element] = split_at_count(none, one, kHuge);
      return repeat_to(std::move(prefix), nested_view_change(kHuge), size);
    }
    case 1: {  // VIEW-CHANGE with certificates claiming 2^40 elements
      bft::ViewChangeMsg one;
      one.prepared.resize(1);
      auto [prefix, element] = split_at_count(bft::ViewChangeMsg{}, one, kHuge);
      return repeat_to(std::move(prefix), element, size);
    }
    case 2: {  // PRE-PREPARE with a batch of requests claiming 2^40
      bft::PrePrepareMsg one;
      one.batch.resize(1);
      auto [prefix, element] = split_at_count(bft::PrePrepareMsg{}, one, kHuge);
      return repeat_to(std::move(prefix), element, size);
    }
    case 3: {  // a REQUEST whose payload claims 2^40 bytes
      Bytes out = {bft::kWireVersion, static_cast<std::uint8_t>(bft::MsgType::kRequest)};
      for (int i = 0; i < 17; ++i) out.push_back(0);  // session, number, read_only
      put_leb128(out, kHuge);
      out.resize(size, 0x41);
      return out;
    }
    default: {  // random bytes behind a valid envelope of a random type
      Bytes out(size);
      for (auto& b : out) b = static_cast<std::uint8_t>(rng());
      out[0] = bft::kWireVersion;
      out[1] = static_cast<std::uint8_t>(1 + rng() % 20);
      return out;
    }
  }
}

std::size_t frame_size(std::mt19937_64& rng) {
  constexpr std::size_t kMiB = 1 << 20;
  static constexpr std::size_t kSizes[] = {kMiB - 64, kMiB, 2 * kMiB, 4 * kMiB - 64};
  return kSizes[rng() % 4];
}

std::string count_note(const char* what, std::uint64_t n) { return std::to_string(n) + " " + what; }

// ---- oversized frames ---------------------------------------------------------------------------

class OversizedFrames final : public Attack {
 public:
  explicit OversizedFrames(bool as_replica) : as_replica_(as_replica) {}
  ~OversizedFrames() override { stop(); }

  void start(const AttackEnv& env) override {
    std::string cert = env.cluster->identity("client1") + "/cert.pem";
    std::string key = env.cluster->identity("client1") + "/key.pem";
    std::vector<std::uint16_t> targets;
    for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) {
      targets.push_back(env.cluster->port(i));
    }
    if (as_replica_) {
      // A faulty replica's identity: its key is in the cluster folder.
      const std::uint32_t self = (env.primary + 3) % LocalCluster::kReplicas;
      auto config = config::load_cluster_config(env.cluster->cluster_file());
      if (config) {
        cert = config->replicas[self].cert.string();
        key = config->replicas[self].key.string();
      }
      targets.erase(targets.begin() + self);
      identity_ = "replica-" + std::to_string(self);
    } else {
      identity_ = "client1";
      targets.push_back(env.cluster->port(env.primary));  // the primary twice as often
    }
    ctx_ = std::make_unique<TlsContext>(cert, key);
    stop_ = false;
    thread_ = std::thread([this, targets] { run(targets); });
  }

  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::string note() const override {
    std::ostringstream s;
    s << "as " << identity_ << ": " << frames_ << " frames of 1-4 MiB (" << (bytes_ >> 20)
      << " MiB), " << closed_ << " connections closed by replicas, " << failed_connects_
      << " failed connects";
    return s.str();
  }

 private:
  void run(const std::vector<std::uint16_t>& targets) {
    std::mt19937_64 rng(as_replica_ ? 2 : 1);
    std::size_t i = 0;
    while (!stop_) {
      const std::uint16_t port = targets[i++ % targets.size()];
      auto conn = TlsConnection::open(*ctx_, port);
      if (!conn) {
        ++failed_connects_;
        std::this_thread::sleep_for(50ms);
        continue;
      }
      // A few frames per connection, until the replica closes it.
      for (int k = 0; k < 4 && !stop_; ++k) {
        const Bytes frame = framed(hostile_payload(rng() % 5, frame_size(rng), rng));
        if (!conn->write(frame)) break;
        ++frames_;
        bytes_ += frame.size();
      }
      if (conn->wait_closed(200ms)) ++closed_;
    }
  }

  bool as_replica_;
  std::string identity_;
  std::unique_ptr<TlsContext> ctx_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> failed_connects_{0};
};

// ---- handshake flood ----------------------------------------------------------------------------

class HandshakeFlood final : public Attack {
 public:
  ~HandshakeFlood() override { stop(); }

  void start(const AttackEnv& env) override {
    ctx_ = std::make_unique<TlsContext>(env.cluster->identity("client1") + "/cert.pem",
                                        env.cluster->identity("client1") + "/key.pem");
    std::vector<std::uint16_t> ports;
    for (std::uint32_t i = 0; i < LocalCluster::kReplicas; ++i) {
      ports.push_back(env.cluster->port(i));
    }
    stop_ = false;
    thread_ = std::thread([this, ports] { run(ports); });
  }

  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::string note() const override {
    std::ostringstream s;
    s << kIdlePerPort << " idle TCP + " << kHelloPerPort << " half-open TLS per port; " << opened_
      << " opened, " << closed_ << " closed by replicas, " << failed_ << " failed connects";
    return s.str();
  }

 private:
  static constexpr int kIdlePerPort = 260;
  static constexpr int kHelloPerPort = 60;

  struct Slot {
    std::uint16_t port = 0;
    bool tls = false;
    int fd = -1;
    SSL* ssl = nullptr;
    bool hello_sent = false;
  };

  void close_slot(Slot& s) {
    if (s.ssl != nullptr) SSL_free(s.ssl);
    if (s.fd >= 0) ::close(s.fd);
    s.ssl = nullptr;
    s.fd = -1;
    s.hello_sent = false;
  }

  void open_slot(Slot& s) {
    s.fd = tcp_connect(s.port, false);
    if (s.fd < 0) {
      ++failed_;
      return;
    }
    ++opened_;
    if (s.tls) {
      s.ssl = SSL_new(ctx_->get());
      SSL_set_fd(s.ssl, s.fd);
    }
  }

  // True if the peer closed the socket.
  static bool closed_by_peer(int fd) {
    char c = 0;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN);
  }

  void run(const std::vector<std::uint16_t>& ports) {
    std::vector<Slot> slots;
    for (const std::uint16_t port : ports) {
      for (int i = 0; i < kIdlePerPort; ++i) slots.push_back(Slot{port, false});
      for (int i = 0; i < kHelloPerPort; ++i) slots.push_back(Slot{port, true});
    }
    while (!stop_) {
      for (Slot& s : slots) {
        if (stop_) break;
        if (s.fd >= 0 && s.hello_sent && closed_by_peer(s.fd)) {
          ++closed_;
          close_slot(s);
        } else if (s.fd >= 0 && !s.tls && closed_by_peer(s.fd)) {
          ++closed_;
          close_slot(s);
        }
        if (s.fd < 0) open_slot(s);
        if (s.fd >= 0 && s.tls && !s.hello_sent) {
          // Sends the ClientHello once the connect completed, then never answers.
          const int r = SSL_connect(s.ssl);
          const int err = SSL_get_error(s.ssl, r);
          if (err == SSL_ERROR_WANT_READ) {
            s.hello_sent = true;
          } else if (err != SSL_ERROR_WANT_WRITE) {
            ++closed_;
            close_slot(s);
          }
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    for (Slot& s : slots) close_slot(s);
  }

  std::unique_ptr<TlsContext> ctx_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> failed_{0};
};

// ---- requests to one replica only ---------------------------------------------------------------

class OneReplicaJunk final : public Attack {
 public:
  ~OneReplicaJunk() override { stop(); }

  void start(const AttackEnv& env) override {
    ctx_ = std::make_unique<TlsContext>(env.cluster->identity("client1") + "/cert.pem",
                                        env.cluster->identity("client1") + "/key.pem");
    target_ = (env.primary + 1) % LocalCluster::kReplicas;
    const std::uint16_t port = env.cluster->port(target_);
    stop_ = false;
    thread_ = std::thread([this, port] { run(port); });
  }

  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::string note() const override {
    return count_note("junk requests", sent_) + " to replica " + std::to_string(target_) +
           " only (at most " + std::to_string(kPerSecond) + "/s), " +
           count_note("reconnects", reconnects_);
  }

 private:
  static constexpr std::uint64_t kPerSecond = 20'000;
  static constexpr std::uint64_t kPerWrite = 64;
  static constexpr std::uint64_t kSessions = 64;

  void run(std::uint16_t port) {
    std::mt19937_64 rng(3);
    std::uint64_t i = 0;
    const auto began = std::chrono::steady_clock::now();
    std::unique_ptr<TlsConnection> conn;
    while (!stop_) {
      if (!conn) {
        conn = TlsConnection::open(*ctx_, port);
        if (!conn) {
          std::this_thread::sleep_for(50ms);
          continue;
        }
        ++reconnects_;
      }
      Bytes batch;
      for (std::uint64_t k = 0; k < kPerWrite; ++k, ++i) {
        bft::ClientRequestMsg r;
        r.session = 1'000'000 + i % kSessions;
        r.number = 1 + i / kSessions;
        r.payload.resize(32);
        for (auto& b : r.payload) b = static_cast<std::uint8_t>(rng());
        const Bytes f = framed(bft::encode_message(r));
        batch.insert(batch.end(), f.begin(), f.end());
      }
      if (!conn->write(batch)) {
        conn.reset();
        continue;
      }
      sent_ += kPerWrite;
      // Paced: at most kPerSecond on average since the start.
      const auto due = began + std::chrono::microseconds(sent_ * 1'000'000 / kPerSecond);
      std::this_thread::sleep_until(due);
    }
  }

  std::unique_ptr<TlsContext> ctx_;
  std::uint32_t target_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> reconnects_{0};
};

// ---- filling a space and parking waiters --------------------------------------------------------

ts::SpaceOptions open_space_options() {
  ts::SpaceOptions o;
  o.tuple_bytes_max = 1 << 20;
  o.tuples_max = ts::kTuplesCap;
  o.tuples_per_client_max = ts::kTuplesCap;
  o.waiters_per_client_max = ts::kWaitersPerClientCap;
  return o;
}

// big-tuples (prefill = false): the measured phase is the filling itself.
// fill-and-park (prefill = true): start() fills to the quota first (unmeasured, at most 120 s),
// and the measured phase is the parking.
class FillAndPark final : public Attack {
 public:
  explicit FillAndPark(bool prefill) : prefill_(prefill) {}
  ~FillAndPark() override { stop(); }

  void start(const AttackEnv& env) override {
    admin_ = env.admin;
    (void)admin_->create_space(kSpace, open_space_options());
    ClientOptions o;
    o.cluster_file = env.cluster->cluster_file();
    o.identity_dir = env.cluster->identity("client1");
    o.timeout = 2s;
    auto c = Client::connect(o);
    if (!c) {
      error_ = c.error().message;
      return;
    }
    client_ = std::move(*c);
    stop_ = false;
    if (prefill_) {
      fill(std::chrono::steady_clock::now() + 120s);
      prefilled_ = tuples_.load();
    }
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (admin_ != nullptr) {
      (void)admin_->delete_space(kSpace);
      admin_ = nullptr;
    }
    client_.reset();
  }

  std::string note() const override {
    if (!error_.empty()) return "could not connect: " + error_;
    std::ostringstream s;
    s << tuples_ << " tuples of 512 KiB stored (" << (tuples_ * kTupleBytes >> 20) << " MiB";
    if (prefill_) s << ", " << prefilled_ << " of them before the measured phase";
    s << "), " << fill_refused_ << " outs refused (" << fill_error_ << ")";
    if (prefill_) {
      s << ", " << waiters_ << " rd's sent to park, " << park_refused_ << " refused ("
        << park_error_ << ")";
    }
    return s.str();
  }

 private:
  static constexpr const char* kSpace = "attack-fill";
  static constexpr std::size_t kTupleBytes = 512 * 1024;
  static constexpr std::size_t kInFlight = 8;
  static constexpr std::size_t kWave = 256;

  // Outs of 512 KiB, kInFlight at a time, until `deadline`, stop() or a quota refusal.
  void fill(std::chrono::steady_clock::time_point deadline) {
    const std::string blob(kTupleBytes, 'x');
    // Fill until the quotas refuse an out (other refusals are counted too, three in a row end
    // the filling).
    int refused_in_a_row = 0;
    bool quota = false;
    while (!stop_ && refused_in_a_row < 3 && !quota &&
           std::chrono::steady_clock::now() < deadline) {
      std::vector<std::future<Expected<Done>>> wave;
      for (std::size_t i = 0; i < kInFlight; ++i) {
        wave.push_back(client_->out_async(
            kSpace, ts::Tuple{ts::Value("fill"), ts::Value(key_++), ts::Value(ts::Blob{blob})}));
      }
      for (auto& f : wave) {
        auto r = f.get();
        if (r) {
          ++tuples_;
          refused_in_a_row = 0;
        } else if (r.error().code != Errc::kUnavailable) {
          ++fill_refused_;
          ++refused_in_a_row;
          fill_error_ = std::string(errc_name(r.error().code));
          quota = quota || r.error().code == Errc::kQuotaExceeded;
        }
      }
    }
  }

  void run() {
    if (!prefill_) {
      fill(std::chrono::steady_clock::time_point::max());
      while (!stop_) std::this_thread::sleep_for(20ms);
      return;
    }
    // Park blocking reads that never match (waiting for ever) until refused. A parked read's
    // future never becomes ready; those that do were refused or failed.
    std::int64_t i = 0;
    std::vector<std::future<Expected<std::optional<ts::Tuple>>>> parked;
    while (!stop_ && park_refused_ < 3) {
      for (std::size_t k = 0; k < kWave && !stop_; ++k, ++i) {
        const ts::Template never{ts::Pattern(ts::Value("never")), ts::Pattern(ts::Value(i)),
                                 ts::Pattern::any()};
        parked.push_back(client_->rd_async(kSpace, never, Millis(0), CallOptions{Millis(1000)}));
        ++waiters_;
      }
      std::erase_if(parked, [this](std::future<Expected<std::optional<ts::Tuple>>>& f) {
        if (f.wait_for(0ms) != std::future_status::ready) return false;
        auto r = f.get();
        if (!r && r.error().code != Errc::kUnavailable) {
          ++park_refused_;
          park_error_ = std::string(errc_name(r.error().code));
        }
        return true;
      });
      std::this_thread::sleep_for(50ms);
    }
    while (!stop_) std::this_thread::sleep_for(20ms);
    // The parked futures are dropped unresolved: the space's deletion ends the waits.
  }

  bool prefill_;
  std::uint64_t prefilled_ = 0;
  std::int64_t key_ = 0;
  Client* admin_ = nullptr;
  std::unique_ptr<Client> client_;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<std::uint64_t> tuples_{0};
  std::atomic<std::uint64_t> fill_refused_{0};
  std::atomic<std::uint64_t> waiters_{0};
  std::atomic<std::uint64_t> park_refused_{0};
  std::string fill_error_ = "-";
  std::string park_error_ = "-";
};

// ---- one client flooding ------------------------------------------------------------------------

class ClientFlood final : public Attack {
 public:
  ~ClientFlood() override { stop(); }

  void start(const AttackEnv& env) override {
    admin_ = env.admin;
    (void)admin_->create_space(kSpace, open_space_options());
    ClientOptions o;
    o.cluster_file = env.cluster->cluster_file();
    o.identity_dir = env.cluster->identity("client2");
    o.timeout = 5s;
    auto c = Client::connect(o);
    if (!c) {
      error_ = c.error().message;
      return;
    }
    client_ = std::move(*c);
    workload_ = std::make_unique<Workload>(Op::kOut, kSpace, 64);
    states_.clear();
    states_.reserve(kLanes);
    std::vector<ClientState*> lanes;
    for (std::size_t i = 0; i < kLanes; ++i) {
      states_.emplace_back(*workload_, static_cast<std::int64_t>(i));
    }
    for (auto& s : states_) lanes.push_back(&s);
    const auto now = Clock::now();
    window_ = std::make_unique<Window>(now, now + std::chrono::hours(24));
    driver_ =
        std::make_unique<Driver>(*client_, std::move(lanes), *window_, CallOptions{Millis(5000)});
    driver_->start();
  }

  void stop() override {
    if (driver_) {
      window_->end_now();
      driver_->wait();
      const Recorder& r = driver_->recorder();
      ok_ = r.latency_ns[static_cast<std::size_t>(StepKind::kOut)].size();
      for (const auto& [name, n] : r.errors) failed_ += n;
      driver_.reset();
    }
    client_.reset();
    if (admin_ != nullptr) {
      (void)admin_->delete_space(kSpace);
      admin_ = nullptr;
    }
  }

  std::string note() const override {
    if (!error_.empty()) return "could not connect: " + error_;
    return "client2 with " + std::to_string(kLanes) +
           " requests outstanding: " + std::to_string(ok_) + " outs done, " +
           std::to_string(failed_) + " failed";
  }

 private:
  static constexpr const char* kSpace = "attack-flood";
  static constexpr std::size_t kLanes = 256;

  Client* admin_ = nullptr;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Workload> workload_;
  std::vector<ClientState> states_;
  std::unique_ptr<Window> window_;
  std::unique_ptr<Driver> driver_;
  std::string error_;
  std::uint64_t ok_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace

std::unique_ptr<Attack> make_attack(const std::string& name) {
  if (name == "oversized-client") return std::make_unique<OversizedFrames>(false);
  if (name == "oversized-replica") return std::make_unique<OversizedFrames>(true);
  if (name == "handshake-flood") return std::make_unique<HandshakeFlood>();
  if (name == "one-replica-junk") return std::make_unique<OneReplicaJunk>();
  if (name == "big-tuples") return std::make_unique<FillAndPark>(false);
  if (name == "fill-and-park") return std::make_unique<FillAndPark>(true);
  if (name == "client-flood") return std::make_unique<ClientFlood>();
  return nullptr;
}

const std::vector<std::string>& traffic_attacks() {
  static const std::vector<std::string> kNames = {
      "oversized-client", "oversized-replica", "handshake-flood", "one-replica-junk",
      "big-tuples",       "fill-and-park",     "client-flood"};
  return kNames;
}

}  // namespace bastion::bench
