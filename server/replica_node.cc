// The replica node: the drive loop around bft::Replica (see replica_node.h for the contract).
#include "server/replica_node.h"

#include <time.h>

#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "bft/core/driver.h"
#include "bft/net/replica_transport.h"
#include "bft/storage/fold.h"
#include "bft/storage/replica_storage.h"
#include "codec/digest.h"
#include "codec/thread_annotations.h"
#include "confidentiality/reply.h"
#include "config/confidential_keys.h"
#include "server/checkpoint_capture.h"
#include "server/client_routes.h"
#include "server/execution_settings.h"
#include "server/http_server.h"
#include "server/node_crypto.h"
#include "server/node_metrics.h"
#include "server/node_report.h"
#include "server/node_settings.h"
#include "server/storage_worker.h"
#include "server/tuplespace_app.h"

namespace bastion::server {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

int exit_code(NodeErrc code) { return code == NodeErrc::kConfig ? 2 : 1; }

bft::TimeUs realtime_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<bft::TimeUs>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

namespace {

// The latest /status body, written by the io thread, read by HTTP threads.
struct StatusBoard {
  Mutex mutex;
  std::string json BASTION_GUARDED_BY(mutex) = "{}\n";
};

std::shared_ptr<spdlog::logger> default_logger(bft::ReplicaId id) {
  auto base = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("replica-" + std::to_string(id),
                                                 base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  return logger;
}

// A client session may be used from this many sessions per connection before the oldest is
// forgotten: what one well-behaved client process needs, far below what a flood would.
constexpr std::size_t kSessionsPerConnectionMax = 64;

}  // namespace

// The environment of the core's Driver: the storage thread, the transport, the capture.
class ReplicaNode::Impl : public std::enable_shared_from_this<ReplicaNode::Impl>,
                          private bft::DriverEnv {
 public:
  Impl(asio::io_context& io, config::ClusterConfig cluster, bft::ReplicaId id, NodeOptions options)
      : io_(io),
        cluster_(std::move(cluster)),
        id_(id),
        options_(std::move(options)),
        log_(options_.logger ? options_.logger : default_logger(id)),
        clock_(options_.clock ? options_.clock : realtime_us),
        tick_timer_(io),
        publish_timer_(io),
        byzantine_timer_(io),
        routes_(kSessionsPerConnectionMax),
        metrics_(std::make_shared<NodeMetrics>(id)),
        board_(std::make_shared<StatusBoard>()) {}

  ~Impl() { stop(); }

  Result<Done, NodeError> start();
  void stop();
  bool running() const { return running_; }
  void set_on_fatal(std::function<void(const NodeError&)> h) { on_fatal_ = std::move(h); }

  bft::ReplicaStatus status() const { return replica_ ? replica_->status() : bft::ReplicaStatus{}; }
  bft::Digest app_digest() const { return app_ ? app_->digest() : bft::Digest{}; }
  NodeSnapshot snapshot() const;
  std::uint16_t port() const { return port_; }
  std::uint16_t http_port() const { return http_port_; }
  const bft::Config& protocol_config() const { return settings_.protocol; }

 private:
  Result<Done, NodeError> open_storage(bft::PersistedState& recovered, bool& have_recovered);
  Result<Done, NodeError> start_http();

  bft::TimeUs now();
  void on_frame(const net::Peer& peer, net::ConnectionId connection, bft::ByteView frame);
  void schedule_flush();
  // bft::DriverEnv: answers a checkpoint's capture request (bft/core/state_capture.h), hands
  // records to the storage thread, carries out the rest of an output.
  bool answer_capture(const bft::CaptureRequest& request) override;
  Appended append(std::vector<bft::PersistRecord>& records, bool sync,
                  std::uint64_t records_end) override;
  void carry_out(bft::Output& out) override;
  void on_captured(std::uint64_t id, bft::CapturedState result);
  void flush();
  // Sends an output's messages and replies (the core holds back those that wait for the disk).
  void send(bft::Output& out);
  void send_message(const std::optional<bft::ReplicaId>& to, const bft::SharedBytes& bytes);
  // TEST ONLY (--byzantine): sends through the filter, later when it says so, and its own acts.
  void send_byzantine(const bft::OutMessage& m);
  void send_later(ByzantineSend s);
  void arm_byzantine();
  void on_durable(const SyncDone& done);
  // Pauses client reads while more than held_bytes_max wait for the disk, resumes at half.
  void apply_backpressure();
  void on_tick_timer();
  void arm_tick();
  void arm_publish();
  void publish();
  void observe_status();
  void log_links(const std::vector<net::LinkStatus>& links);
  void check_execution_settings();
  void fail_storage(const bft::storage::StorageError& error);
  // `reply` (an encoded ReplyMsg) with this replica's opened shares of the confidential tuples
  // it carries (confidentiality/reply.h); `reply` itself when it carries none.
  bft::SharedBytes with_opened_shares(const bft::SharedBytes& reply);
  void shut_down();

  asio::io_context& io_;
  config::ClusterConfig cluster_;
  bft::ReplicaId id_;
  NodeOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<bft::TimeUs()> clock_;
  NodeSettings settings_;

  std::unique_ptr<Ed25519Signer> signer_;
  std::unique_ptr<Ed25519Verifier> verifier_;
  // This replica's PVSS private key, when the cluster has PVSS keys: it opens this replica's
  // share of each confidential tuple in a reply as the reply is sent.
  std::optional<confidentiality::PvssSecretKey> pvss_key_;
  // The shares it opened lately: a tuple read again costs no group operations.
  confidentiality::ShareCache share_cache_{confidentiality::kShareCacheEntries,
                                           confidentiality::kShareCacheEntries};
  std::unique_ptr<TupleSpaceApp> app_;
  std::unique_ptr<StorageWorker> storage_;
  std::unique_ptr<CheckpointCapture> capture_;
  std::unique_ptr<bft::Replica> replica_;
  std::unique_ptr<bft::Driver> core_driver_;
  std::unique_ptr<net::ReplicaTransport> transport_;
  std::unique_ptr<HttpServer> http_;

  asio::steady_timer tick_timer_;
  bool tick_armed_ = false;
  bft::TimeUs tick_deadline_us_ = 0;
  asio::steady_timer publish_timer_;
  std::unique_ptr<ByzantineFilter> byzantine_;  // TEST ONLY: null unless --byzantine
  asio::steady_timer byzantine_timer_;
  std::map<std::uint64_t, std::shared_ptr<asio::steady_timer>> delayed_;  // by send number
  std::uint64_t delayed_next_ = 0;
  bool flush_posted_ = false;
  bool running_ = false;
  bft::TimeUs last_now_us_ = 0;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
  std::chrono::steady_clock::time_point started_at_{};

  // Records handed to the storage thread and not yet durable, by ticket. With the sends the core
  // holds until they are (Replica::held_send_bytes()), their bytes are what waits for the disk
  // (back-pressure).
  struct Unsynced {
    std::uint64_t ticket = 0;
    std::uint64_t bytes = 0;
    std::uint64_t records_end = 0;  // the core's count of records taken, up to this ticket's
  };
  std::deque<Unsynced> unsynced_;
  std::uint64_t unsynced_bytes_ = 0;

  ClientRoutes routes_;
  // Status queries of the current burst: (principal, nonce) -> connection. Cleared every flush.
  std::map<std::pair<std::string, std::uint64_t>, net::ConnectionId> status_queries_;
  DriverStats driver_;
  std::shared_ptr<NodeMetrics> metrics_;
  std::shared_ptr<StatusBoard> board_;
  bft::ReplicaStatus last_status_;
  std::map<net::ReplicaId, bool> link_up_;
  NodeSnapshot last_stats_;
  std::chrono::steady_clock::time_point last_stats_at_{};
  bft::storage::StorageStats final_storage_stats_;
  std::function<void(const NodeError&)> on_fatal_;
  // checkpoints.divergent as last seen: a rise means a repair began (check_execution_settings).
  std::uint64_t divergent_seen_ = 0;
};

// ---- start and stop -----------------------------------------------------------------------------

Result<Done, NodeError> ReplicaNode::Impl::start() {
  if (running_) return Done{};
  auto settings = node_settings(cluster_, id_);
  if (!settings) return fail(NodeError{NodeErrc::kConfig, settings.error().message});
  settings_ = std::move(*settings);
  if (options_.in_memory) settings_.in_memory = *options_.in_memory;
  if (!options_.data_dir.empty()) settings_.data_dir = options_.data_dir;
  if (options_.tune_protocol) options_.tune_protocol(settings_.protocol);
  if (options_.tune_transport) options_.tune_transport(settings_.transport);
  if (const std::string why = settings_.protocol.validate(); !why.empty()) {
    return fail(NodeError{NodeErrc::kConfig, cluster_.file.string() + ": protocol: " + why});
  }
  if (options_.byzantine && !cluster_.test.allow_byzantine) {
    return fail(NodeError{NodeErrc::kConfig,
                          cluster_.file.string() + ": --byzantine " +
                              byzantine_mode_name(*options_.byzantine) +
                              " needs [test] allow_byzantine = true in the cluster file (a "
                              "misbehaving replica is for measurements only)"});
  }
  if (settings_.batch_bytes_requested != 0) {
    log_->warn(
        "protocol.batch_max_bytes {} lowered to {} so that a batch plus one request fits "
        "protocol.frame_max_bytes",
        settings_.batch_bytes_requested, settings_.protocol.batch_max_bytes);
  }

  auto signer = load_signer(cluster_, id_);
  if (!signer) return fail(NodeError{NodeErrc::kConfig, signer.error().message});
  auto verifier = load_verifier(cluster_);
  if (!verifier) return fail(NodeError{NodeErrc::kConfig, verifier.error().message});
  signer_ = std::move(*signer);
  verifier_ = std::move(*verifier);
  if (cluster_.has_pvss_keys()) {
    auto pvss_key = config::load_pvss_key(cluster_.replicas[id_]);
    if (!pvss_key) return fail(NodeError{NodeErrc::kConfig, pvss_key.error().message});
    pvss_key_.emplace(std::move(*pvss_key));
  }
  if (options_.byzantine) {
    byzantine_ =
        std::make_unique<ByzantineFilter>(*options_.byzantine, id_, settings_.protocol, *signer_);
    if (const bft::TimeUs offset = byzantine_->clock_offset_us(); offset > 0) {
      clock_ = [base = clock_, offset] { return base() + offset; };
    }
    log_->warn("TEST ONLY: this replica misbehaves on purpose (--byzantine {})",
               byzantine_mode_name(*options_.byzantine));
  }
  AppSettings app_settings{
      cluster_.admins,
      cluster_.groups,
      policy::Limits{cluster_.policy.instructions_max, cluster_.policy.memory_bytes_max},
      {},
      ts::EngineLimits{cluster_.tuplespace.bytes_per_client_max,
                       cluster_.tuplespace.state_bytes_max},
      {}};
  for (const auto& r : cluster_.replicas) {
    if (r.pvss_public_key) app_settings.pvss_public_keys.push_back(*r.pvss_public_key);
  }
  app_settings.settings_digest = execution_settings_digest(settings_.protocol, app_settings);
  log_->info(
      "execution settings digest {} (admins, groups, policy budgets and the protocol limits that "
      "change execution: every replica must have the same)",
      codec::to_hex(app_settings.settings_digest));
  app_ = std::make_unique<TupleSpaceApp>(app_settings);

  bft::PersistedState recovered;
  bool have_recovered = false;
  if (auto r = open_storage(recovered, have_recovered); !r) return r;

  replica_ = std::make_unique<bft::Replica>(settings_.protocol, *app_, *signer_, *verifier_);
  core_driver_ = std::make_unique<bft::Driver>(*replica_, static_cast<bft::DriverEnv&>(*this));
  CheckpointCapture::Options co;
  co.thread_min_bytes = options_.capture_thread_min_bytes;
  capture_ = std::make_unique<CheckpointCapture>(
      io_, co, [weak = weak_from_this()](std::uint64_t id, bft::CapturedState result) {
        if (auto self = weak.lock(); self && self->running_)
          self->on_captured(id, std::move(result));
      });
  transport_ = std::make_unique<net::ReplicaTransport>(io_, settings_.transport);
  transport_->on_frame([this](const net::Peer& peer, net::ConnectionId c, bft::ByteView frame) {
    on_frame(peer, c, frame);
  });
  transport_->on_disconnect([this](net::ConnectionId c) { routes_.drop_connection(c); });
  if (auto r = transport_->start(); !r) {
    transport_.reset();
    storage_.reset();
    return fail(NodeError{NodeErrc::kNetwork, "replica " + std::to_string(id_) + ": " + r.error()});
  }
  port_ = transport_->local_port();
  if (auto r = start_http(); !r) {
    transport_->stop();
    transport_.reset();
    storage_.reset();
    return r;
  }

  running_ = true;
  started_at_ = std::chrono::steady_clock::now();
  last_stats_at_ = started_at_;
  replica_->start(now(), have_recovered ? &recovered : nullptr);
  last_status_ = replica_->status();
  if (auto before = app_->take_adopted_settings()) {
    log_->warn(
        "the recovered state was written under other execution settings (digest {}, now {}): the "
        "cluster file changed since this replica's last checkpoint. If the other replicas do not "
        "run the same settings, this replica stops at its next checkpoint",
        codec::to_hex(*before), codec::to_hex(app_->settings_digest()));
  }
  const config::ReplicaConfig& self = cluster_.replicas[id_];
  const std::string host =
      settings_.transport.listen_host.empty() ? self.host : settings_.transport.listen_host;
  log_->info("replica {} serving on {}:{} (view {}, last executed {}, stable checkpoint {}, {}{})",
             id_, host, port_, last_status_.view, last_status_.last_executed,
             last_status_.stable_checkpoint,
             settings_.in_memory ? "in memory" : "data in " + settings_.data_dir.string(),
             http_ ? ", metrics on http://" + options_.http_host + ":" +
                         std::to_string(http_port_) + "/metrics"
                   : "");
  flush();
  last_stats_ = snapshot();
  publish();
  arm_publish();
  if (byzantine_) arm_byzantine();
  return Done{};
}

Result<Done, NodeError> ReplicaNode::Impl::open_storage(bft::PersistedState& recovered,
                                                        bool& have_recovered) {
  auto on_durable = [weak = weak_from_this()](const SyncDone& done) {
    if (auto self = weak.lock(); self && self->storage_) self->on_durable(done);
  };
  auto on_failed = [weak = weak_from_this()](const bft::storage::StorageError& error) {
    if (auto self = weak.lock(); self && self->storage_) self->fail_storage(error);
  };
  if (settings_.in_memory) {
    storage_ = std::make_unique<StorageWorker>(io_, bft::storage::ReplicaStorage::in_memory(),
                                               on_durable, on_failed);
    return Done{};
  }
  const std::string dir = settings_.data_dir.string();
  bft::storage::StorageOptions so;
  // A record holds at most one message's worth of batch (plus its header).
  so.record_bytes_max = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
      settings_.protocol.message_bytes_max + (64u << 10), so.record_bytes_max, 0xffffffffu));
  so.checkpoint_bytes_max = settings_.protocol.snapshot_bytes_max;
  bft::storage::FileSystem& fs =
      options_.file_system ? *options_.file_system : bft::storage::posix_file_system();
  auto opened = bft::storage::ReplicaStorage::open(fs, dir, so);
  if (!opened) {
    return fail(
        NodeError{NodeErrc::kStorage, "data directory " + dir + ": " + opened.error().to_string()});
  }
  const bft::storage::RecoveryReport& report = opened->report;
  if (!report.torn_file.empty()) {
    log_->warn("storage: cut a torn write of {} bytes at the end of {} (offset {})",
               report.torn_bytes, report.torn_file, report.torn_offset);
  }
  if (!opened->records.empty()) {
    log_->info("storage: recovered {} records from {} segments and {} checkpoint bytes in {}{}",
               report.records, report.segments, report.checkpoint_bytes, dir,
               report.clean_stop ? " after a clean stop"
                                 : " after a crash (no vote in its last view: it may have lost "
                                   "the record of one)");
    recovered = bft::storage::fold(opened->records);
    recovered.clean_stop = report.clean_stop;
    have_recovered = true;
  }
  storage_ =
      std::make_unique<StorageWorker>(io_, std::move(opened->storage), on_durable, on_failed);
  return Done{};
}

