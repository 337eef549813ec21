// The deterministic cluster simulator; see simulation.h.
#include "bft/sim/simulation.h"

#include <algorithm>
#include <deque>
#include <iostream>
#include <map>
#include <queue>
#include <sstream>
#include <tuple>

#include "bft/core/client_core.h"
#include "bft/core/driver.h"
#include "bft/sim/app.h"
#include "bft/sim/checks.h"
#include "bft/sim/clock.h"
#include "bft/sim/describe.h"
#include "bft/sim/kv_app.h"
#include "bft/sim/linearizability.h"
#include "bft/sim/recording_app.h"
#include "bft/sim/sim_crypto.h"
#include "bft/storage/fault_file_system.h"
#include "bft/storage/fold.h"
#include "bft/storage/replica_storage.h"
#include "codec/check.h"

namespace bastion::bft::sim {
namespace {

const AppPlugin& key_value_app() {
  static const AppPlugin kv = kv_app_plugin();
  return kv;
}

// The throughput check needs enough operations on both sides to compare medians.
constexpr std::size_t kThroughputWarmupOpsMin = 5;
constexpr std::size_t kThroughputTailOpsMin = 8;

enum class EventKind : std::uint8_t {
  kReplicaMsg,     // a: from replica, b: to replica
  kClientMsg,      // a: client, b: to replica
  kReply,          // a: from replica, b: client
  kReplicaTick,    // a: replica, token
  kClientTick,     // a: client, token
  kClientOp,       // a: client, token (op number to abandon, for Byzantine clients)
  kCrash,          // a: replica, b: torn
  kRestart,        // a: replica
  kPartition,      // token: index into partitions_
  kHealPartition,  // token: partition index
  kHeal,           // end of the fault phase
  kByzAct,         // a: replica
  kProbe,          // a: probe index
  kCheck,
  kDiskSync,      // a: replica, token: the driver syncs what it appended
  kCaptureDone,   // a: replica, b: its incarnation, token: capture id, bytes: state (null: failed)
  kWarmupEnd,     // faults and Byzantine behaviours start
  kByzClientAct,  // a: client (a Byzantine client's floods, session churn and waiters)
};

const char* kind_name(EventKind k) {
  switch (k) {
    case EventKind::kReplicaMsg:
      return "replica-msg";
    case EventKind::kClientMsg:
      return "client-msg";
    case EventKind::kReply:
      return "reply";
    case EventKind::kReplicaTick:
      return "replica-tick";
    case EventKind::kClientTick:
      return "client-tick";
    case EventKind::kClientOp:
      return "client-op";
    case EventKind::kCrash:
      return "crash";
    case EventKind::kRestart:
      return "restart";
    case EventKind::kPartition:
      return "partition";
    case EventKind::kHealPartition:
      return "heal-partition";
    case EventKind::kHeal:
      return "heal";
    case EventKind::kByzAct:
      return "byzantine-act";
    case EventKind::kProbe:
      return "probe";
    case EventKind::kCheck:
      return "check";
    case EventKind::kDiskSync:
      return "disk-sync";
    case EventKind::kCaptureDone:
      return "capture-done";
    case EventKind::kWarmupEnd:
      return "warmup-end";
    case EventKind::kByzClientAct:
      return "byzantine-client-act";
  }
  return "?";
}

struct Event {
  TimeUs time_us = 0;
  std::uint64_t seq = 0;
  EventKind kind = EventKind::kCheck;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::uint64_t token = 0;
  SharedBytes bytes;
};

struct Later {
  bool operator()(const Event& x, const Event& y) const {
    return std::tie(x.time_us, x.seq) > std::tie(y.time_us, y.seq);
  }
};

SharedBytes share(Bytes b) { return std::make_shared<const Bytes>(std::move(b)); }

struct ReplicaHost {
  ReplicaId id = 0;
  Config config;
  SimClock clock;
  PersistedStateBuilder disk;  // durable records
  std::uint64_t persisted_records = 0;
  // Appended but not durable yet: made durable by an output that demands it, or by the driver's
  // next sync a little later (kDiskSync); a crash keeps a random prefix of them.
  std::vector<PersistRecord> unsynced;
  // SimOptions::real_storage: the records go through bft/storage instead, over a file system
  // that survives the replica's crashes (and loses or tears what was not synced).
  std::unique_ptr<storage::FaultFileSystem> fs;
  std::unique_ptr<storage::ReplicaStorage> storage;
  std::uint64_t storage_unsynced = 0;  // records appended since the last sync
  std::uint64_t sync_token = 0;
  bool sync_scheduled = false;
  std::unique_ptr<SimSigner> signer;
  std::unique_ptr<RecordingApp> app;
  std::unique_ptr<Replica> core;
  std::unique_ptr<DriverEnv> env;  // Simulation::Impl::HostEnv
  // The current incarnation's driver: replaced at each start, unused while the replica is down
  // (a crash inside its run() leaves it there).
  std::unique_ptr<Driver> driver;
  std::unique_ptr<ByzantineFilter> byz;
  // kStaleRead: an old copy of the application state, and the payloads of recent read-only
  // requests (to answer them from the old copy).
  std::unique_ptr<StateMachine> stale_app;
  std::map<std::tuple<std::string, std::uint64_t, std::uint64_t>, Bytes> read_only_payloads;
  bool torn_armed = false;  // the next sync writes a prefix of the records, then crashes
  std::uint64_t tick_token = 0;
  std::optional<TimeUs> tick_at;
  std::uint32_t stalled_ticks = 0;
  std::uint64_t incarnations = 0;
  Counters last_counters;  // kept across a crash for reporting
  // The last state this incarnation's driver hashed: the next capture takes the digests of the
  // pages they share from it, as bastiond's capture worker does.
  std::optional<CapturedState> last_capture;
};

struct ClientHost {
  std::uint32_t index = 0;
  std::string principal;
  bool byzantine = false;
  ClientConfig config;
  std::unique_ptr<ClientCore> core;
  std::uint32_t ops_left = 0;
  struct Current {
    std::uint64_t number = 0;
    WorkloadOp op;
    std::size_t history = 0;
    TimeUs invoke_us = 0;
    bool waited = false;  // the application held it (a provisional kPending reply came)
  };
  std::optional<Current> current;
  // Byzantine client: what each replica receives for the current number (nullopt: nothing),
  // its behaviours, the replica it favours (kOneReplica), and its extra sessions (floods, churn,
  // waiters) with the next request number of each.
  std::vector<std::optional<SharedBytes>> byz_sends;
  std::vector<ByzClientBehaviour> byz_behaviours;
  ReplicaId one_replica = 0;
  std::map<std::uint64_t, std::uint64_t> byz_sessions;
  std::uint64_t next_byz_session = 0;
  bool flooder = false;  // the second Byzantine client (floods, churn, waiters)
  std::uint64_t tick_token = 0;
  std::optional<TimeUs> tick_at;
};

struct PartitionPlan {
  std::vector<std::uint8_t> sides;  // every endpoint
  TimeUs until_us = 0;
};

}  // namespace

class Simulation::Impl {
 public:
  explicit Impl(SimOptions options);

  // Scripted faults.
  void set_heal_time(TimeUs at) { heal_us_ = at; }
  void set_network(const NetworkParams& p) {
    faulty_params_ = p;
    healthy_params_ = p;
    healthy_params_.drop = 0;
  }
  void crash(ReplicaId r, TimeUs at, bool torn) { push(at, EventKind::kCrash, r, torn ? 1 : 0); }
  void restart(ReplicaId r, TimeUs at) { push(at, EventKind::kRestart, r); }
  void partition(std::vector<std::uint8_t> replica_sides, TimeUs from, TimeUs until);
  void make_byzantine(ReplicaId r, ByzProfile profile);
  void every(TimeUs period, std::function<void(Simulation&)> probe);

  RunResult run(Simulation& outer);

  // Introspection.
  TimeUs now() const { return now_us_; }
  const ReplicaHost& host(ReplicaId r) const { return replicas_.at(r); }
  const Config& config() const { return base_config_; }
  Config& mutable_config() { return base_config_; }
  std::uint32_t n() const { return n_; }
  std::uint32_t f() const { return options_.f; }

 private:
  // Setup.
  void choose_config();
  void choose_clocks();
  void choose_byzantine();
  void plan_random_faults();
  void start_replica(ReplicaHost& h, const PersistedState* recovered);
  bool sync_disk(ReplicaHost& h);
  // Answers a checkpoint's capture request: on the spot, or like the daemon's worker thread (the
  // state taken now, its digest reported later; here also, at times, a failure).
  void capture(ReplicaHost& h, const CaptureRequest& request);
  CapturedState hash_capture(ReplicaHost& h, StateBytes state);
  void keep_unsynced(ReplicaHost& h);
  void start_clients();

  // Event queue.
  void push(TimeUs at, EventKind kind, std::uint32_t a = 0, std::uint32_t b = 0,
            std::uint64_t token = 0, SharedBytes bytes = nullptr);
  void dispatch(const Event& e);
  void trace(const Event& e);
  void trace_line(std::string line);

