// The normal case (PBFT section 4.2): the primary proposes batches; replicas pre-prepare, prepare
// and commit them with 2f+1 quorums.
//
// Safety rests on: a replica accepts at most one pre-prepare per (view, seq), and after a restart
// sends no prepare in the view it was in but those it has records of (so it cannot vote twice;
// see persist.h); it is prepared only with the pre-prepare plus 2f matching prepares from
// distinct backups; it commits only with 2f+1 matching commits. Liveness and bounds: messages
// outside the log window or for another view are dropped; a pre-prepare waits (held, one per seq)
// until the previous seq's timestamp is known and its requests are authentic here.
#include <algorithm>
#include <set>

#include "bft/core/replica_impl.h"

namespace bastion::bft {

// ---- headers ----------------------------------------------------------------------------------

std::optional<TimeUs> Replica::Impl::agreed_floor(SeqNum seq) const {
  TimeUs t = agreed_time_us_;
  for (SeqNum s = last_executed_ + 1; s < seq; ++s) {
    const Slot* slot = log_.find(s);
    const BatchHeader* h = slot == nullptr ? nullptr : slot->known_header();
    if (h == nullptr) return std::nullopt;
    if (!h->null_batch) t = std::max(t, h->timestamp_us);
  }
  return t;
}

bool Replica::Impl::batch_requests_valid(SeqNum seq, const Batch& b) const {
  std::set<RequestId> seen;
  for (const Request& r : b.requests) {
    RequestId id{r.client, r.number};
    if (table_.classify(r.client, r.number) != ClientTable::Verdict::kNew) return false;
    if (log_.assigned_elsewhere(id, seq)) return false;
    if (!seen.insert(std::move(id)).second) return false;
  }
  return true;
}

bool Replica::Impl::request_acceptable(const Request& r) const {
  return !r.read_only && r.payload.size() <= config_.request_bytes_max &&
         !r.client.principal.empty() && r.client.principal.size() <= config_.principal_bytes_max;
}

// ---- proposing (primary) -------------------------------------------------------------------

void Replica::Impl::maybe_propose() {
  batch_wait_until_us_.reset();
  if (!is_primary() || view_.changing() || state_fetch_ || abstaining()) return;
  while (propose_one()) {
  }
}

bool Replica::Impl::propose_one() {
  const SeqNum seq = next_seq_;
  if (!in_window(seq) || seq <= last_executed_) return false;
  const std::uint64_t in_flight = seq - 1 - last_executed_;
  if (in_flight >= config_.pipeline_max) return false;
  const std::optional<TimeUs> floor = agreed_floor(seq);
  if (!floor) return false;
  // Optional wait to fill a batch while others are in flight (a lone request never waits).
  if (config_.batch_delay_us > 0 && in_flight > 0 && ready_.size() < config_.batch_max_requests &&
      now_us_ < last_proposal_us_ + config_.batch_delay_us) {
    batch_wait_until_us_ = last_proposal_us_ + config_.batch_delay_us;
    return false;
  }

  std::vector<Request> requests;
  std::vector<Digest> digests;
  std::uint64_t bytes = 0;
  while (!ready_.empty() && requests.size() < config_.batch_max_requests) {
    const RequestId id = ready_.front();
    PoolEntry* e = pool_.find(id);
    if (e == nullptr || !ready(id, *e)) {
      if (e != nullptr) e->queued = false;
      ready_.pop_front();
      continue;
    }
    // The digest to propose: one with 2f+1 support that is authentic here and held.
    RequestPtr body;
    Digest d{};
    for (const auto& [digest, b] : e->bodies) {
      if (RequestPool::support_for(*e, digest) >= config_.quorum() && authentic(id, digest)) {
        body = b;
        d = digest;
        break;
      }
    }
    const std::uint64_t size = batch_request_bytes(*body);
    if (!requests.empty() && bytes + size > config_.batch_max_bytes) {
      // Too large for what is left: the others' requests may still fit; this one goes first
      // in the next batch (ReadyQueue::end_batch()).
      ready_.defer_front();
      continue;
    }
    ready_.pop_front();
    e->queued = false;
    requests.push_back(*body);
    digests.push_back(d);
    bytes += size;
  }
  ready_.end_batch();
  if (requests.empty()) {
    // Idle, but the application waits on time (leases, timeouts): an empty batch moves agreed
    // time forward. One at a time is enough.
    const std::optional<TimeUs> deadline = app_.next_deadline_us();
    if (!deadline || *deadline > now_us_ || *deadline <= *floor || in_flight > 0) return false;
    count(Ctr::kBatchesEmpty);
  }

  auto batch = std::make_shared<Batch>();
  batch->requests = std::move(requests);
  batch->request_digests = std::move(digests);
  batch->digest = batch_digest_of(batch->request_digests);
  batch->bytes = bytes;

  BatchHeader h;
  h.view = view_.number();
  h.seq = seq;
  h.timestamp_us = std::max(time_pace_.stamp(now_us_), *floor + 1);
  time_pace_.note(now_us_, h.timestamp_us);
  h.batch_digest = batch->digest;
  const Signature sig = signer_.sign(SignDomain::kPrePrepare, pre_prepare_signed_bytes(h));

  Slot& s = log_.at(seq);
  s.header = h;
  s.header_signature = sig;
  s.voted_us = now_us_;
  s.store_body(batch);
  s.persisted_body = h.batch_digest;
  log_.assign(seq, *batch);

  PrePrepareMsg pp{h, sig, batch->requests};
  auto bytes_out = std::make_shared<const Bytes>(encode_message(pp));
  persist(PrePreparedRecord{std::move(pp)});
  send_bytes(std::nullopt, std::move(bytes_out));
  next_seq_ = seq + 1;
  last_proposal_us_ = now_us_;
  count(Ctr::kBatchesProposed);
  check_prepared(seq, s);
  return true;
}

// ---- pre-prepare (backups) -------------------------------------------------------------------

void Replica::Impl::on_pre_prepare(ReplicaId from, PrePrepareMsg& m) {
  const BatchHeader& h = m.header;
  if (from != config_.primary_of(h.view)) {
    count(Ctr::kDropBadSender);
    return;
  }
  if (h.view < view_.number()) {
    count(Ctr::kDropOldView);
    return;
  }
  if (keep_early(from, h.view, h.seq, m)) return;
  if (h.null_batch) {
    count(Ctr::kDropInvalid);  // only a NEW-VIEW proposes null batches
    return;
  }
  if (!in_window(h.seq)) {
    count(Ctr::kDropOutOfWindow);
    return;
  }
  if (h.seq <= last_executed_) {
    count(Ctr::kDropDuplicate);
    return;
  }
  Slot& s = log_.at(h.seq);
  if (s.header || s.held) {
    const BatchHeader& known = s.header ? *s.header : s.held->header;
    count(known == h ? Ctr::kDropDuplicate : Ctr::kDropConflict);
    return;
  }
  if (!verify(from, SignDomain::kPrePrepare, pre_prepare_signed_bytes(h), m.signature)) return;
  if (h.timestamp_us > now_us_ + config_.clock_skew_max_us ||
      h.timestamp_us < now_us_ - config_.clock_skew_max_us) {
    count(Ctr::kDropTimestamp);
    return;
  }
  if (m.batch.size() > config_.batch_max_requests) {
    count(Ctr::kDropInvalid);
    return;
  }
  for (const Request& r : m.batch) {
    if (!request_acceptable(r)) {
      count(Ctr::kDropInvalid);
      return;
    }
  }
  BatchPtr body = make_batch(std::move(m.batch));
  if (body->digest != h.batch_digest ||
      (body->requests.size() > 1 && body->bytes > config_.batch_max_bytes)) {
    count(Ctr::kDropInvalid);
    return;
  }
  log_.hold(HeldPrePrepare{h, m.signature, std::move(body)});
  held_dirty_ = true;
}

void Replica::Impl::try_held_pre_prepares() {
  held_dirty_ = false;
  // In seq order: accepting seq makes seq+1's timestamp floor known.
  log_.review_held(
      [this](SeqNum seq, Slot& s) { return try_accept_held(seq, s) == HeldOutcome::kWaiting; });
}

Replica::Impl::HeldOutcome Replica::Impl::try_accept_held(SeqNum seq, Slot& s) {
  const HeldPrePrepare& held = *s.held;
  if (view_.changing() || held.header.view != view_.number() || s.header || seq <= last_executed_) {
    return HeldOutcome::kDropped;
  }
  const std::optional<TimeUs> floor = agreed_floor(seq);
  if (!floor) return HeldOutcome::kWaiting;
  if (held.header.timestamp_us <= *floor) {
    count(Ctr::kDropTimestamp);
    return HeldOutcome::kDropped;
  }
  if (!batch_requests_valid(seq, *held.body)) {
    count(Ctr::kDropInvalid);
    return HeldOutcome::kDropped;
  }
  for (std::size_t i = 0; i < held.body->requests.size(); ++i) {
    const Request& r = held.body->requests[i];
    if (!authentic(RequestId{r.client, r.number}, held.body->request_digests[i])) {
      return HeldOutcome::kWaiting;
    }
  }
  if (const std::optional<TimeUs> limit = time_pace_.limit(now_us_);
      limit && held.header.timestamp_us > *limit) {
    // Agreed time would gain on this replica's clock faster than its pace allows: wait until
    // the clock has caught up enough (within the skew, checked on arrival).
    const TimeUs due = now_us_ + (held.header.timestamp_us - *limit);
    pace_wait_until_us_ = std::min(pace_wait_until_us_.value_or(due), due);
    if (!s.held->paced) count(Ctr::kTimestampsPaced);
    s.held->paced = true;
    return HeldOutcome::kWaiting;
  }
  HeldPrePrepare accepted = std::move(*s.held);
  s.held.reset();
  time_pace_.note(now_us_, accepted.header.timestamp_us);
  accept_pre_prepare(seq, s, accepted.header, accepted.signature, std::move(accepted.body));
  return HeldOutcome::kAccepted;
}

void Replica::Impl::accept_pre_prepare(SeqNum seq, Slot& s, const BatchHeader& h,
                                       const Signature& sig, BatchPtr body) {
  s.header = h;
  s.header_signature = sig;
  s.accepted_us = now_us_;
  monitor_.pre_prepare_accepted(seq, now_us_, oldest_request_us());
  PrePrepareMsg record{h, sig, {}};
  if (body != nullptr) {
    log_.assign(seq, *body);
    record.batch = body->requests;
    s.persisted_body = h.batch_digest;
    s.store_body(std::move(body));
  }
  persist(PrePreparedRecord{std::move(record)});
  if (!is_primary()) send_prepare(seq, s);
  check_prepared(seq, s);
}

// ---- prepare and commit ----------------------------------------------------------------------

void Replica::Impl::send_prepare(SeqNum seq, Slot& s) {
  if (abstaining()) {
    count(Ctr::kRecoveryAbstained);
    return;
  }
  PrepareMsg p;
  p.view = view_.number();
  p.seq = seq;
  p.batch_digest = s.header->batch_digest;
  p.replica = config_.self;
  p.timestamp_us = s.header->timestamp_us;
  p.signature = signer_.sign(SignDomain::kPrepare, prepare_signed_bytes(p));
  s.prepares[config_.self] = p;
  s.prepares_verified |= std::uint64_t{1} << config_.self;
  s.voted_us = now_us_;
  broadcast(p);
}

void Replica::Impl::on_prepare(ReplicaId from, const PrepareMsg& m) {
  if (m.replica != from || from == config_.primary_of(m.view)) {
    count(Ctr::kDropBadSender);  // the primary's pre-prepare stands for its prepare
    return;
  }
  if (m.view < view_.number()) {
    count(Ctr::kDropOldView);
    return;
  }
  if (keep_early(from, m.view, m.seq, m)) return;
  if (!in_window(m.seq)) {
    count(Ctr::kDropOutOfWindow);
    return;
  }
  Slot& s = log_.at(m.seq);
  if (s.prepares.contains(from)) {
    count(Ctr::kDropDuplicate);
    return;
  }
  // The channel says who sent it; the signature only matters once the prepare goes into a
  // prepared certificate, so check_prepared verifies it then (a slot needs 2f of the 3f).
  s.prepares.emplace(from, m);
  check_prepared(m.seq, s);
}

template <typename M>
bool Replica::Impl::keep_early(ReplicaId from, ViewNum view, SeqNum seq, const M& m) {
  // (Older views are dropped by the caller.) In the current view, a vote is early when its seq
  // is at most a window beyond this replica's: its stable checkpoint lags the sender's.
  const bool current = view == view_.number() && !view_.changing();
  if (current && (seq <= stable_seq() + config_.log_window ||
                  seq - stable_seq() > 2 * std::uint64_t{config_.log_window})) {
    return false;
  }
  switch (early_votes_.keep(from, view, seq, stable_seq(), m)) {
    case EarlyVotes::Outcome::kKept:
      count(Ctr::kEarlyVotesKept);
      break;
    case EarlyVotes::Outcome::kOlderView:
      count(Ctr::kDropOldView);  // the sender has moved on itself
      break;
    case EarlyVotes::Outcome::kRefused:
      count(current                 ? Ctr::kDropOutOfWindow
            : view > view_.number() ? Ctr::kDropFutureView
                                    : Ctr::kDropViewChanging);
      break;
  }
  return true;
}

void Replica::Impl::replay_early_votes() {
  early_votes_stable_ = stable_seq();
  for (auto& [r, votes] : early_votes_.take(view_.number())) {
    for (auto& [seq, m] : votes.pre_prepares) on_pre_prepare(r, m);
    for (const auto& [seq, m] : votes.prepares) on_prepare(r, m);
    for (const auto& [seq, m] : votes.commits) on_commit(r, m);
  }
}

void Replica::Impl::check_prepared(SeqNum seq, Slot& s) {
  if (s.prepared || !s.header) return;
  const BatchHeader& h = *s.header;
  const ReplicaId primary_id = primary();
  auto matches = [&](ReplicaId r, const PrepareMsg& p) {
    return r != primary_id && p.batch_digest == h.batch_digest && p.timestamp_us == h.timestamp_us;
  };
  std::size_t candidates = 0;
  for (const auto& [r, p] : s.prepares) candidates += matches(r, p) ? 1 : 0;
  if (candidates < config_.prepares_needed()) return;
  // Checked ones first; then check others until the certificate is complete. A prepare whose
  // signature fails is dropped (its sender is faulty) and the replica waits for another.
  std::vector<PrepareMsg> matching;
  for (const auto& [r, p] : s.prepares) {
    if (matches(r, p) && (s.prepares_verified >> r & 1) != 0) matching.push_back(p);
  }
  for (auto it = s.prepares.begin();
       it != s.prepares.end() && matching.size() < config_.prepares_needed();) {
    const auto& [r, p] = *it;
    if (!matches(r, p) || (s.prepares_verified >> r & 1) != 0) {
      ++it;
    } else if (verify(r, SignDomain::kPrepare, prepare_signed_bytes(p), p.signature)) {
      s.prepares_verified |= std::uint64_t{1} << r;
      matching.push_back(p);
      ++it;
    } else {
      it = s.prepares.erase(it);
    }
  }
  if (matching.size() < config_.prepares_needed()) return;
  matching.resize(config_.prepares_needed());
  s.prepared = true;
  s.cert = PreparedCert{*s.header, s.header_signature, std::move(matching)};
  persist(PreparedRecord{*s.cert});
  CommitMsg c{view_.number(), seq, h.batch_digest, config_.self, h.timestamp_us};
  s.commits[config_.self] = c;
  s.voted_us = now_us_;
  broadcast(c);
  check_committed(seq, s);
}

void Replica::Impl::on_commit(ReplicaId from, const CommitMsg& m) {
  if (m.replica != from) {
    count(Ctr::kDropBadSender);
    return;
  }
  if (m.view < view_.number()) {
    count(Ctr::kDropOldView);
    return;
  }
  if (keep_early(from, m.view, m.seq, m)) return;
  if (!in_window(m.seq)) {
    count(Ctr::kDropOutOfWindow);
    return;
  }
  Slot& s = log_.at(m.seq);
  if (s.commits.contains(from)) {
    count(Ctr::kDropDuplicate);
    return;
  }
  s.commits.emplace(from, m);
  check_committed(m.seq, s);
}

void Replica::Impl::check_committed(SeqNum /*seq*/, Slot& s) {
  if (!s.prepared || s.committed) return;
  const BatchHeader& h = *s.header;
  std::uint32_t matching = 0;
  for (const auto& [r, c] : s.commits) {
    matching += (c.batch_digest == h.batch_digest && c.timestamp_us == h.timestamp_us) ? 1 : 0;
  }
  if (matching < config_.quorum()) return;
  s.committed = *s.header;  // executed in seq order by try_execute()
}

}  // namespace bastion::bft