Result<Done, NodeError> ReplicaNode::Impl::start_http() {
  if (!options_.serve_http) return Done{};
  const std::uint16_t port = options_.http_port.value_or(cluster_.replicas[id_].metrics_port);
  http_ = std::make_unique<HttpServer>();
  // The handlers only read thread-safe objects they share ownership of.
  http_->handle("/metrics", [metrics = metrics_] {
    return HttpResponse{"text/plain; version=0.0.4", metrics->render()};
  });
  http_->handle("/status", [board = board_] {
    MutexLock lock(board->mutex);
    return HttpResponse{"application/json", board->json};
  });
  if (auto r = http_->start(options_.http_host, port); !r) {
    http_.reset();
    return fail(NodeError{NodeErrc::kHttp, "replica " + std::to_string(id_) + ": " + r.error()});
  }
  http_port_ = http_->port();
  return Done{};
}

void ReplicaNode::Impl::stop() {
  if (!running_) return;
  // What the core produced since the last flush is made durable (votes and commits it may have
  // counted on); nothing more is sent.
  bft::Output out = replica_->take_output();
  if (storage_) {
    storage_->submit(std::move(out.persist), true);
    if (auto r = storage_->drain(); !r) {
      log_->error("storage: final sync failed: {}", r.error().to_string());
    }
  }
  shut_down();
  log_->info("replica {} stopped (view {}, last executed {})", id_, last_status_.view,
             replica_->status().last_executed);
}