  // Replicas.
  TimeUs local(const ReplicaHost& h) const { return h.clock.local(now_us_); }
  // The Driver's environment for one replica: the model disk (or bft/storage), the network.
  class HostEnv;
  void drain(ReplicaHost& h);
  DriverEnv::Appended append(ReplicaHost& h, std::vector<PersistRecord>& records, bool sync);
  void carry_out(ReplicaHost& h, Output& out);
  // Sends a turn's messages and replies (through the Byzantine filter of a Byzantine replica).
  void deliver(ReplicaHost& h, Output& out);
  void record_executed(ReplicaHost& h, const Output& out);
  void schedule_tick(ReplicaHost& h);
  void do_crash(ReplicaHost& h, const char* why);
  void do_restart(ReplicaHost& h);
  // SimOptions::real_storage: opens (recovering) the replica's storage and starts it.
  void start_from_storage(ReplicaHost& h);
  bool sync_storage(ReplicaHost& h);
  void send_replica_to_replica(ReplicaId from, ReplicaId to, const SharedBytes& b, TimeUs extra);
  void send_reply(ReplicaId from, std::uint32_t client, const SharedBytes& b, TimeUs extra);
  void byz_act(ReplicaHost& h);
  void remember_read_only(ReplicaHost& h, const Event& e);
  void arm_byzantine(ReplicaHost& h, ByzProfile profile);

  // Clients.
  void client_next_op(ClientHost& c, std::uint64_t token);
  void drain_client(ClientHost& c);
  void schedule_client_tick(ClientHost& c);
  void client_completed(ClientHost& c, ClientCompletion& done);
  void client_send(ClientHost& c, const ClientSend& s);
  bool byz_client_has(const ClientHost& c, ByzClientBehaviour b) const;
  void choose_byzantine_client(ClientHost& c);
  void byz_client_act(ClientHost& c);
  void byz_client_send_raw(ClientHost& c, std::uint64_t session, const WorkloadOp& op, bool one);
  void end_warmup();
  void set_edge_clocks();

  // Checks.
  void periodic_check();
  void check_memory();
  bool workload_done() const;
  bool converged() const;
  void final_checks();
  // Measures the warm-up's and the tail's latencies (RunStats) and, if `judge`, checks them.
  void check_throughput(bool judge);
  std::vector<std::string> describe_cluster() const;
  void fail(std::string what) { checker_.fail(std::move(what)); }
  bool correct(ReplicaId r) const { return !replicas_[r].byz; }
  // A Byzantine replica is the primary of a view a correct replica is in (in the normal case),
  // or a correct replica is alone in a view change: throughput is the Byzantine replicas' to set
  // (the throughput check counts such operations only when strict).
  bool degraded() const;
  // Samples degraded() (at every invocation, response and periodic check).
  void note_degraded() {
    if (degraded()) last_degraded_us_ = now_us_;
  }

  SimOptions options_;
  const AppPlugin* app_;
  std::uint32_t n_;
  Rng rng_;
  Rng config_rng_;
  Rng plan_rng_;
  Rng byz_rng_;
  Rng client_rng_;
  std::vector<SimKey> keys_;
  SimVerifier verifier_;
  Config base_config_;
  TimeUs capture_delay_max_us_ = 0;  // 0: checkpoint states are captured on the spot
  double capture_failure_ = 0;
  NetworkParams faulty_params_;
  NetworkParams healthy_params_;
  SimNetwork network_;
  std::unique_ptr<Workload> workload_;
  std::unique_ptr<SequentialModel> model_;
  std::vector<ReplicaHost> replicas_;
  // States taken for captures answered later, by (replica, incarnation, capture id).
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>, StateBytes> captures_;
  std::vector<ClientHost> clients_;
  std::map<std::string, std::uint32_t> client_by_principal_;
  std::uint32_t correct_clients_;
  std::vector<PartitionPlan> partitions_;
  std::uint64_t active_partition_ = UINT64_MAX;
  std::vector<std::pair<TimeUs, std::function<void(Simulation&)>>> probes_;
  std::vector<std::pair<ReplicaId, ByzProfile>> scripted_byz_;

  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::uint64_t next_seq_ = 0;
  TimeUs now_us_ = 0;
  TimeUs heal_us_ = 0;
  TimeUs warmup_us_ = 0;
  bool warm_ = false;  // the warm-up is over
  bool healed_ = false;
  bool stop_ = false;
  std::optional<TimeUs> converge_start_us_;
  std::uint64_t next_group_ = 0;

  SafetyChecker checker_;
  std::vector<HistoryOp> history_;
  // Per history entry, the digests of the requests that carried it (a read-only request and its
  // ordered retry): a pending entry took no effect if no correct replica executed any of them.
  std::vector<std::vector<Digest>> history_requests_;
  // Correct clients' completed operations, in world time.
  struct Latency {
    TimeUs invoke_us = 0;
    TimeUs response_us = 0;
    bool degraded = false;  // degraded() held at some sample during the operation
  };
  std::vector<Latency> latencies_;
  TimeUs last_degraded_us_ = -1;
  RunStats stats_;
  std::deque<std::string> trace_;
  Simulation* outer_ = nullptr;
};

// ---- setup --------------------------------------------------------------------------------------

class Simulation::Impl::HostEnv final : public DriverEnv {
 public:
  HostEnv(Impl& sim, ReplicaHost& h) : sim_(sim), h_(h) {}
  bool answer_capture(const CaptureRequest& request) override {
    sim_.capture(h_, request);
    return true;
  }
  Appended append(std::vector<PersistRecord>& records, bool sync,
                  std::uint64_t /*records_end*/) override {
    return sim_.append(h_, records, sync);
  }
  void carry_out(Output& out) override { sim_.carry_out(h_, out); }

