// Replica: the public facade, event dispatch, effects, periodic work and introspection.
//
// Every event follows the same path: validate the envelope (size, sender, decoding), dispatch to
// the handler of its type, then after_event() runs the work any handler may have unblocked
// (held pre-prepares, execution, proposing, vouches), so handlers stay small and order-independent.
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "bft/core/replica_impl.h"

namespace bastion::bft {
namespace {

constexpr std::array<const char*, static_cast<std::size_t>(Ctr::kCount)> kCounterNames = {
    "drop.malformed",
    "drop.too_large",
    "drop.bad_sender",
    "drop.unexpected_type",
    "drop.bad_signature",
    "drop.old_view",
    "drop.future_view",
    "drop.view_changing",
    "drop.out_of_window",
    "drop.invalid",
    "drop.duplicate",
    "drop.conflict",
    "drop.timestamp",
    "timestamps.paced",
    "votes.early_kept",
    "drop.request_window",
    "drop.quota",
    "drop.unsolicited",
    "drop.throttled",
    "view_change.throttled",
    "signatures.remembered",
    "pool.expired",
    "requests.received",
    "requests.read_only",
    "requests.executed",
    "requests.stale",
    "requests.too_large",
    "requests.duplicate",
    "requests.cached_replies",
    "batches.proposed",
    "batches.empty",
    "batches.executed",
    "batches.null",
    "batches.replayed",
    "vouches.sent",
    "checkpoints.taken",
    "checkpoints.stable",
    "checkpoints.divergent",
    "checkpoints.capture_failed",
    "view_changes",
    "new_views",
    "view_change.timeouts",
    "request_timeouts",
    "slow_primary.timeouts",
    "deadline_timeouts",
    "view_change.joins",
    "state_transfers",
    "state_transfers.completed",
    "state_transfers.bad_state",
    "state_transfers.source_abandoned",
    "state_transfers.bytes_fetched",
    "state_transfers.bytes_held",
    "catch_up.committed_sent",
    "catch_up.committed_executed",
    "fetch.batch_sent",
    "fetch.requests_sent",
    "recovery.bad_state",
    "recovery.abstained",
};

template <typename T>
void move_append(std::vector<T>& to, std::vector<T>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

// ---- facade --------------------------------------------------------------------------------

Replica::Replica(const Config& config, StateMachine& app, Signer& signer, Verifier& verifier)
    : impl_(std::make_unique<Impl>(config, app, signer, verifier)) {}
Replica::~Replica() = default;

void Replica::start(TimeUs now_us, const PersistedState* recovered) {
  impl_->start(now_us, recovered);
}
void Replica::on_replica_message(ReplicaId from, ByteView bytes, TimeUs now_us) {
  impl_->on_replica_message(from, bytes, now_us);
}
void Replica::on_client_message(const std::string& principal, ByteView bytes, TimeUs now_us) {
  impl_->on_client_message(principal, bytes, now_us);
}
void Replica::on_tick(TimeUs now_us) { impl_->on_tick(now_us); }
StateBytes Replica::checkpoint_state() const { return impl_->checkpoint_state(); }
void Replica::on_checkpoint_capture_started(std::uint64_t id, TimeUs now_us) {
  impl_->on_checkpoint_capture_started(id, now_us);
}
void Replica::on_checkpoint_captured(std::uint64_t id, const CapturedState& captured,
                                     TimeUs now_us) {
  impl_->on_checkpoint_captured(id, captured, now_us);
}
void Replica::on_checkpoint_capture_failed(std::uint64_t id, TimeUs now_us) {
  impl_->on_checkpoint_capture_failed(id, now_us);
}
void Output::append(Output&& later) {
  move_append(persist, later.persist);
  sync = sync || later.sync;
  move_append(messages, later.messages);
  move_append(replies, later.replies);
  move_append(executed, later.executed);
  if (later.stable_checkpoint) stable_checkpoint = later.stable_checkpoint;
  move_append(status_reports, later.status_reports);
  capture = later.capture;
}

Output Replica::take_output() { return impl_->take_output(); }
void Replica::on_durable(std::uint64_t records) { impl_->on_durable(records); }
std::uint64_t Replica::held_send_bytes() const { return impl_->held_send_bytes(); }
std::optional<TimeUs> Replica::next_tick_us() const { return impl_->next_tick_us(); }
ReplicaStatus Replica::status() const { return impl_->status(); }
const Counters& Replica::counters() const { return impl_->counters(); }
std::map<std::string, std::uint64_t> Replica::debug_sizes() const { return impl_->debug_sizes(); }
void Replica::check_invariants() const { impl_->check_invariants(); }

// ---- construction --------------------------------------------------------------------------

Replica::Impl::Impl(const Config& config, StateMachine& app, Signer& signer, Verifier& verifier)
    : config_(config),
      app_(app),
      signer_(signer),
      verifier_(verifier),
      table_(config_),
      view_(config_.view_change_timeout_us, config_.view_change_timeout_max_us),
      time_pace_(config_.agreed_time_slack_us, config_.agreed_time_window_us),
      batch_fetches_(config_.self, config_.n),
      checkpoints_(config_.checkpoint_interval),
      proof_wait_(config_.retransmit_interval_us),
      pool_(config_),
      waiting_reads_(config_),
      vouches_(config_.vouch_defer_us),
      peer_status_(config_.n),
      early_votes_(config_.n, config_.log_window),
      serve_budget_(config_.n, TokenBucket(static_cast<double>(config_.serve_bytes_per_s),
                                           static_cast<double>(config_.serve_burst_bytes))),
      view_change_budget_(
          config_.n,
          TokenBucket(1e6 / static_cast<double>(config_.retransmit_interval_us), kViewChangeBurst)),
      // Room for every signature of n full VIEW-CHANGEs (certificates of 2f+1 signatures each).
      verified_(std::size_t{config_.n} * (config_.log_window * config_.quorum() + config_.n)),
      monitor_(config_) {
  // A bad configuration is a programmer/operator error caught before a replica is built (the
  // daemon validates its configuration file); running with one would void every bound.
  BASTION_CHECK(config_.validate().empty());
  for (std::size_t t = 1; t < message_caps_.size(); ++t) {
    message_caps_[t] = message_bytes_cap(static_cast<MsgType>(t), config_);
  }
}

// ---- events --------------------------------------------------------------------------------

void Replica::Impl::on_replica_message(ReplicaId from, ByteView bytes, TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  if (from >= config_.n || from == config_.self) {
    count(Ctr::kDropBadSender);
    return;
  }
  auto decoded = decode_checked(bytes, Channel::kFromReplica);
  if (!decoded) return;
  dispatch(from, *decoded);
  after_event();
}

std::optional<Message> Replica::Impl::decode_checked(ByteView bytes, Channel channel) {
  // The type byte and the size are checked before the body is decoded: a message costs no more
  // than the largest one of its type a correct peer sends.
  if (bytes.size() >= 2 && bytes[1] >= 1 && bytes[1] < msg_in_.size()) {
    const auto type = static_cast<MsgType>(bytes[1]);
    if (!allowed_on(type, channel)) {
      count(Ctr::kDropUnexpectedType);
      return std::nullopt;
    }
    if (bytes.size() > message_caps_[bytes[1]]) {
      count(Ctr::kDropTooLarge);
      return std::nullopt;
    }
  }
  auto decoded = decode_message(bytes, channel);
  if (!decoded) {
    count(Ctr::kDropMalformed);
    return std::nullopt;
  }
  ++msg_in_[static_cast<std::size_t>(type_of(*decoded))];
  return std::move(decoded).value();
}

void Replica::Impl::dispatch(ReplicaId from, Message& m) {
  std::visit(
      [&](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, VouchMsg>) {
          on_vouch(from, msg);
        } else if constexpr (std::is_same_v<T, FetchRequestsMsg>) {
          on_fetch_requests(from, msg);
        } else if constexpr (std::is_same_v<T, RequestsMsg>) {
          on_requests(from, msg);
        } else if constexpr (std::is_same_v<T, PrePrepareMsg>) {
          on_pre_prepare(from, msg);
        } else if constexpr (std::is_same_v<T, PrepareMsg>) {
          on_prepare(from, msg);
        } else if constexpr (std::is_same_v<T, CommitMsg>) {
          on_commit(from, msg);
        } else if constexpr (std::is_same_v<T, CheckpointMsg>) {
          on_checkpoint(from, msg);
        } else if constexpr (std::is_same_v<T, ViewChangeMsg>) {
          on_view_change(from, msg);
        } else if constexpr (std::is_same_v<T, NewViewMsg>) {
          on_new_view(from, msg);
        } else if constexpr (std::is_same_v<T, FetchBatchMsg>) {
          on_fetch_batch(from, msg);
        } else if constexpr (std::is_same_v<T, BatchMsg>) {
          on_batch(from, msg);
        } else if constexpr (std::is_same_v<T, StatusMsg>) {
          on_status(from, msg);
        } else if constexpr (std::is_same_v<T, CommittedMsg>) {
          on_committed(from, msg);
        } else if constexpr (std::is_same_v<T, CheckpointProofMsg>) {
          on_checkpoint_proof(from, msg);
        } else if constexpr (std::is_same_v<T, FetchStateMsg>) {
          on_fetch_state(from, msg);
        } else if constexpr (std::is_same_v<T, StateChunkMsg>) {
          on_state_chunk(from, msg);
        } else {
          // Client requests and replies never travel between replicas.
          count(Ctr::kDropUnexpectedType);
        }
      },
      m);
}

void Replica::Impl::on_client_message(const std::string& principal, ByteView bytes, TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  if (principal.empty() || principal.size() > config_.principal_bytes_max) {
    count(Ctr::kDropBadSender);
    return;
  }
  auto decoded = decode_checked(bytes, Channel::kFromClient);
  if (!decoded) return;
  if (auto* q = std::get_if<StatusQueryMsg>(&*decoded)) {
    const ReplicaStatus st = status();
    StatusReportMsg report;
    report.nonce = q->nonce;
    report.replica = st.id;
    report.view = st.view;
    report.primary = st.primary;
    report.view_changing = st.view_changing;
    report.last_executed = st.last_executed;
    report.stable_checkpoint = st.stable_checkpoint;
    report.agreed_time_us = st.agreed_time_us;
    const OwnCheckpoint* own = checkpoints_.own(stable_seq());
    report.stable_digest = own != nullptr ? own->digest : checkpoints_.stable_proof().state_digest;
    out_.status_reports.push_back(OutStatusReport{
        principal, q->nonce, std::make_shared<const Bytes>(encode_message(report))});
    return;
  }
  auto* m = std::get_if<ClientRequestMsg>(&*decoded);
  if (m == nullptr) {
    count(Ctr::kDropUnexpectedType);
    return;
  }
  Request r{ClientKey{principal, m->session}, m->number, m->read_only, std::move(m->payload)};
  if (r.read_only) {
    on_read_only_request(std::move(r));
  } else {
    on_client_request(std::move(r));
  }
  after_event();
}

void Replica::Impl::on_tick(TimeUs now_us) {
  if (!started_) return;
  now_us_ = now_us;
  if (now_us_ >= next_retransmit_us_) {
    next_retransmit_us_ = now_us_ + config_.retransmit_interval_us;
    retransmit();
  }
  check_request_timers();
  check_view_timers();
  count(Ctr::kPoolExpired, pool_.expire(now_us_ - config_.pool_entry_ttl_us));
  after_event();
}

void Replica::Impl::after_event() {
  if (pace_wait_until_us_ && now_us_ >= *pace_wait_until_us_) {
    pace_wait_until_us_.reset();
    held_dirty_ = true;
  }
  // Votes beyond the window that the advanced stable checkpoint brought into it.
  if (stable_seq() > early_votes_stable_ && !view_.changing()) replay_early_votes();
  if (held_dirty_) try_held_pre_prepares();
  try_execute();
  // Execution stopped at a checkpoint whose state the driver captures: the rest of the turn
  // follows the capture's answer, which comes back here (a driver answers at once, on the spot
  // or with a frozen image, so the capture is part of executing the checkpoint's batch).
  if (checkpoints_.awaiting_image()) return;
  check_proof_awaiting_log();
  if (ask_for_more_) {
    // Catching up: as soon as what the peers sent is executed, ask for the next run instead of
    // waiting for the periodic STATUS. At a run per retransmission interval, a replica that fell
    // behind under load could never catch up (the others advance faster), and would fetch the
    // state at every new stable checkpoint.
    ask_for_more_ = false;
    const Slot* next = log_.find(last_executed_ + 1);
    if (!state_fetch_ && (next == nullptr || !next->committed)) send_status();
  }
  answer_waiting_reads();
  if (request_fetches_.due()) retry_request_fetches();
  flush_vouches();
  maybe_propose();
  flush_vouches();
  track_primary_room();
}

// Every take_output() is a turn: its sends leave now, or once the driver reports its records
// durable if they must be first (Output::sync), and never before an earlier turn's.
Output Replica::Impl::take_output() {
  Output out = std::exchange(out_, Output{});
  records_taken_ += out.persist.size();
  if (!out.messages.empty() || !out.replies.empty()) {
    turns_.submit(out.sync ? records_taken_ : 0,
                  TurnQueue::Sends{std::move(out.messages), std::move(out.replies)});
  }
  out.messages = std::exchange(released_.messages, {});
  out.replies = std::exchange(released_.replies, {});
  out.capture = checkpoints_.awaiting_image();
  return out;
}

void Replica::Impl::on_durable(std::uint64_t records) {
  BASTION_CHECK(records <= records_taken_);  // the driver counts only records it was given
  turns_.durable(records);
}

void Replica::Impl::release(TurnQueue::Sends& s) {
  auto append = [](auto& to, auto& from) {
    if (to.empty()) {
      to = std::move(from);
    } else {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    }
  };
  append(released_.messages, s.messages);
  append(released_.replies, s.replies);
}

// ---- periodic work -------------------------------------------------------------------------

void Replica::Impl::retransmit() {
  send_status();
  if (view_.changing()) {
    const ViewChangeMsg* own = view_changes_.of(config_.self);
    if (own != nullptr && own->new_view == view_.number()) broadcast(*own);
  } else {
    // Own votes of this view, for seqs some peer may still need them for: above the lowest
    // execution point peers reported (a peer that lost our PREPARE can never prepare without
    // it, even after we are prepared or committed ourselves), and sent at least an interval
    // ago (under load, peers' reports lag behind by an interval's worth of seqs that are doing
    // fine). Bounded by the log window.
    SeqNum low = last_executed_;
    for (ReplicaId r = 0; r < config_.n; ++r) {
      if (r == config_.self) continue;
      low = std::min(low, peer_status_[r] ? peer_status_[r]->last_executed : stable_seq());
    }
    for (auto it = log_.upper_bound(low); it != log_.end(); ++it) {
      Slot& s = it->second;
      if (!s.header) continue;
      if (s.voted_us != 0 && now_us_ - s.voted_us < config_.retransmit_interval_us) continue;
      if (is_primary() && !s.committed) {
        // Peers that missed a pre-prepare cannot prepare it; committed ones reach them by
        // catch-up instead. Only to the backups whose PREPARE has not come: one that prepared
        // has the pre-prepare, and with large requests a batch slow to commit was sent again
        // to every backup every interval (half of a primary's traffic under large tuples).
        BatchPtr body = s.find_body(s.header->batch_digest);
        if (body == nullptr && !s.header->null_batch) continue;
        std::optional<SharedBytes> pp_bytes;
        for (ReplicaId r = 0; r < config_.n; ++r) {
          if (r == config_.self || s.prepares.contains(r)) continue;
          if (!pp_bytes) {
            PrePrepareMsg pp{*s.header, s.header_signature, {}};
            if (body != nullptr) pp.batch = body->requests;
            pp_bytes = std::make_shared<const Bytes>(encode_message(pp));
          }
          send_bytes(r, *pp_bytes);
        }
      }
      auto own_prepare = s.prepares.find(config_.self);
      if (own_prepare != s.prepares.end()) broadcast(own_prepare->second);
      auto own_commit = s.commits.find(config_.self);
      if (own_commit != s.commits.end()) broadcast(own_commit->second);
    }
  }
  for (const CheckpointMsg& own : checkpoint_votes_.votes_of(config_.self)) broadcast(own);
  revouch_pending_requests();
  retry_request_fetches();
  retry_batch_fetches();
  retry_state_fetch();
}

bool Replica::Impl::lagging() const {
  // Only a replica that is actually catching up may blame itself: a faulty primary could keep
  // the conditions below true forever (a committed seq that never becomes executable).
  if (now_us_ - last_progress_us_ >= config_.request_timeout_us) return false;
  if (state_fetch_ || proof_wait_.waiting()) return true;
  if (log_.committed_above(last_executed_)) return true;  // committed, not executable yet
  // f+1 peers (one of them correct) report having executed well beyond this replica.
  std::uint32_t ahead = 0;
  for (const auto& s : peer_status_) {
    if (s && s->last_executed > last_executed_ + config_.pipeline_max) ++ahead;
  }
  return ahead >= config_.f + 1;
}

std::optional<TimeUs> Replica::Impl::next_tick_us() const {
  if (!started_) return std::nullopt;
  // Retransmission is always due at its time (it is only ever done by on_tick). Other timers
  // count only when in the future: whatever was due at now_us_ has been handled or is blocked,
  // and blocked work is retried at the next retransmission.
  std::optional<TimeUs> best = next_retransmit_us_;
  auto consider = [&](TimeUs t) {
    if (t > now_us_ && t < *best) best = t;
  };
  if (!view_.changing()) {
    if (auto t = pool_.earliest_timer()) consider(t->first + config_.request_timeout_us);
    if (auto gap = monitor_.gap_start(oldest_request_us())) consider(*gap + monitor_.bound());
    if (batch_wait_until_us_) consider(*batch_wait_until_us_);
    if (pace_wait_until_us_) consider(*pace_wait_until_us_);
    if (auto t = proof_wait_.deadline_us()) consider(*t);
    if (auto d = app_.next_deadline_us(); d && *d > agreed_time_us_) {
      if (is_primary()) {
        consider(*d);
      } else {
        consider(std::max(*d, view_.entered_us()) + config_.request_timeout_us +
                 config_.clock_skew_max_us);
      }
    }
  }
  if (view_.deadline_us()) consider(*view_.deadline_us());
  if (auto t = vouches_.next_due_us()) consider(*t);
  return best;
}

// ---- effects -------------------------------------------------------------------------------

void Replica::Impl::send_bytes(std::optional<ReplicaId> to, SharedBytes bytes) {
  out_.messages.push_back(OutMessage{to, std::move(bytes)});
}

void Replica::Impl::send(ReplicaId to, const Message& m) {
  send_bytes(to, std::make_shared<const Bytes>(encode_message(m)));
}

void Replica::Impl::broadcast(const Message& m) {
  send_bytes(std::nullopt, std::make_shared<const Bytes>(encode_message(m)));
}

void Replica::Impl::persist(PersistRecord r) {
  // Votes that a later view change relies on, and the view itself, are durable before anything
  // of this output leaves; pre-prepares, commits and stable proofs may become durable later.
  if (std::holds_alternative<ViewRecord>(r) || std::holds_alternative<PreparedRecord>(r) ||
      std::holds_alternative<CheckpointRecord>(r)) {
    out_.sync = true;
  }
  out_.persist.push_back(std::move(r));
}

bool Replica::Impl::verify(ReplicaId signer, SignDomain domain, const Bytes& message,
                           const Signature& sig) {
  if (signer >= config_.n) return false;
  if (verifier_.verify(signer, domain, message, sig)) return true;
  count(Ctr::kDropBadSignature);
  return false;
}

bool Replica::Impl::verify_remembered(ReplicaId signer, SignDomain domain, const Bytes& message,
                                      const Signature& sig) {
  const Digest key = SignatureMemo::key(signer, domain, message, sig);
  if (verified_.contains(key)) {
    count(Ctr::kSignaturesRemembered);
    return true;
  }
  if (!verify(signer, domain, message, sig)) return false;
  verified_.remember(key);
  return true;
}

bool Replica::Impl::spend_serve_budget(ReplicaId peer, std::uint64_t bytes) {
  if (peer >= config_.n) return false;
  if (!serve_budget_[peer].take(now_us_, static_cast<double>(bytes))) {
    count(Ctr::kDropThrottled);
    return false;
  }
  return true;
}

// ---- introspection -------------------------------------------------------------------------

ReplicaStatus Replica::Impl::status() const {
  ReplicaStatus s;
  s.id = config_.self;
  s.view = view_.number();
  s.primary = primary();
  s.view_changing = view_.changing();
  s.last_executed = last_executed_;
  s.stable_checkpoint = stable_seq();
  s.agreed_time_us = agreed_time_us_;
  if (const OwnCheckpoint* own = checkpoints_.latest_own()) s.last_checkpoint_digest = own->digest;
  s.fetching_state = state_fetch_.has_value();
  return s;
}

const Counters& Replica::Impl::counters() const {
  counters_view_.clear();
  for (std::size_t i = 0; i < ctr_.size(); ++i) {
    if (ctr_[i] != 0) counters_view_[kCounterNames[i]] = ctr_[i];
  }
  for (std::size_t i = 1; i < msg_in_.size(); ++i) {
    if (msg_in_[i] != 0) {
      counters_view_[std::string("msg.in.") + type_name(static_cast<MsgType>(i))] = msg_in_[i];
    }
  }
  return counters_view_;
}

void Replica::Impl::check_invariants() const {
  if (!started_) return;
  // Execution has reached the stable checkpoint, except while its proven state is being fetched.
  BASTION_CHECK(last_executed_ >= stable_seq() || state_fetch_.has_value());
  // A state fetch fetches the stable checkpoint's state: a newer stable checkpoint replaces it.
  BASTION_CHECK(!state_fetch_ || state_fetch_->proof().seq == stable_seq());
  checkpoints_.check();
  // A checkpoint whose state waits for the driver's capture is the last seq executed.
  if (const auto capture = checkpoints_.awaiting_image()) {
    BASTION_CHECK(last_executed_ == capture->seq);
  }
  view_.check();
  log_.check(stable_seq(), config_.log_window, view_.number());
  BASTION_CHECK(pool_.timer_count() <= pool_.entries().size());
}

std::map<std::string, std::uint64_t> Replica::Impl::debug_sizes() const {
  std::map<std::string, std::uint64_t> sizes;
  std::uint64_t bodies = 0, prepares = 0, commits = 0, claims = 0, held = 0, certs = 0;
  for (const auto& [seq, s] : log_) {
    bodies += s.bodies.size();
    prepares += s.prepares.size();
    commits += s.commits.size();
    claims += s.claims.size();
    held += s.held ? 1 : 0;
    certs += s.cert ? 1 : 0;
  }
  sizes["log.entries"] = log_.size();
  sizes["log.bodies"] = bodies;
  sizes["log.prepares"] = prepares;
  sizes["log.commits"] = commits;
  sizes["log.claims"] = claims;
  sizes["log.held"] = held;
  sizes["log.certs"] = certs;
  sizes["log.assigned"] = log_.assigned_count();
  sizes["pool.entries"] = pool_.entries().size();
  sizes["pool.vouches"] = pool_.vouch_count();
  sizes["pool.bodies"] = pool_.body_count();
  sizes["pool.held_bytes"] = pool_.held_bytes();
  sizes["pool.timers"] = pool_.timer_count();
  sizes["pool.ready"] = ready_.size();
  sizes["fetch.requests"] = request_fetches_.size();
  sizes["fetch.batches"] = batch_fetches_.size();
  sizes["fetch.state_bytes"] = state_fetch_ ? state_fetch_->stream_bytes_done() : 0;
  sizes["client_table.sessions"] = table_.sessions();
  sizes["client_table.entries"] = table_.entries();
  sizes["client_table.cached_bytes"] = table_.cached_bytes();
  sizes["checkpoint.votes"] = checkpoint_votes_.size();
  sizes["checkpoint.own"] = checkpoints_.own_count();
  sizes["checkpoint.archive"] = checkpoints_.archive_count();
  sizes["checkpoint.captures_pending"] = checkpoints_.captures_pending();
  sizes["view_change.buffered"] = view_changes_.size();
  sizes["view_change.early_votes"] = early_votes_.size();
  sizes["outgoing.vouches"] = vouches_.outgoing();
  sizes["outgoing.deferred_vouches"] = vouches_.deferred();
  sizes["reads.waiting"] = waiting_reads_.size();
  return sizes;
}

}  // namespace bastion::bft