// Everything but the replica and the application, which stay readable (status, digest).
void ReplicaNode::Impl::shut_down() {
  running_ = false;
  tick_timer_.cancel();
  tick_armed_ = false;
  publish_timer_.cancel();
  byzantine_timer_.cancel();
  for (auto& [number, timer] : delayed_) timer->cancel();
  delayed_.clear();
  unsynced_.clear();
  unsynced_bytes_ = 0;
  if (transport_) transport_->stop();
  http_.reset();  // closes scrapers' connections too
  http_port_ = 0;
  if (storage_) final_storage_stats_ = storage_->stats();
  // Releases the data directory's lock: a new node may open it at once.
  storage_.reset();
}

void ReplicaNode::Impl::fail_storage(const bft::storage::StorageError& error) {
  const std::string message =
      "storage failed, stopping (a restart recovers what was durable): " + error.to_string();
  log_->critical("{}", message);
  shut_down();
  if (on_fatal_) on_fatal_(NodeError{NodeErrc::kStorage, message});
}

// ---- events -------------------------------------------------------------------------------------

bft::TimeUs ReplicaNode::Impl::now() {
  last_now_us_ = std::max(last_now_us_, clock_());
  return last_now_us_;
}

bool ReplicaNode::Impl::answer_capture(const bft::CaptureRequest& request) {
  std::optional<bft::CapturedState> result =
      capture_->capture(request.id, [this] { return replica_->checkpoint_state(); });
  if (result) {
    replica_->on_checkpoint_captured(request.id, *result, now());
  } else {
    replica_->on_checkpoint_capture_started(request.id, now());
  }
  return true;
}