 private:
  Impl& sim_;
  ReplicaHost& h_;
};

Simulation::Impl::Impl(SimOptions options)
    : options_(std::move(options)),
      app_(options_.plugin != nullptr ? options_.plugin : &key_value_app()),
      n_(3 * options_.f + 1),
      rng_(options_.seed),
      config_rng_(rng_.fork()),
      plan_rng_(rng_.fork()),
      byz_rng_(rng_.fork()),
      client_rng_(rng_.fork()),
      keys_(derive_sim_keys(options_.seed, n_)),
      verifier_(keys_),
      network_(n_ + options_.clients + 2, rng_.fork()),
      correct_clients_(options_.clients),
      checker_(n_) {
  BASTION_CHECK(app_ != nullptr);
  workload_ = app_->make_workload(rng_.fork(), options_.clients + 1);
  model_ = app_->make_model();
  choose_config();
  workload_->attach(WorkloadContext{[this] { return now_us_; }, base_config_.clock_skew_max_us});
  replicas_.resize(n_);
  for (ReplicaId r = 0; r < n_; ++r) {
    replicas_[r].id = r;
    replicas_[r].signer = std::make_unique<SimSigner>(keys_[r]);
    if (options_.real_storage) {
      replicas_[r].fs = std::make_unique<storage::FaultFileSystem>(options_.seed * 64 + r);
    }
  }
  choose_clocks();
  warmup_us_ = options_.warmup_us;
  heal_us_ = warmup_us_ + static_cast<TimeUs>(plan_rng_.uniform(
                              static_cast<std::uint64_t>(options_.fault_phase_min_us),
                              static_cast<std::uint64_t>(options_.fault_phase_max_us)));
  // Latencies well below the protocol's timers; losses and reordering only in the fault phase.
  const FaultMenu& m = options_.faults;
  faulty_params_.latency_min_us = static_cast<TimeUs>(plan_rng_.uniform(50, 1'000));
  faulty_params_.latency_max_us =
      faulty_params_.latency_min_us + static_cast<TimeUs>(plan_rng_.uniform(200, 20'000));
  faulty_params_.drop = m.drops ? plan_rng_.unit() * 0.15 : 0;
  faulty_params_.duplicate = m.duplicates ? plan_rng_.unit() * 0.05 : 0;
  faulty_params_.reorder = m.reorder ? plan_rng_.unit() * 0.1 : 0;
  faulty_params_.reorder_delay_max_us = static_cast<TimeUs>(plan_rng_.uniform(5'000, 150'000));
  if (!options_.random_faults) faulty_params_ = NetworkParams{};
  healthy_params_ = faulty_params_;
  healthy_params_.drop = 0;
  healthy_params_.reorder_delay_max_us =
      std::min<TimeUs>(healthy_params_.reorder_delay_max_us, 20'000);
}

void Simulation::Impl::choose_config() {
  Rng& g = config_rng_;
  Config c;
  c.f = options_.f;
  c.n = n_;
  static const std::uint32_t kIntervals[] = {2, 4, 8, 16};
  c.checkpoint_interval = kIntervals[g.index(4)];
  c.log_window = c.checkpoint_interval * static_cast<std::uint32_t>(2 + g.index(3));
  c.pipeline_max = static_cast<std::uint32_t>(1 + g.index(4));
  c.batch_max_requests = static_cast<std::uint32_t>(1 + g.index(16));
  c.batch_max_bytes = 1 << 16;
  c.client_window = static_cast<std::uint32_t>(4 + g.index(61));
  c.sessions_per_principal_max = 4;
  c.reply_cache_bytes_max = 1 << 16;
  c.request_bytes_max = 1 << 12;
  c.request_timeout_us = static_cast<TimeUs>(g.uniform(300'000, 1'000'000));
  c.view_change_timeout_us = static_cast<TimeUs>(g.uniform(500'000, 1'500'000));
  c.view_change_timeout_max_us = 8'000'000;
  c.retransmit_interval_us = static_cast<TimeUs>(g.uniform(100'000, 300'000));
  c.vouch_defer_us = g.chance(0.2) ? 0 : static_cast<TimeUs>(g.uniform(1'000, 60'000));
  c.clock_skew_max_us = static_cast<TimeUs>(g.uniform(500'000, 2'000'000));
  // Agreed time's pace, from a stream of its own (the other draws, and so every seed's run
  // apart from pacing, stay what they were before pacing existed). The slack is wider than the
  // network's delay variation (reordering adds up to 150 ms) and than twice the spread of correct
  // clocks (a quarter of the skew, choose_clocks()), so that a correct primary is never held.
  Rng pace(options_.seed ^ 0x70616365ULL);
  const TimeUs slack_min = std::max<TimeUs>(200'000, c.clock_skew_max_us / 2);
  c.agreed_time_slack_us = static_cast<TimeUs>(pace.uniform(
      static_cast<std::uint64_t>(slack_min), static_cast<std::uint64_t>(slack_min + 300'000)));
  c.agreed_time_window_us = static_cast<TimeUs>(pace.uniform(2'000'000, 20'000'000));
  c.state_chunk_bytes = static_cast<std::uint32_t>(64 + g.index(4096));
  c.snapshot_bytes_max = 1 << 24;
  base_config_ = c;
  // Half the runs capture checkpoint states asynchronously, as the daemon does for large states,
  // some of them losing a capture now and then (a killed child process).
  if (g.chance(0.5)) {
    capture_delay_max_us_ = static_cast<TimeUs>(g.uniform(1'000, 300'000));
    capture_failure_ = g.chance(0.3) ? 0.1 : 0.0;
  }
}

void Simulation::Impl::choose_clocks() {
  if (!options_.faults.clock_skew) return;
  // Offsets within a quarter of the skew bound (and so within half the agreed-time slack, see
  // choose_config()); drift of at most 100 ppm adds < 1% of it over a run, so two correct clocks
  // never differ by more than clock_skew_max_us.
  for (ReplicaHost& h : replicas_) {
    h.clock.offset_us = static_cast<TimeUs>(
        plan_rng_.uniform(0, static_cast<std::uint64_t>(base_config_.clock_skew_max_us / 4)));
    h.clock.drift_ppm = plan_rng_.uniform_signed(-100, 100);
  }
}

void Simulation::Impl::make_byzantine(ReplicaId r, ByzProfile profile) {
  scripted_byz_.emplace_back(r, std::move(profile));
}

void Simulation::Impl::choose_byzantine() {
  for (auto& [r, profile] : scripted_byz_) arm_byzantine(replicas_[r], std::move(profile));
  if (!options_.byzantine || !options_.random_faults) {
    set_edge_clocks();
    return;
  }
  std::vector<ByzBehaviour> menu(options_.faults.behaviours.begin(),
                                 options_.faults.behaviours.end());
  if (menu.empty()) return;
  const auto k = static_cast<std::uint32_t>(1 + byz_rng_.index(options_.f));
  std::vector<ReplicaId> ids(n_);
  for (ReplicaId r = 0; r < n_; ++r) ids[r] = r;
  byz_rng_.shuffle(ids);
  // Half the runs make the first primary Byzantine: most primary misbehaviours need it.
  if (byz_rng_.chance(0.5)) {
    std::iter_swap(ids.begin(), std::find(ids.begin(), ids.end(), ReplicaId{0}));
  }
  for (std::uint32_t i = 0; i < k; ++i) {
    const ReplicaId r = ids[i];
    if (replicas_[r].byz) continue;
    ByzProfile p;
    const auto count = 1 + byz_rng_.index(3);
    for (std::size_t j = 0; j < count; ++j) {
      const ByzBehaviour b = byz_rng_.pick(menu);
      if (std::find(p.behaviours.begin(), p.behaviours.end(), b) == p.behaviours.end()) {
        p.behaviours.push_back(b);
      }
    }
    p.intensity = 0.2 + 0.8 * byz_rng_.unit();
    p.target_principal =
        "client-" + std::to_string(byz_rng_.index(std::max<std::uint32_t>(1, options_.clients)));
    arm_byzantine(replicas_[r], std::move(p));
  }
  set_edge_clocks();
}

void Simulation::Impl::partition(std::vector<std::uint8_t> replica_sides, TimeUs from,
                                 TimeUs until) {
  PartitionPlan p;
  p.sides.assign(network_.endpoints(), 0);
  for (std::size_t i = 0; i < replica_sides.size() && i < n_; ++i) p.sides[i] = replica_sides[i];
  p.until_us = until;
  partitions_.push_back(std::move(p));
  push(from, EventKind::kPartition, 0, 0, partitions_.size() - 1);
}

void Simulation::Impl::every(TimeUs period, std::function<void(Simulation&)> probe) {
  probes_.emplace_back(period, std::move(probe));
  push(period, EventKind::kProbe, static_cast<std::uint32_t>(probes_.size() - 1));
}

void Simulation::Impl::plan_random_faults() {
  const FaultMenu& m = options_.faults;
  Rng& g = plan_rng_;
  const auto endpoints = network_.endpoints();
  if (m.partitions) {
    const auto count = g.index(4);
    for (std::size_t i = 0; i < count; ++i) {
      PartitionPlan p;
      p.sides.resize(endpoints);
      for (auto& s : p.sides) s = static_cast<std::uint8_t>(g.index(2));
      const TimeUs from = static_cast<TimeUs>(
          g.uniform(static_cast<std::uint64_t>(warmup_us_), static_cast<std::uint64_t>(heal_us_)));
      p.until_us = from + static_cast<TimeUs>(g.uniform(50'000, 1'500'000));
      partitions_.push_back(std::move(p));
      push(from, EventKind::kPartition, 0, 0, partitions_.size() - 1);
    }
  }
  if (m.crashes) {
    const auto count = g.index(options_.f + 2);
    for (std::size_t i = 0; i < count; ++i) {
      const auto r = static_cast<ReplicaId>(g.index(n_));
      const TimeUs at = static_cast<TimeUs>(
          g.uniform(static_cast<std::uint64_t>(warmup_us_), static_cast<std::uint64_t>(heal_us_)));
      const bool torn = m.torn_writes && g.chance(0.3);
      push(at, EventKind::kCrash, r, torn ? 1 : 0);
      const TimeUs back = at + static_cast<TimeUs>(g.uniform(10'000, 2'000'000));
      if (back < heal_us_) push(back, EventKind::kRestart, r);
    }
  }
}

void Simulation::Impl::start_replica(ReplicaHost& h, const PersistedState* recovered) {
  h.app = std::make_unique<RecordingApp>(app_->make_state_machine());
  h.core = std::make_unique<Replica>(h.config, *h.app, *h.signer, verifier_);
  if (!h.env) h.env = std::make_unique<HostEnv>(*this, h);
  h.driver = std::make_unique<Driver>(*h.core, *h.env, /*check_invariants=*/true);
  ++h.incarnations;
  h.last_capture.reset();
  h.core->start(local(h), recovered);
  drain(h);
}

void Simulation::Impl::start_clients() {
  const std::uint32_t byz_clients = options_.byzantine && options_.random_faults &&
                                            options_.faults.byzantine_clients &&
                                            !options_.faults.client_behaviours.empty()
                                        ? 2
                                        : 0;
  const std::uint32_t total = options_.clients + byz_clients;
  clients_.resize(total);
  const std::uint32_t per_client = options_.steps / std::max<std::uint32_t>(1, options_.clients);
  const std::uint32_t extra = options_.steps % std::max<std::uint32_t>(1, options_.clients);
  for (std::uint32_t i = 0; i < total; ++i) {
    ClientHost& c = clients_[i];
    c.index = i;
    c.byzantine = i >= options_.clients;
    c.flooder = i > options_.clients;
    c.principal = c.byzantine ? "client-byz-" + std::to_string(i - options_.clients)
                              : "client-" + std::to_string(i);
    c.config.n = n_;
    c.config.f = options_.f;
    c.config.session = client_rng_.uniform(1, 1000);
    c.config.retransmit_us = static_cast<TimeUs>(client_rng_.uniform(100'000, 300'000));
    c.config.retransmit_max_us = static_cast<TimeUs>(client_rng_.uniform(1'000'000, 2'000'000));
    c.config.read_only_wait_us = static_cast<TimeUs>(client_rng_.uniform(50'000, 200'000));
    c.core = std::make_unique<ClientCore>(c.config);
    c.ops_left = c.byzantine ? UINT32_MAX : per_client + (i < extra ? 1 : 0);
    c.byz_sends.resize(n_);
    client_by_principal_[c.principal] = i;
    // The Byzantine clients start misbehaving when the warm-up ends.
    const auto start = static_cast<TimeUs>(client_rng_.uniform(1, 50'000));
    if (!c.byzantine) {
      push(start, EventKind::kClientOp, i);
    } else if (!c.flooder) {
      choose_byzantine_client(c);
      push(warmup_us_ + start, EventKind::kClientOp, i);
    } else {
      // Same behaviours as the first; floods, churn and waiters are this one's part, under a
      // principal of its own: its many sessions evict each other, never the first one's, whose
      // equivocating operations the history holds to "at most once".
      c.byz_behaviours = clients_[i - 1].byz_behaviours;
      c.one_replica = clients_[i - 1].one_replica;
      c.next_byz_session = c.config.session + 1'000;
      checker_.churns_sessions(c.principal);
      push(warmup_us_ + start, EventKind::kByzClientAct, i);
    }
  }
}

void Simulation::Impl::choose_byzantine_client(ClientHost& c) {
  const std::vector<ByzClientBehaviour> menu(options_.faults.client_behaviours.begin(),
                                             options_.faults.client_behaviours.end());
  const auto count = 1 + byz_rng_.index(3);
  for (std::size_t j = 0; j < count; ++j) {
    const ByzClientBehaviour b = byz_rng_.pick(menu);
    if (!byz_client_has(c, b)) c.byz_behaviours.push_back(b);
  }
  c.one_replica = static_cast<ReplicaId>(byz_rng_.index(n_));
}

bool Simulation::Impl::byz_client_has(const ClientHost& c, ByzClientBehaviour b) const {
  return std::find(c.byz_behaviours.begin(), c.byz_behaviours.end(), b) != c.byz_behaviours.end();
}

// ---- event queue --------------------------------------------------------------------------------

void Simulation::Impl::push(TimeUs at, EventKind kind, std::uint32_t a, std::uint32_t b,
                            std::uint64_t token, SharedBytes bytes) {
  queue_.push(Event{std::max(at, now_us_), next_seq_++, kind, a, b, token, std::move(bytes)});
}

void Simulation::Impl::trace_line(std::string line) {
  if (options_.verbose) std::cout << line << "\n";
  if (options_.trace_tail > 0) {
    trace_.push_back(std::move(line));
    if (trace_.size() > options_.trace_tail) trace_.pop_front();
  }
}

void Simulation::Impl::trace(const Event& e) {
  if (!options_.verbose && options_.trace_tail == 0) return;
  if (e.kind == EventKind::kCheck) return;
  std::ostringstream s;
  s << "t=" << e.time_us << " " << kind_name(e.kind);
  switch (e.kind) {
    case EventKind::kReplicaMsg:
      s << " r" << e.a << " -> r" << e.b << " " << describe_message(*e.bytes);
      break;
    case EventKind::kClientMsg:
      s << " c" << e.a << " -> r" << e.b << " " << describe_message(*e.bytes);
      break;
    case EventKind::kReply:
      s << " r" << e.a << " -> c" << e.b << " " << describe_message(*e.bytes);
      break;
    case EventKind::kReplicaTick:
    case EventKind::kCrash:
    case EventKind::kRestart:
    case EventKind::kByzAct:
      s << " r" << e.a;
      break;
    case EventKind::kCaptureDone:
      s << " r" << e.a << " #" << e.token
        << (captures_.contains({e.a, e.b, e.token}) ? "" : " failed");
      break;
    case EventKind::kClientTick:
    case EventKind::kClientOp:
      s << " c" << e.a;
      break;
    default:
      break;
  }
  trace_line(s.str());
}

void Simulation::Impl::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kReplicaMsg: {
      ReplicaHost& h = replicas_[e.b];
      if (!h.core) return;
      if (h.byz) h.byz->observe(e.bytes, false);
      h.core->on_replica_message(e.a, *e.bytes, local(h));
      drain(h);
      return;
    }
    case EventKind::kClientMsg: {
      ReplicaHost& h = replicas_[e.b];
      if (!h.core) return;
      if (h.byz && h.byz->has(ByzBehaviour::kStaleRead)) remember_read_only(h, e);
      h.core->on_client_message(clients_[e.a].principal, *e.bytes, local(h));
      drain(h);
      return;
    }
    case EventKind::kReply: {
      ClientHost& c = clients_[e.b];
      c.core->on_reply(e.a, *e.bytes, now_us_);
      drain_client(c);
      return;
    }
    case EventKind::kReplicaTick: {
      ReplicaHost& h = replicas_[e.a];
      if (!h.core || e.token != h.tick_token) return;
      h.tick_at.reset();
      const TimeUs t = local(h);
      h.core->on_tick(t);
      const auto next = h.core->next_tick_us();
      if (next && *next <= t) {
        if (++h.stalled_ticks > 100'000) {
          fail("livelock: replica " + std::to_string(h.id) +
               " keeps asking for a tick at or before the current time after on_tick()");
          stop_ = true;
        }
      } else {
        h.stalled_ticks = 0;
      }
      drain(h);
      return;
    }
    case EventKind::kClientTick: {
      ClientHost& c = clients_[e.a];
      if (e.token != c.tick_token) return;
      c.tick_at.reset();
      c.core->on_tick(now_us_);
      drain_client(c);
      return;
    }
    case EventKind::kClientOp:
      client_next_op(clients_[e.a], e.token);
      return;
    case EventKind::kCrash: {
      ReplicaHost& h = replicas_[e.a];
      if (!h.core) return;
      if (e.b != 0) {
        h.torn_armed = true;  // crashes at its next output with records to persist
      } else {
        do_crash(h, "crash");
      }
      return;
    }
    case EventKind::kRestart: {
      ReplicaHost& h = replicas_[e.a];
      h.torn_armed = false;
      if (!h.core) do_restart(h);
      return;
    }
    case EventKind::kPartition: {
      const PartitionPlan& p = partitions_[e.token];
      auto sides = p.sides;
      sides.resize(network_.endpoints(), 0);
      network_.partition(std::move(sides));
      active_partition_ = e.token;
      push(std::min(p.until_us, heal_us_), EventKind::kHealPartition, 0, 0, e.token);
      return;
    }
    case EventKind::kHealPartition:
      if (active_partition_ == e.token) {
        network_.heal();
        active_partition_ = UINT64_MAX;
      }
      return;
    case EventKind::kHeal:
      healed_ = true;
      network_.heal();
      network_.mend_all();
      active_partition_ = UINT64_MAX;
      network_.set_params(healthy_params_);
      for (ReplicaHost& h : replicas_) {
        h.torn_armed = false;
        if (!h.core) do_restart(h);
      }
      return;
    case EventKind::kByzAct: {
      ReplicaHost& h = replicas_[e.a];
      if (h.core && h.byz) byz_act(h);
      push(now_us_ + static_cast<TimeUs>(byz_rng_.uniform(20'000, 200'000)), EventKind::kByzAct,
           e.a);
      return;
    }
    case EventKind::kProbe: {
      auto& [period, probe] = probes_[e.a];
      probe(*outer_);
      push(now_us_ + period, EventKind::kProbe, e.a);
      return;
    }
    case EventKind::kCheck:
      periodic_check();
      push(now_us_ + 100'000, EventKind::kCheck);
      return;
    case EventKind::kDiskSync: {
      ReplicaHost& h = replicas_[e.a];
      if (!h.core || e.token != h.sync_token) return;
      h.sync_scheduled = false;
      sync_disk(h);
      return;
    }
    case EventKind::kWarmupEnd:
      end_warmup();
      return;
    case EventKind::kByzClientAct: {
      if (workload_done()) return;
      byz_client_act(clients_[e.a]);
      push(now_us_ + static_cast<TimeUs>(client_rng_.uniform(50'000, 300'000)),
           EventKind::kByzClientAct, e.a);
      return;
    }
    case EventKind::kCaptureDone: {
      ReplicaHost& h = replicas_[e.a];
      const auto taken = captures_.find({e.a, e.b, e.token});
      std::optional<StateBytes> state;
      if (taken != captures_.end()) {
        state = std::move(taken->second);
        captures_.erase(taken);
      }
      if (!h.core || e.b != static_cast<std::uint32_t>(h.incarnations)) return;
      if (state) {
        h.core->on_checkpoint_captured(e.token, hash_capture(h, std::move(*state)), local(h));
      } else {
        h.core->on_checkpoint_capture_failed(e.token, local(h));
      }
      drain(h);
      return;
    }
  }
}

// ---- replicas -----------------------------------------------------------------------------------

void Simulation::Impl::capture(ReplicaHost& h, const CaptureRequest& request) {
  StateBytes state = h.core->checkpoint_state();
  if (capture_delay_max_us_ == 0) {
    h.core->on_checkpoint_captured(request.id, hash_capture(h, std::move(state)), local(h));
    return;
  }
  const auto delay = static_cast<TimeUs>(plan_rng_.uniform(0, capture_delay_max_us_));
  if (!plan_rng_.chance(capture_failure_)) {
    captures_[{h.id, static_cast<std::uint32_t>(h.incarnations), request.id}] = std::move(state);
  }
  push(now_us_ + delay, EventKind::kCaptureDone, h.id, static_cast<std::uint32_t>(h.incarnations),
       request.id);
  h.core->on_checkpoint_capture_started(request.id, local(h));
}

CapturedState Simulation::Impl::hash_capture(ReplicaHost& h, StateBytes state) {
  CapturedState captured = CapturedState::of(state, h.last_capture ? &*h.last_capture : nullptr);
  // The digests taken from the previous capture must be those of the bytes: hashed whole, the
  // state must give the same root.
  if (captured.digest != CapturedState::of(std::move(state)).digest) {
    fail("harness: replica " + std::to_string(h.id) +
         " captured a state whose digest from its previous capture differs from its own");
  }
  h.last_capture = captured;
  return captured;
}

// After every event: the driver checks the core's invariants (as TigerBeetle's VOPR does) and
// carries out its output.
void Simulation::Impl::drain(ReplicaHost& h) {
  if (!h.core) return;
  h.driver->run();
  if (h.core) schedule_tick(h);
}

// Makes every appended record durable, or, with a torn write armed, a prefix of them and crashes.
// Returns false after a crash.
bool Simulation::Impl::sync_disk(ReplicaHost& h) {
  if (h.fs) return sync_storage(h);
  if (h.torn_armed && !h.unsynced.empty()) {
    h.unsynced.resize(plan_rng_.index(h.unsynced.size()));
    keep_unsynced(h);
    do_crash(h, "torn-write crash");
    return false;
  }
  keep_unsynced(h);
  ++h.sync_token;
  h.sync_scheduled = false;
  return true;
}

bool Simulation::Impl::sync_storage(ReplicaHost& h) {
  if (h.torn_armed && h.storage_unsynced > 0) {
    do_crash(h, "torn-write crash");  // the file system keeps a torn prefix of the appends
    return false;
  }
  if (auto r = h.storage->sync(); !r) {
    fail("harness: replica " + std::to_string(h.id) + " storage sync: " + r.error().to_string());
    return false;
  }
  h.persisted_records += h.storage_unsynced;
  h.storage_unsynced = 0;
  ++h.sync_token;
  h.sync_scheduled = false;
  return true;
}

void Simulation::Impl::keep_unsynced(ReplicaHost& h) {
  for (const PersistRecord& r : h.unsynced) h.disk.add(r);
  h.persisted_records += h.unsynced.size();
  h.unsynced.clear();
}

// An output that demands it is durable (with everything before) before its sends, synced on the
// spot; the others' records become durable at the driver's next sync, a little later.
DriverEnv::Appended Simulation::Impl::append(ReplicaHost& h, std::vector<PersistRecord>& records,
                                             bool sync) {
  bool pending = false;
  if (h.storage) {
    if (auto r = h.storage->append(records); !r) {
      fail("harness: replica " + std::to_string(h.id) +
           " storage append: " + r.error().to_string());
      return DriverEnv::Appended::kStopped;
    }
    h.storage_unsynced += records.size();
    pending = h.storage_unsynced > 0;
  } else {
    h.unsynced.insert(h.unsynced.end(), std::make_move_iterator(records.begin()),
                      std::make_move_iterator(records.end()));
    pending = !h.unsynced.empty();
  }
  if (sync) return sync_disk(h) ? DriverEnv::Appended::kDurable : DriverEnv::Appended::kStopped;
  if (pending && !h.sync_scheduled) {
    h.sync_scheduled = true;
    push(now_us_ + static_cast<TimeUs>(plan_rng_.uniform(0, 3'000)), EventKind::kDiskSync, h.id, 0,
         h.sync_token);
  }
  return DriverEnv::Appended::kLater;
}

void Simulation::Impl::carry_out(ReplicaHost& h, Output& out) {
  record_executed(h, out);
  deliver(h, out);
}

void Simulation::Impl::deliver(ReplicaHost& h, Output& out) {
  if (h.byz) {
    std::vector<ByzSend> sends;
    for (const OutMessage& m : out.messages) h.byz->outgoing(m, now(), sends);
    for (const OutReply& r : out.replies) {
      auto it = client_by_principal_.find(r.client.principal);
      if (it != client_by_principal_.end()) {
        h.byz->reply(it->second, r.client.principal, r.bytes, sends);
      }
    }
    for (const ByzSend& s : sends) {
      if (s.to_client) {
        send_reply(h.id, s.to, s.bytes, s.extra_delay_us);
      } else {
        send_replica_to_replica(h.id, s.to, s.bytes, s.extra_delay_us);
      }
    }
    return;
  }
  for (const OutMessage& m : out.messages) {
    if (m.to) {
      send_replica_to_replica(h.id, *m.to, m.bytes, 0);
    } else {
      for (ReplicaId j = 0; j < n_; ++j) {
        if (j != h.id) send_replica_to_replica(h.id, j, m.bytes, 0);
      }
    }
  }
  for (const OutReply& r : out.replies) {
    auto it = client_by_principal_.find(r.client.principal);
    if (it == client_by_principal_.end()) continue;  // a forged request's principal
    send_reply(h.id, it->second, r.bytes, 0);
  }
}

void Simulation::Impl::record_executed(ReplicaHost& h, const Output& out) {
  std::vector<AppBatch> batches = h.app->take_batches();
  h.app->take_restored();
  if (h.byz) return;
  if (batches.size() != out.executed.size()) {
    fail("harness: replica " + std::to_string(h.id) + " reported " +
         std::to_string(out.executed.size()) + " executed batches but its application saw " +
         std::to_string(batches.size()) + " begin_batch() calls in the same output");
    return;
  }
  for (std::size_t i = 0; i < batches.size(); ++i) {
    checker_.executed(h.id, out.executed[i], batches[i], now_us_);
  }
}

void Simulation::Impl::schedule_tick(ReplicaHost& h) {
  const auto next = h.core->next_tick_us();
  if (!next) return;
  const TimeUs at = std::max(h.clock.global_at_or_after(*next), now_us_ + 1);
  if (h.tick_at && *h.tick_at == at) return;
  h.tick_at = at;
  push(at, EventKind::kReplicaTick, h.id, 0, ++h.tick_token);
}

void Simulation::Impl::do_crash(ReplicaHost& h, const char* why) {
  trace_line("t=" + std::to_string(now_us_) + " " + why + " r" + std::to_string(h.id));
  // What was appended but not synced: the file system may have written a prefix of it.
  if (h.fs) {
    h.storage.reset();  // no sync, no clean stop: a power loss
    h.fs->crash(h.torn_armed ? storage::FaultFileSystem::CrashMode::kTornGarbage
                             : storage::FaultFileSystem::CrashMode::kTorn);
    h.storage_unsynced = 0;
  } else {
    h.unsynced.resize(plan_rng_.index(h.unsynced.size() + 1));
    keep_unsynced(h);
  }
  ++h.sync_token;
  h.sync_scheduled = false;
  h.last_counters = h.core->counters();
  h.core.reset();
  h.app.reset();
  h.tick_at.reset();
  ++h.tick_token;
  h.torn_armed = false;
  ++stats_.crashes;
}

void Simulation::Impl::do_restart(ReplicaHost& h) {
  if (h.fs) {
    start_from_storage(h);
    return;
  }
  trace_line("t=" + std::to_string(now_us_) + " restart r" + std::to_string(h.id) + " with " +
             std::to_string(h.persisted_records) + " records");
  start_replica(h, &h.disk.state());
}

void Simulation::Impl::start_from_storage(ReplicaHost& h) {
  auto opened = storage::ReplicaStorage::open(*h.fs, "replica");
  if (!opened) {
    // The log must survive any crash the file system can produce (bft/storage's guarantees).
    fail("replica " + std::to_string(h.id) +
         " could not recover its storage: " + opened.error().to_string());
    return;
  }
  trace_line("t=" + std::to_string(now_us_) + " start r" + std::to_string(h.id) + " with " +
             std::to_string(opened->records.size()) + " recovered records" +
             (opened->report.torn_file.empty() ? "" : ", a torn tail cut"));
  h.storage = std::move(opened->storage);
  h.persisted_records = opened->records.size();
  if (opened->records.empty()) {
    start_replica(h, nullptr);
    return;
  }
  const PersistedState recovered = storage::fold(opened->records);
  start_replica(h, &recovered);
}

void Simulation::Impl::send_replica_to_replica(ReplicaId from, ReplicaId to, const SharedBytes& b,
                                               TimeUs extra) {
  for (TimeUs d : network_.fate(from, to)) {
    push(now_us_ + d + extra, EventKind::kReplicaMsg, from, to, 0, b);
  }
}

void Simulation::Impl::send_reply(ReplicaId from, std::uint32_t client, const SharedBytes& b,
                                  TimeUs extra) {
  if (client >= clients_.size()) return;
  for (TimeUs d : network_.fate(from, n_ + client)) {
    push(now_us_ + d + extra, EventKind::kReply, from, client, 0, b);
  }
}

void Simulation::Impl::remember_read_only(ReplicaHost& h, const Event& e) {
  auto m = decode_message(*e.bytes);
  if (!m || !std::holds_alternative<ClientRequestMsg>(*m)) return;
  auto& q = std::get<ClientRequestMsg>(*m);
  if (!q.read_only) return;
  if (h.read_only_payloads.size() >= 256) h.read_only_payloads.erase(h.read_only_payloads.begin());
  h.read_only_payloads[{clients_[e.a].principal, q.session, q.number}] = std::move(q.payload);
}

void Simulation::Impl::arm_byzantine(ReplicaHost& h, ByzProfile profile) {
  h.byz = std::make_unique<ByzantineFilter>(h.id, h.config, std::move(profile), keys_[h.id],
                                            byz_rng_.fork(), options_.clients);
  h.byz->set_active(warm_);
  if (!h.byz->has(ByzBehaviour::kStaleRead)) return;
  h.byz->set_stale_read([this, &h](const std::string& principal, std::uint64_t session,
                                   std::uint64_t number) -> std::optional<Bytes> {
    auto it = h.read_only_payloads.find({principal, session, number});
    if (it == h.read_only_payloads.end() || !h.stale_app) return std::nullopt;
    return h.stale_app->execute_read_only(
        Request{ClientKey{principal, session}, number, true, it->second});
  });
}

void Simulation::Impl::end_warmup() {
  warm_ = true;
  if (!healed_) network_.set_params(faulty_params_);
  for (ReplicaHost& h : replicas_) {
    if (h.byz) h.byz->set_active(true);
  }
}

// kEdgeTimestamp: the replica's clock is the slowest correct clock plus the skew bound, minus a
// hair (and drifts no faster than it), so its timestamps are always just inside what every
// correct backup accepts.
void Simulation::Impl::set_edge_clocks() {
  std::optional<TimeUs> offset;
  std::optional<std::int64_t> drift;
  for (const ReplicaHost& h : replicas_) {
    if (h.byz) continue;
    offset = std::min(offset.value_or(h.clock.offset_us), h.clock.offset_us);
    drift = std::min(drift.value_or(h.clock.drift_ppm), h.clock.drift_ppm);
  }
  for (ReplicaHost& h : replicas_) {
    if (!h.byz || !h.byz->has(ByzBehaviour::kEdgeTimestamp)) continue;
    h.clock.offset_us = offset.value_or(0) + base_config_.clock_skew_max_us -
                        static_cast<TimeUs>(byz_rng_.uniform(1, 1'000));
    h.clock.drift_ppm = drift.value_or(0);
  }
}

void Simulation::Impl::byz_act(ReplicaHost& h) {
  if (h.byz->has(ByzBehaviour::kStaleRead) && (!h.stale_app || byz_rng_.chance(0.1))) {
    // Refresh the old copy now and then (every second or so): it lags the real state.
    h.stale_app = app_->make_state_machine();
    h.stale_app->restore(h.app->snapshot());
  }
  std::vector<ByzSend> sends;
  h.byz->act(sends);
  for (const ByzSend& s : sends) {
    if (s.to_client) {
      send_reply(h.id, s.to, s.bytes, s.extra_delay_us);
    } else {
      send_replica_to_replica(h.id, s.to, s.bytes, s.extra_delay_us);
    }
  }
}

// ---- clients ------------------------------------------------------------------------------------

void Simulation::Impl::client_next_op(ClientHost& c, std::uint64_t token) {
  if (c.byzantine) {
    if (token != 0) {
      // The Byzantine client's patience ran out for request `token`.
      if (!c.current || c.current->number != token) return;
      c.core->abandon(token);
      c.current.reset();
    }
    if (c.current || workload_done()) return;
    const bool equivocate = byz_client_has(c, ByzClientBehaviour::kEquivocate);
    const bool one_replica = byz_client_has(c, ByzClientBehaviour::kOneReplica);
    if (!equivocate && !one_replica) return;  // its misbehaviour is all in byz_client_act()
    std::vector<Bytes> variants = workload_->equivocation(c.index);
    const std::uint64_t group = next_group_++;
    const std::uint64_t number = c.core->submit(variants[0], false, now_us_);
    // Either a subset of replicas gets one payload (kOneReplica: one replica only), or each
    // replica gets one of the variants.
    const bool partial = !equivocate || client_rng_.chance(0.5);
    const bool only_one = one_replica && (!equivocate || client_rng_.chance(0.5));
    for (ReplicaId j = 0; j < n_; ++j) {
      std::optional<SharedBytes> send;
      if (partial) {
        if (only_one ? j == c.one_replica : client_rng_.chance(0.6)) {
          send =
              share(encode_message(ClientRequestMsg{c.config.session, number, false, variants[0]}));
        }
      } else {
        send = share(encode_message(
            ClientRequestMsg{c.config.session, number, false, client_rng_.pick(variants)}));
      }
      c.byz_sends[j] = send;
    }
    for (const Bytes& v : (partial ? std::vector<Bytes>{variants[0]} : variants)) {
      history_.push_back(HistoryOp{c.index, v, now_us_, std::nullopt, std::nullopt, group, false});
      const Request request{ClientKey{c.principal, c.config.session}, number, false, v};
      history_requests_.push_back({request_digest(request)});
      checker_.issued(request);
    }
    c.current =
        ClientHost::Current{number, WorkloadOp{variants[0], false}, history_.size() - 1, now_us_};
    push(now_us_ + static_cast<TimeUs>(client_rng_.uniform(500'000, 3'000'000)),
         EventKind::kClientOp, c.index, 0, number);
    drain_client(c);
    return;
  }
  if (c.current || c.ops_left == 0) return;
  --c.ops_left;
  WorkloadOp op = workload_->next_op(c.index);
  const std::uint64_t number = c.core->submit(op.payload, op.read_only, now_us_);
  history_.push_back(
      HistoryOp{c.index, op.payload, now_us_, std::nullopt, std::nullopt, std::nullopt, false});
  history_requests_.emplace_back();
  if (options_.verbose || options_.trace_tail > 0) {
    trace_line("t=" + std::to_string(now_us_) + " c" + std::to_string(c.index) + " invokes #" +
               std::to_string(number) + (op.read_only ? " read-only " : " ") +
               model_->describe_op(op.payload));
  }
  note_degraded();
  c.current = ClientHost::Current{number, std::move(op), history_.size() - 1, now_us_};
  ++stats_.ops_issued;
  drain_client(c);
}

// A Byzantine client's misbehaviour besides its equivocating operations: floods of reads in
// several sessions, new sessions all the time, blocking reads parked in the application. All of
// them are reads (SequentialModel::is_read), so they stay out of the history: whether they took
// effect changes nothing the correct clients can observe.
void Simulation::Impl::byz_client_act(ClientHost& c) {
  const bool one = byz_client_has(c, ByzClientBehaviour::kOneReplica);
  if (byz_client_has(c, ByzClientBehaviour::kFlood)) {
    const auto burst = client_rng_.uniform(2, 16);
    for (std::uint64_t i = 0; i < burst; ++i) {
      const std::uint64_t session = c.config.session + 1 + client_rng_.index(3);
      byz_client_send_raw(c, session, workload_->harmless(c.index, false),
                          one && client_rng_.chance(0.5));
    }
  }
  if (byz_client_has(c, ByzClientBehaviour::kChurn)) {
    const std::uint64_t session = c.next_byz_session++;
    const auto count = 1 + client_rng_.index(3);
    for (std::size_t i = 0; i < count; ++i) {
      byz_client_send_raw(c, session, workload_->harmless(c.index, false), false);
    }
  }
  if (byz_client_has(c, ByzClientBehaviour::kWaiters)) {
    const auto count = 1 + client_rng_.index(3);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t session = c.config.session + 4 + client_rng_.index(2);
      byz_client_send_raw(c, session, workload_->harmless(c.index, true),
                          one && client_rng_.chance(0.3));
    }
  }
}

void Simulation::Impl::byz_client_send_raw(ClientHost& c, std::uint64_t session,
                                           const WorkloadOp& op, bool one) {
  std::uint64_t number = ++c.byz_sessions[session];
  if (client_rng_.chance(0.05)) number += client_rng_.uniform(64, 1'000);  // past its window
  checker_.issued(Request{ClientKey{c.principal, session}, number, false, op.payload});
  const auto bytes = share(encode_message(ClientRequestMsg{session, number, false, op.payload}));
  for (ReplicaId j = 0; j < n_; ++j) {
    if (one && j != c.one_replica) continue;
    for (TimeUs d : network_.fate(n_ + c.index, j)) {
      push(now_us_ + d, EventKind::kClientMsg, c.index, j, 0, bytes);
    }
  }
}

void Simulation::Impl::client_send(ClientHost& c, const ClientSend& s) {
  if (c.byzantine) {
    for (ReplicaId j = 0; j < n_; ++j) {
      if (s.to && *s.to != j) continue;
      if (!c.byz_sends[j]) continue;
      for (TimeUs d : network_.fate(n_ + c.index, j)) {
        push(now_us_ + d, EventKind::kClientMsg, c.index, j, 0, *c.byz_sends[j]);
      }
    }
    return;
  }
  // Every variant the client sends (read-only, then retried ordered) is an issued request.
  if (auto m = decode_message(*s.bytes); m && std::holds_alternative<ClientRequestMsg>(*m)) {
    const auto& q = std::get<ClientRequestMsg>(*m);
    const Request request{ClientKey{c.principal, q.session}, q.number, q.read_only, q.payload};
    checker_.issued(request);
    // By payload, not number: a request may be renumbered, and a wrong match only keeps a
    // pending entry that could have been dropped.
    if (c.current && q.payload == c.current->op.payload) {
      auto& digests = history_requests_[c.current->history];
      const Digest d = request_digest(request);
      if (std::find(digests.begin(), digests.end(), d) == digests.end()) digests.push_back(d);
    }
  }
  for (ReplicaId j = 0; j < n_; ++j) {
    if (s.to && *s.to != j) continue;
    for (TimeUs d : network_.fate(n_ + c.index, j)) {
      push(now_us_ + d, EventKind::kClientMsg, c.index, j, 0, s.bytes);
    }
  }
}

void Simulation::Impl::drain_client(ClientHost& c) {
  ClientOutput out = c.core->take_output();
  for (const ClientSend& s : out.sends) client_send(c, s);
  for (ClientCompletion& done : out.completions) client_completed(c, done);
  schedule_client_tick(c);
}

void Simulation::Impl::client_completed(ClientHost& c, ClientCompletion& done) {
  if (!c.current || c.current->number != done.number) return;
  if (done.status == ReplyStatus::kPending) {
    // Provisional: the request is ordered and waits in the application; it stays in flight.
    ++stats_.provisional;
    c.current->waited = true;
    return;
  }
  if (c.byzantine) {
    // Its operations stay pending in the history (one of the variants may have taken effect).
    c.current.reset();
    push(now_us_ + static_cast<TimeUs>(client_rng_.uniform(1, 50'000)), EventKind::kClientOp,
         c.index);
    return;
  }
  if (done.status != ReplyStatus::kOk) {
    // A core error agreed by f+1 replicas (stale, evicted, too large): the operation may or may
    // not have taken effect as far as this client knows, so it stays pending in the history.
    ++stats_.core_errors;
    trace_line("t=" + std::to_string(now_us_) + " c" + std::to_string(c.index) + " request #" +
               std::to_string(done.number) + " ended with core status " +
               std::to_string(static_cast<int>(done.status)));
  } else {
    HistoryOp& h = history_[c.current->history];
    h.response_us = now_us_;
    h.result = done.result;
    // An operation that waited in the application takes as long as its wait: not a measure of
    // ordering.
    note_degraded();
    if (!c.current->waited) {
      latencies_.push_back(
          Latency{c.current->invoke_us, now_us_, last_degraded_us_ >= c.current->invoke_us});
    }
    if (options_.verbose || options_.trace_tail > 0) {
      std::string from;
      for (const auto& [replica, result] : done.replies) from += " r" + std::to_string(replica);
      trace_line("t=" + std::to_string(now_us_) + " c" + std::to_string(c.index) + " accepts #" +
                 std::to_string(done.number) + (done.read_only ? " read-only " : " ") +
                 model_->describe_result(done.result) + " from" + from);
    }
    workload_->observe(c.index, c.current->op, done.result);
  }
  ++stats_.ops_completed;
  if (done.read_only) ++stats_.read_only_completed;
  c.current.reset();
  // Think time at least 1us, so the next invocation follows this response strictly.
  push(now_us_ + static_cast<TimeUs>(client_rng_.uniform(1, 20'000)), EventKind::kClientOp,
       c.index);
}

void Simulation::Impl::schedule_client_tick(ClientHost& c) {
  const auto next = c.core->next_tick_us();
  if (!next) return;
  const TimeUs at = std::max(*next, now_us_ + 1);
  if (c.tick_at && *c.tick_at == at) return;
  c.tick_at = at;
  push(at, EventKind::kClientTick, c.index, 0, ++c.tick_token);
}

// ---- checks -------------------------------------------------------------------------------------

namespace {
std::uint64_t memory_bound(const std::string& name, const Config& c, std::uint64_t principals);
}  // namespace

bool Simulation::Impl::degraded() const {
  // The views of the correct replicas in the normal case say who orders; a correct replica in a
  // view change while f+1 correct replicas are in the normal case is alone in it (docs/protocol.md,
  // "View change": it stays out until the others move on), and the rest of the quorum is then a
  // Byzantine replica's to give or withhold.
  std::uint32_t normal = 0;
  bool changing = false;
  for (const ReplicaHost& h : replicas_) {
    if (h.byz || !h.core) continue;
    const ReplicaStatus st = h.core->status();
    if (st.view_changing) {
      changing = true;
      continue;
    }
    ++normal;
    if (replicas_[base_config_.primary_of(st.view)].byz) return true;
  }
  return changing && normal >= options_.f + 1;
}

bool Simulation::Impl::workload_done() const {
  for (std::uint32_t i = 0; i < correct_clients_; ++i) {
    if (clients_[i].ops_left > 0 || clients_[i].current) return false;
  }
  return true;
}

bool Simulation::Impl::converged() const {
  std::optional<SeqNum> seq;
  for (const ReplicaHost& h : replicas_) {
    if (h.byz) continue;
    if (!h.core) return false;
    const SeqNum s = h.core->status().last_executed;
    if (seq && *seq != s) return false;
    seq = s;
  }
  return !seq || *seq >= checker_.highest_seq();
}

namespace {
// Upper bounds, derived from the configuration, on what a correct replica may hold on behalf of
// others (Replica::debug_sizes()). A size above its bound means the replica's memory grows with
// what peers or clients send, not with the configuration.
std::uint64_t memory_bound(const std::string& name, const Config& c, std::uint64_t principals) {
  const std::uint64_t window = c.log_window + c.checkpoint_interval;
  const std::uint64_t n = c.n;
  const std::uint64_t sessions = principals * c.sessions_per_principal_max;
  if (name == "log.entries" || name == "log.held" || name == "log.certs") return window;
  if (name == "log.assigned") return window * c.batch_max_requests;  // requests, not batches
  if (name.rfind("log.", 0) == 0) return 2 * window * n;
  if (name == "client_table.sessions") return sessions;
  if (name == "client_table.entries") return sessions * c.client_window;
  if (name == "client_table.cached_bytes") return sessions * c.reply_cache_bytes_max;
  if (name == "checkpoint.votes") return n * (c.log_window / c.checkpoint_interval + 2);
  if (name == "checkpoint.own") return c.log_window / c.checkpoint_interval + 2;
  if (name == "view_change.buffered") return n;
  // The stream of a state: its pages and its page list (one page per byte at most).
  if (name == "fetch.state_bytes") return c.snapshot_bytes_max * (1 + kStatePageEntryBytes);
  if (name == "reads.waiting") return c.read_queue_max;
  if (name == "pool.held_bytes") return principals * c.pending_bytes_per_principal_max;
  if (name.rfind("pool.", 0) == 0 || name.rfind("fetch.", 0) == 0 || name == "outgoing.vouches") {
    return principals * c.client_window * 2 + n * c.pending_requests_per_replica_max;
  }
  return 1'000'000;
}
}  // namespace

void Simulation::Impl::check_memory() {
  const auto principals = static_cast<std::uint64_t>(clients_.size());
  for (const ReplicaHost& h : replicas_) {
    if (h.byz || !h.core) continue;
    for (const auto& [name, size] : h.core->debug_sizes()) {
      auto& seen = stats_.sizes_max[name];
      seen = std::max(seen, size);
      const std::uint64_t bound = memory_bound(name, h.config, principals);
      if (size > bound) {
        fail("memory: replica " + std::to_string(h.id) + " holds " + std::to_string(size) + " " +
             name + " (bound from its configuration: " + std::to_string(bound) + ")");
        stop_ = true;
        return;
      }
    }
  }
}

void Simulation::Impl::periodic_check() {
  if (!checker_.failures().empty()) {
    stop_ = true;
    return;
  }
  check_memory();
  note_degraded();
  for (std::uint32_t i = 0; i < correct_clients_; ++i) {
    const ClientHost& c = clients_[i];
    if (!c.current) continue;
    const TimeUs deadline = std::max(c.current->invoke_us, heal_us_) + options_.liveness_bound_us;
    if (now_us_ > deadline) {
      std::ostringstream s;
      s << "liveness: client " << i << "'s request #" << c.current->number << " ("
        << model_->describe_op(c.current->op.payload) << ") invoked at t=" << c.current->invoke_us
        << "us did not complete within " << options_.liveness_bound_us
        << "us of the end of the fault phase (t=" << heal_us_ << "us)";
      fail(s.str());
      stop_ = true;
      return;
    }
  }
  if (now_us_ >= heal_us_ && workload_done()) {
    if (!converge_start_us_) converge_start_us_ = now_us_;
    if (converged()) {
      stop_ = true;
    } else if (now_us_ - *converge_start_us_ > options_.convergence_us) {
      std::ostringstream s;
      s << "convergence: correct replicas did not reach the same last executed sequence number "
           "within "
        << options_.convergence_us << "us after the workload ended:";
      for (const ReplicaHost& h : replicas_) {
        if (h.byz || !h.core) continue;
        const auto st = h.core->status();
        s << " r" << h.id << "(view " << st.view << (st.view_changing ? "*" : "") << ", exec "
          << st.last_executed << ", stable " << st.stable_checkpoint << ")";
      }
      fail(s.str());
      stop_ = true;
    }
  }
}

namespace {
TimeUs median(std::vector<TimeUs> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}
}  // namespace

// The healthy tail against the warm-up: a correct client has one operation outstanding and
// thinks briefly between operations, so the correct clients' throughput is set by their
// operations' latency. See docs/simulation.md ("The checks", throughput).
void Simulation::Impl::check_throughput(bool judge) {
  stats_.request_timeout_us = base_config_.request_timeout_us;
  stats_.retransmit_interval_us = base_config_.retransmit_interval_us;
  stats_.capture_delay_max_us = capture_delay_max_us_;
  if (warmup_us_ == 0) return;
  std::vector<TimeUs> warm;
  std::vector<TimeUs> tail;
  std::vector<TimeUs> tail_correct;
  for (const Latency& l : latencies_) {
    if (l.response_us <= warmup_us_) {
      warm.push_back(l.response_us - l.invoke_us);
    } else if (l.invoke_us >= heal_us_) {
      tail.push_back(l.response_us - l.invoke_us);
      if (!l.degraded) tail_correct.push_back(l.response_us - l.invoke_us);
    }
  }
  stats_.warmup_ops = warm.size();
  stats_.tail_ops = tail.size();
  stats_.warmup_latency_us = median(warm);
  stats_.tail_latency_us = median(tail);
  stats_.tail_correct_primary_ops = tail_correct.size();
  stats_.tail_correct_primary_latency_us = median(tail_correct);
  const std::size_t judged = options_.throughput_strict ? tail.size() : tail_correct.size();
  const TimeUs latency_us =
      options_.throughput_strict ? stats_.tail_latency_us : stats_.tail_correct_primary_latency_us;
  if (!judge || options_.throughput_ratio_max <= 0 || warm.size() < kThroughputWarmupOpsMin ||
      judged < kThroughputTailOpsMin) {
    return;
  }
  // A correct cluster may wait for a checkpoint capture (up to capture_delay_max_us) before its
  // log window lets the next batch in.
  const auto bound = static_cast<TimeUs>(std::max(
      options_.throughput_ratio_max * static_cast<double>(stats_.warmup_latency_us),
      options_.throughput_timeout_fraction * static_cast<double>(base_config_.request_timeout_us) +
          static_cast<double>(capture_delay_max_us_)));
  if (latency_us > bound) {
    std::ostringstream s;
    s << "throughput: the correct clients' median operation latency after the heal (t=" << heal_us_
      << "us) is " << latency_us << "us over " << judged << " operations"
      << (options_.throughput_strict
              ? ""
              : " with correct primaries and every correct replica taking part")
      << ", above the bound of " << bound << "us (the larger of " << options_.throughput_ratio_max
      << " times the warm-up's median, " << stats_.warmup_latency_us << "us over " << warm.size()
      << " operations, and " << options_.throughput_timeout_fraction
      << " of the request timeout plus the longest checkpoint capture, " << capture_delay_max_us_
      << "us)";
    fail(s.str());
  }
}

void Simulation::Impl::final_checks() {
  // Same sequence number, same application state.
  std::map<SeqNum, std::pair<ReplicaId, Digest>> state_at;
  for (const ReplicaHost& h : replicas_) {
    if (h.byz || !h.core) continue;
    if (h.app->executes_outside_batch() > 0) {
      fail("harness: replica " + std::to_string(h.id) + " executed requests outside a batch");
    }
    const SeqNum s = h.core->status().last_executed;
    const Digest d = h.app->digest();
    auto [it, fresh] = state_at.emplace(s, std::pair{h.id, d});
    if (!fresh && it->second.second != d) {
      fail("state: replicas " + std::to_string(it->second.first) + " and " + std::to_string(h.id) +
           " executed up to seq " + std::to_string(s) + " but hold different application states");
    }
  }
  // Liveness of what is still pending at the end.
  for (std::uint32_t i = 0; i < correct_clients_; ++i) {
    const ClientHost& c = clients_[i];
    if (c.current) {
      fail("liveness: client " + std::to_string(i) + "'s request #" +
           std::to_string(c.current->number) + " (" + model_->describe_op(c.current->op.payload) +
           ") invoked at t=" + std::to_string(c.current->invoke_us) +
           "us never completed (run ended at t=" + std::to_string(now_us_) + "us)");
    }
  }
  for (std::size_t i = 0; i < history_.size(); ++i) {
    if (history_[i].response_us) continue;
    const auto& digests = history_requests_[i];
    history_[i].took_no_effect = std::none_of(
        digests.begin(), digests.end(), [&](const Digest& d) { return checker_.was_executed(d); });
  }
  const auto lin = check_linearizable(*model_, history_);
  stats_.linearizability_steps = lin.steps;
  stats_.linearizability_steps_max = lin.steps_max;
  if (lin.verdict == LinearizabilityReport::Verdict::kViolation) {
    fail("linearizability: the history of " + lin.partition + " is not linearizable\n" +
         lin.explanation);
  } else if (lin.verdict == LinearizabilityReport::Verdict::kBudgetExceeded) {
    fail("linearizability: search budget exceeded on " + lin.partition + "\n" + lin.explanation);
  }
}

std::vector<std::string> Simulation::Impl::describe_cluster() const {
  std::vector<std::string> out;
  std::ostringstream cfg;
  const Config& k = base_config_;
  cfg << "config: n=" << k.n << " f=" << k.f << " checkpoint_interval=" << k.checkpoint_interval
      << " log_window=" << k.log_window << " pipeline_max=" << k.pipeline_max
      << " batch_max_requests=" << k.batch_max_requests << " client_window=" << k.client_window
      << " request_timeout_us=" << k.request_timeout_us
      << " view_change_timeout_us=" << k.view_change_timeout_us
      << " retransmit_interval_us=" << k.retransmit_interval_us
      << " vouch_defer_us=" << k.vouch_defer_us << " clock_skew_max_us=" << k.clock_skew_max_us
      << " agreed_time_slack_us=" << k.agreed_time_slack_us
      << " agreed_time_window_us=" << k.agreed_time_window_us
      << " capture_delay_max_us=" << capture_delay_max_us_
      << " capture_failure=" << capture_failure_ << "; heal at " << heal_us_ << "us";
  out.push_back(cfg.str());
  for (const ReplicaHost& h : replicas_) {
    std::ostringstream s;
    s << "replica " << h.id << (h.byz ? " BYZANTINE" : "") << " clock(offset " << h.clock.offset_us
      << "us, drift " << h.clock.drift_ppm << "ppm)";
    if (h.byz) {
      s << " behaviours:";
      for (ByzBehaviour b : h.byz->profile().behaviours) s << " " << behaviour_name(b);
      s << " intensity " << h.byz->profile().intensity << " target "
        << h.byz->profile().target_principal;
    }
    if (!h.core) {
      s << " DOWN";
    } else {
      const auto st = h.core->status();
      s << " view " << st.view << (st.view_changing ? " (changing)" : "") << " executed "
        << st.last_executed << " stable " << st.stable_checkpoint
        << (st.fetching_state ? " fetching-state" : "");
      s << " counters:";
      for (const auto& [name, v] : h.core->counters()) {
        if (v != 0) s << " " << name << "=" << v;
      }
      s << " sizes:";
      for (const auto& [name, v] : h.core->debug_sizes()) {
        if (v != 0) s << " " << name << "=" << v;
      }
    }
    out.push_back(s.str());
  }
  for (const ClientHost& c : clients_) {
    std::ostringstream s;
    s << "client " << c.index << " (" << c.principal << "/" << c.config.session << ")"
      << (c.byzantine ? " BYZANTINE" : "") << " ops left " << c.ops_left;
    if (c.byzantine) {
      s << " behaviours:";
      for (ByzClientBehaviour b : c.byz_behaviours) s << " " << client_behaviour_name(b);
      if (byz_client_has(c, ByzClientBehaviour::kOneReplica)) s << " (to r" << c.one_replica << ")";
    }
    if (c.current) s << " waiting on #" << c.current->number << " since " << c.current->invoke_us;
    s << " counters:";
    for (const auto& [name, v] : c.core->counters()) s << " " << name << "=" << v;
    out.push_back(s.str());
  }
  return out;
}

RunResult Simulation::Impl::run(Simulation& outer) {
  outer_ = &outer;
  for (ReplicaHost& h : replicas_) {
    h.config = base_config_;
    h.config.self = h.id;
  }
  if (const std::string err = base_config_.validate(); !err.empty()) {
    RunResult r;
    r.failures.push_back("harness: invalid configuration: " + err);
    return r;
  }
  warmup_us_ = std::min(warmup_us_, heal_us_);
  warm_ = warmup_us_ == 0;
  start_clients();
  choose_byzantine();
  if (options_.random_faults) plan_random_faults();
  if (warm_) {
    network_.set_params(faulty_params_);
  } else {
    network_.set_params(healthy_params_);
    push(warmup_us_, EventKind::kWarmupEnd);
  }
  push(heal_us_, EventKind::kHeal);
  push(100'000, EventKind::kCheck);
  for (ReplicaHost& h : replicas_) {
    if (h.fs) {
      start_from_storage(h);
    } else {
      start_replica(h, nullptr);
    }
    if (h.byz) push(static_cast<TimeUs>(byz_rng_.uniform(1, 100'000)), EventKind::kByzAct, h.id);
  }
  const TimeUs hard_end_us =
      heal_us_ + options_.liveness_bound_us + options_.convergence_us + 1'000'000;
  while (!stop_ && !queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    if (e.time_us > hard_end_us) break;
    now_us_ = e.time_us;
    trace(e);
    dispatch(e);
    if (++stats_.events > options_.event_budget) {
      fail("budget: more than " + std::to_string(options_.event_budget) +
           " events (a message storm or a livelock)");
      break;
    }
    if (!checker_.failures().empty()) break;
  }
  // What the workload checks itself (the ReD election's safety) holds whatever else failed.
  for (const std::string& problem : workload_->problems()) fail("workload: " + problem);
  if (checker_.failures().empty()) final_checks();
  check_throughput(checker_.failures().empty());

  RunResult result;
  result.failures = checker_.failures();
  stats_.messages = network_.sent();
  stats_.dropped = network_.dropped();
  stats_.heal_us = heal_us_;
  stats_.end_us = now_us_;
  for (const ReplicaHost& h : replicas_) {
    if (h.byz) {
      stats_.byzantine_mutations += h.byz->mutations();
      continue;
    }
    if (!h.core) continue;
    const auto st = h.core->status();
    stats_.last_executed = std::max(stats_.last_executed, st.last_executed);
    stats_.view = std::max(stats_.view, st.view);
    const Counters counters = h.core->counters();  // a copy: the core may rebuild it per call
    auto it = counters.find("state_transfers");
    if (it != counters.end()) stats_.state_transfers += it->second;
    it = counters.find("state_transfers.bytes_fetched");
    if (it != counters.end()) stats_.state_bytes_fetched += it->second;
    it = counters.find("state_transfers.bytes_held");
    if (it != counters.end()) stats_.state_bytes_held += it->second;
    it = counters.find("recovery.abstained");
    if (it != counters.end()) stats_.abstained += it->second;
  }
  result.stats = stats_;
  result.trace_tail.assign(trace_.begin(), trace_.end());
  if (!result.passed()) result.cluster = describe_cluster();
  return result;
}

// ---- Simulation ---------------------------------------------------------------------------------

Simulation::Simulation(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Simulation::~Simulation() = default;

std::uint32_t Simulation::n() const { return impl_->n(); }
std::uint32_t Simulation::f() const { return impl_->f(); }
void Simulation::set_heal_time(TimeUs at_us) { impl_->set_heal_time(at_us); }
void Simulation::set_network(const NetworkParams& faulty) { impl_->set_network(faulty); }
void Simulation::crash(ReplicaId r, TimeUs at_us, bool torn) { impl_->crash(r, at_us, torn); }
void Simulation::restart(ReplicaId r, TimeUs at_us) { impl_->restart(r, at_us); }
void Simulation::partition(std::vector<std::uint8_t> replica_sides, TimeUs from_us,
                           TimeUs until_us) {
  impl_->partition(std::move(replica_sides), from_us, until_us);
}
void Simulation::isolate(ReplicaId r, TimeUs from_us, TimeUs until_us) {
  std::vector<std::uint8_t> sides(n(), 0);
  sides[r] = 1;
  impl_->partition(std::move(sides), from_us, until_us);
}
void Simulation::make_byzantine(ReplicaId r, ByzProfile profile) {
  impl_->make_byzantine(r, std::move(profile));
}
void Simulation::every(TimeUs period_us, std::function<void(Simulation&)> probe) {
  impl_->every(period_us, std::move(probe));
}
RunResult Simulation::run() { return impl_->run(*this); }

TimeUs Simulation::now_us() const { return impl_->now(); }
bool Simulation::up(ReplicaId r) const { return impl_->host(r).core != nullptr; }
bool Simulation::byzantine(ReplicaId r) const { return impl_->host(r).byz != nullptr; }
ReplicaStatus Simulation::status(ReplicaId r) const { return impl_->host(r).core->status(); }
TimeUs Simulation::clock_us(ReplicaId r) const { return impl_->host(r).clock.local(now_us()); }
Counters Simulation::counters(ReplicaId r) const {
  const auto& h = impl_->host(r);
  return h.core ? h.core->counters() : h.last_counters;
}
Digest Simulation::app_digest(ReplicaId r) const { return impl_->host(r).app->digest(); }
const Config& Simulation::config() const { return impl_->config(); }
Config& Simulation::mutable_config() { return impl_->mutable_config(); }

RunResult run_seed(const SimOptions& options) {
  Simulation sim(options);
  return sim.run();
}

}  // namespace bastion::bft::sim