void ReplicaNode::Impl::on_captured(std::uint64_t id, bft::CapturedState result) {
  replica_->on_checkpoint_captured(id, result, now());
  schedule_flush();
}

void ReplicaNode::Impl::on_frame(const net::Peer& peer, net::ConnectionId connection,
                                 bft::ByteView frame) {
  if (!running_) return;
  if (peer.is_replica()) {
    ++driver_.replica_frames_in;
    if (byzantine_) byzantine_->observe(frame);
    replica_->on_replica_message(peer.replica_id, frame, now());
  } else {
    ++driver_.client_frames_in;
    if (auto session = peek_request_session(frame)) {
      routes_.note(bft::ClientKey{peer.name, *session}, connection);
    } else if (auto nonce = peek_status_query_nonce(frame)) {
      // The core answers a status query at once, so the report is in this burst's output.
      status_queries_[{peer.name, *nonce}] = connection;
    }
    replica_->on_client_message(peer.name, frame, now());
  }
  schedule_flush();
}

// Group commit: the flush runs after the handlers that are ready now, so the frames that arrived
// together share one sync.
void ReplicaNode::Impl::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->flush();
  });
}

void ReplicaNode::Impl::on_tick_timer() {
  tick_armed_ = false;
  if (!running_) return;
  ++driver_.ticks;
  replica_->on_tick(now());
  flush();
}

void ReplicaNode::Impl::arm_tick() {
  const std::optional<bft::TimeUs> next = replica_->next_tick_us();
  if (!next) {
    if (tick_armed_) tick_timer_.cancel();
    tick_armed_ = false;
    return;
  }
  if (tick_armed_ && *next == tick_deadline_us_) return;
  tick_armed_ = true;
  tick_deadline_us_ = *next;
  const bft::TimeUs delay_us = std::max<bft::TimeUs>(0, *next - now());
  tick_timer_.expires_after(std::chrono::microseconds(delay_us));
  tick_timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_tick_timer();
  });
}

// ---- carrying out effects -----------------------------------------------------------------------

void ReplicaNode::Impl::flush() {
  flush_posted_ = false;
  if (!running_) return;
  core_driver_->run();
  if (!running_) return;  // storage failed
  // Also after an output the core held entirely (its sends wait for the disk).
  apply_backpressure();
  status_queries_.clear();
  observe_status();
  check_execution_settings();
  if (!running_) return;
  arm_tick();
}

// The storage thread makes a turn's records durable (turns that arrive during a sync share the
// next one) while the io thread goes on.
bft::DriverEnv::Appended ReplicaNode::Impl::append(std::vector<bft::PersistRecord>& records,
                                                   bool sync, std::uint64_t records_end) {
  if (records.empty() && !sync) return unsynced_.empty() ? Appended::kDurable : Appended::kLater;
  driver_.persist_records += records.size();
  const std::uint64_t record_bytes = settings_.in_memory ? 0 : encoded_bytes(records);
  const std::uint64_t ticket = storage_->submit(std::move(records), sync);
  if (ticket == 0) {
    // Nothing waits for the disk (in memory) unless earlier records still do.
    return unsynced_.empty() ? Appended::kDurable : Appended::kLater;
  }
  unsynced_.push_back(Unsynced{ticket, record_bytes, records_end});
  unsynced_bytes_ += record_bytes;
  return Appended::kLater;
}

void ReplicaNode::Impl::carry_out(bft::Output& out) {
  if (out.empty()) return;
  ++driver_.turns;
  // The messages and the replies: the core holds back those that wait for records to be durable
  // (Output::sync) until on_durable() reports them.
  send(out);

  // Status reports answer queries of this burst and depend on nothing durable.
  for (const bft::OutStatusReport& r : out.status_reports) {
    auto it = status_queries_.find({r.principal, r.nonce});
    if (it != status_queries_.end() && transport_->send_to_connection(it->second, r.bytes)) {
      ++driver_.status_reports_sent;
    } else {
      ++driver_.replies_unroutable;
    }
  }

  if (!out.executed.empty() && out.executed.front().replayed) {
    std::size_t replayed = 0;
    for (const bft::Executed& e : out.executed) replayed += e.replayed ? 1 : 0;
    log_->info("re-executed {} committed batches from the log (up to seq {})", replayed,
               out.executed.back().seq);
  }
  if (log_->should_log(spdlog::level::debug)) {
    for (const bft::Executed& e : out.executed) {
      if (e.replayed) continue;
      log_->debug("executed seq {} view {} with {} requests{}", e.seq, e.view, e.requests,
                  e.null_batch ? " (null batch)" : "");
    }
    if (out.stable_checkpoint) log_->debug("checkpoint {} is stable", *out.stable_checkpoint);
  }
}

void ReplicaNode::Impl::send_message(const std::optional<bft::ReplicaId>& to,
                                     const bft::SharedBytes& bytes) {
  const std::uint8_t type = bytes && bytes->size() > 1 ? (*bytes)[1] : 0;
  if (to) {
    if (transport_->send_to_replica(*to, bytes)) {
      ++driver_.messages_out[type];
    } else {
      ++driver_.messages_refused;
    }
  } else {
    const std::size_t others = settings_.protocol.n - 1;
    const std::size_t taken = transport_->broadcast(bytes);
    driver_.messages_out[type] += taken;
    driver_.messages_refused += others - std::min(others, taken);
  }
}

void ReplicaNode::Impl::send_byzantine(const bft::OutMessage& m) {
  std::vector<ByzantineSend> sends;
  byzantine_->outgoing(m, sends);
  for (ByzantineSend& s : sends) {
    if (s.delay_us > 0) {
      send_later(std::move(s));
    } else {
      send_message(s.to, s.bytes);
    }
  }
}

void ReplicaNode::Impl::send_later(ByzantineSend s) {
  auto timer = std::make_shared<asio::steady_timer>(io_);
  const std::uint64_t number = delayed_next_++;
  delayed_.emplace(number, timer);
  timer->expires_after(std::chrono::microseconds(s.delay_us));
  timer->async_wait([weak = weak_from_this(), number, s = std::move(s)](const error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || !self->running_) return;
    self->delayed_.erase(number);
    self->send_message(s.to, s.bytes);
  });
}

void ReplicaNode::Impl::arm_byzantine() {
  const bft::TimeUs interval_us = byzantine_->act_interval_us();
  if (interval_us <= 0) return;
  byzantine_timer_.expires_after(std::chrono::microseconds(interval_us));
  byzantine_timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || !self->running_) return;
    std::vector<ByzantineSend> sends;
    self->byzantine_->act(sends);
    for (const ByzantineSend& s : sends) self->send_message(s.to, s.bytes);
    self->arm_byzantine();
  });
}

void ReplicaNode::Impl::send(bft::Output& out) {
  for (const bft::OutMessage& m : out.messages) {
    if (byzantine_) {
      send_byzantine(m);
    } else {
      send_message(m.to, m.bytes);
    }
  }
  const bool confidential = pvss_key_ && app_->engine().has_confidential_spaces();
  for (const bft::OutReply& r : out.replies) {
    const auto connection = routes_.find(r.client);
    if (!connection) {
      ++driver_.replies_unroutable;
    } else if (transport_->send_to_connection(
                   *connection, confidential ? with_opened_shares(r.bytes) : r.bytes)) {
      ++driver_.replies_sent;
    } else {
      ++driver_.replies_refused;
    }
  }
}

bft::SharedBytes ReplicaNode::Impl::with_opened_shares(const bft::SharedBytes& reply) {
  auto decoded = bft::decode_message(*reply, bft::Channel::kToClient);
  auto* msg = decoded.ok() ? std::get_if<bft::ReplyMsg>(&*decoded) : nullptr;
  if (msg == nullptr || msg->status != static_cast<std::uint8_t>(bft::ReplyStatus::kOk)) {
    return reply;
  }
  // TEST ONLY (bad-shares): a key of its own making, so every share it opens is wrong.
  static const confidentiality::PvssSecretKey kLie = confidentiality::PvssSecretKey::generate();
  const bool lie = byzantine_ && byzantine_->mode() == ByzantineMode::kBadShares;
  auto result = confidentiality::with_opened_shares(msg->result, lie ? kLie : *pvss_key_, id_,
                                                    lie ? nullptr : &share_cache_);
  if (!result) return reply;
  msg->result = std::move(*result);
  return std::make_shared<const bft::Bytes>(bft::encode_message(*decoded));
}

void ReplicaNode::Impl::on_durable(const SyncDone& done) {
  if (!running_) return;
  ++driver_.syncs;
  driver_.sync_ns += done.sync_ns;
  driver_.sync_ns_max = std::max(driver_.sync_ns_max, done.sync_ns);
  metrics_->observe_sync(static_cast<double>(done.sync_ns) / 1e9);
  std::optional<std::uint64_t> records;
  while (!unsynced_.empty() && unsynced_.front().ticket <= done.ticket) {
    unsynced_bytes_ -= unsynced_.front().bytes;
    records = unsynced_.front().records_end;
    unsynced_.pop_front();
  }
  if (records) core_driver_->durable(*records);
  flush();  // the sends that waited for these records, and back-pressure
}

// Only client reads pause: they are what this replica's clients make it hold (replies to
// retransmissions and read-only requests, batches of their requests while primary). Replica links
// carry the cluster's ordering: pausing them would not make the others order less, only stall
// this replica (the PREPAREs and COMMITs it needs to execute and reply arrive on them) and make it
// look faulty to the others (view changes). A backup whose disk is slower than the
// others' ordering still accumulates their records; the gauge shows it (docs/operations.md,
// "Back-pressure"). The disk drains by itself, so durability alone brings the bytes back down:
// every on_durable() calls this, and a paused node resumes without any frame having to arrive.
void ReplicaNode::Impl::apply_backpressure() {
  const std::uint64_t held = replica_->held_send_bytes() + unsynced_bytes_;
  driver_.held_bytes = held;
  driver_.held_bytes_peak = std::max(driver_.held_bytes_peak, held);
  if (!driver_.client_reads_paused && held > settings_.held_bytes_max) {
    driver_.client_reads_paused = true;
    ++driver_.client_read_pauses;
    transport_->pause_client_reads(true);
    log_->debug("client reads paused: {} bytes wait for the disk (transport.held_bytes_max {})",
                held, settings_.held_bytes_max);
  } else if (driver_.client_reads_paused && held <= settings_.held_bytes_max / 2) {
    driver_.client_reads_paused = false;
    transport_->pause_client_reads(false);
    log_->debug("client reads resumed: {} bytes wait for the disk", held);
  }
}

// One line per protocol-level change an operator cares about.
void ReplicaNode::Impl::observe_status() {
  const bft::ReplicaStatus s = replica_->status();
  const bft::ReplicaStatus& was = last_status_;
  if (s.view_changing && (!was.view_changing || s.view != was.view)) {
    log_->warn("view change: moving to view {} (primary of view {} was {})", s.view, was.view,
               was.primary);
  } else if (!s.view_changing && (was.view_changing || s.view != was.view)) {
    log_->info("entered view {}, primary {}", s.view, s.primary);
  }
  if (s.fetching_state && !was.fetching_state) {
    log_->warn(
        "state transfer: fetching a checkpoint from the others (last executed {}, stable {})",
        s.last_executed, s.stable_checkpoint);
  } else if (!s.fetching_state && was.fetching_state) {
    log_->info("state transfer done: stable checkpoint {}, last executed {}", s.stable_checkpoint,
               s.last_executed);
  }
  last_status_ = s;
}

// A snapshot made under other execution settings is refused while the replica repairs a
// checkpoint its own execution got wrong (2f+1 others proved another state for it): their state
// then differs because their settings do, and installing it would only diverge again. Otherwise
// (a catch-up, possibly to a checkpoint from before a change of settings on every replica) it is
// adopted, with a warning. The core reports a repair only by counting it, and installs state only
// after fetching it from peers, so the switch is always made before the install.
void ReplicaNode::Impl::check_execution_settings() {
  const bft::Counters& counters = replica_->counters();
  const auto divergent = counters.find("checkpoints.divergent");
  const std::uint64_t seen = divergent == counters.end() ? 0 : divergent->second;
  if (seen != divergent_seen_) {
    divergent_seen_ = seen;
    app_->set_foreign_settings(ForeignSettings::kRefuse);
  } else if (!last_status_.fetching_state) {
    app_->set_foreign_settings(ForeignSettings::kAdopt);
  }
  if (auto adopted = app_->take_adopted_settings()) {
    log_->warn(
        "installed a checkpoint made under other execution settings (digest {}, this replica's "
        "{}); if the other replicas still run those, this replica stops at its next checkpoint",
        codec::to_hex(*adopted), codec::to_hex(app_->settings_digest()));
  }
  if (const auto& theirs = app_->settings_conflict()) {
    const std::string message =
        "cluster file differs from the other replicas (execution settings digest " +
        codec::to_hex(app_->settings_digest()) + ", theirs " + codec::to_hex(*theirs) +
        "): admins, [groups], [policy] or the [protocol] limits that change execution are not "
        "the same on every replica; stopping. Make the files agree (docs/operations.md, "
        "\"Execution settings\") and restart";
    log_->critical("{}", message);
    stop();
    if (on_fatal_) on_fatal_(NodeError{NodeErrc::kConfig, message});
  }
}

// ---- reporting ----------------------------------------------------------------------------------

NodeSnapshot ReplicaNode::Impl::snapshot() const {
  NodeSnapshot s;
  if (replica_) {
    s.status = replica_->status();
    s.core = replica_->counters();
    s.sizes = replica_->debug_sizes();
  }
  s.driver = driver_;
  if (transport_) {
    s.transport = transport_->stats();
    s.links = transport_->links();
  }
  s.storage = storage_ ? storage_->stats() : final_storage_stats_;
  s.in_memory = settings_.in_memory;
  if (signer_) s.signer = signer_->stats();
  if (verifier_) s.verifier = verifier_->stats();
  if (capture_) s.capture = capture_->stats();
  if (app_) {
    s.policy = app_->policy_counters();
    s.execution_settings_digest = app_->settings_digest();
  }
  s.routed_sessions = routes_.sessions();
  s.client_connections = s.transport.client_connections_open;
  s.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started_at_)
                    .count();
  if (id_ < cluster_.replicas.size()) {
    s.listen = cluster_.replicas[id_].host + ":" + std::to_string(port_);
  }
  return s;
}

void ReplicaNode::Impl::arm_publish() {
  publish_timer_.expires_after(options_.publish_interval);
  publish_timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || !self->running_) return;
    self->publish();
    self->arm_publish();
  });
}

void ReplicaNode::Impl::publish() {
  NodeSnapshot s = snapshot();
  metrics_->publish(s);
  {
    std::string json = status_json(s);
    MutexLock lock(board_->mutex);
    board_->json = std::move(json);
  }
  log_links(s.links);
  const auto now = std::chrono::steady_clock::now();
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_stats_at_);
  if (since >= options_.stats_log_interval) {
    log_->info("{}", stats_line(last_stats_, s, since.count()));
    last_stats_ = std::move(s);
    last_stats_at_ = now;
  }
}

void ReplicaNode::Impl::log_links(const std::vector<net::LinkStatus>& links) {
  for (const net::LinkStatus& l : links) {
    const bool up = l.state == net::LinkState::kConnected;
    auto [it, inserted] = link_up_.try_emplace(l.replica, false);
    if (up == it->second) continue;
    it->second = up;
    if (up) {
      log_->info("connected to replica {}", l.replica);
    } else {
      log_->warn("lost the link to replica {}{}{}", l.replica, l.last_error.empty() ? "" : ": ",
                 l.last_error);
    }
  }
}

// ---- facade -------------------------------------------------------------------------------------

ReplicaNode::ReplicaNode(asio::io_context& io, config::ClusterConfig cluster, bft::ReplicaId id,
                         NodeOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(cluster), id, std::move(options))) {}

ReplicaNode::~ReplicaNode() { impl_->stop(); }

Result<Done, NodeError> ReplicaNode::start() { return impl_->start(); }
void ReplicaNode::stop() { impl_->stop(); }
bool ReplicaNode::running() const { return impl_->running(); }
void ReplicaNode::on_fatal(std::function<void(const NodeError&)> handler) {
  impl_->set_on_fatal(std::move(handler));
}
bft::ReplicaStatus ReplicaNode::status() const { return impl_->status(); }
bft::Digest ReplicaNode::app_digest() const { return impl_->app_digest(); }
NodeSnapshot ReplicaNode::snapshot() const { return impl_->snapshot(); }
std::uint16_t ReplicaNode::port() const { return impl_->port(); }
std::uint16_t ReplicaNode::http_port() const { return impl_->http_port(); }
const bft::Config& ReplicaNode::protocol_config() const { return impl_->protocol_config(); }

}  // namespace bastion::server
