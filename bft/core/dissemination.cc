// Request dissemination: client requests, vouches, request fetches, request timers and the
// primary's ready queue (docs/protocol.md, "Requests and their dissemination").
//
// Why vouches: a request is proposed only once 2f+1 replicas vouched for it, so at least f+1
// correct replicas hold it and every correct backup can authenticate it (from the client's own
// channel, or from f+1 vouches); a backup starts suspecting the primary only for requests with
// 2f+1 vouches, so a client that sends a request to some replicas only cannot trigger a view
// change. Everything here is bounded by RequestPool's quotas and the client window.
#include <algorithm>

#include "bft/core/replica_impl.h"

namespace bastion::bft {

// ---- from clients --------------------------------------------------------------------------

void Replica::Impl::send_reply(const ClientKey& client, std::uint64_t number, ReplyStatus status,
                               const Bytes& result, bool read_only) {
  if (replaying_) return;  // re-execution after a restart: clients retransmit and get the cache
  ReplyMsg m;
  m.session = client.session;
  m.number = number;
  m.view = view_.number();
  m.replica = config_.self;
  m.read_only = read_only;
  m.status = static_cast<std::uint8_t>(status);
  if (status == ReplyStatus::kOk) m.result = result;
  out_.replies.push_back(OutReply{client, std::make_shared<const Bytes>(encode_message(m))});
}

void Replica::Impl::reply_core_status(const Request& request, ReplyStatus status, bool read_only) {
  send_reply(request.client, request.number, status, Bytes{}, read_only);
}

// Read-only requests (PBFT 5.1.3) are answered from the current state, but only once this
// replica has executed everything it had prepared when the read arrived. An ordered write that
// completed was executed by a correct replica holding 2f+1 COMMITs, so 2f+1 replicas had prepared
// it before any later read arrived; any 2f+1 read repliers include a correct one of them, whose
// answer then reflects the write. So 2f+1 matching read-only replies reflect every completed
// write, and a client that gets fewer retries ordered.
void Replica::Impl::on_read_only_request(Request request) {
  count(Ctr::kRequestsReadOnly);
  if (request.payload.size() > config_.request_bytes_max) {
    count(Ctr::kRequestsTooLarge);
    reply_core_status(request, ReplyStatus::kTooLarge, true);
    return;
  }
  const SeqNum barrier = read_barrier();
  if (barrier > last_executed_ || state_fetch_) {
    if (!waiting_reads_.has_room(request.client)) {
      // Too many reads waiting: the client falls back to an ordered request.
      count(Ctr::kDropQuota);
      reply_core_status(request, ReplyStatus::kNotReadOnly, true);
      return;
    }
    waiting_reads_.add(std::max(barrier, stable_seq()), std::move(request));
    return;
  }
  auto result = app_.execute_read_only(request);
  if (!result) {
    reply_core_status(request, ReplyStatus::kNotReadOnly, true);
    return;
  }
  send_reply(request.client, request.number, ReplyStatus::kOk, *result, true);
}

SeqNum Replica::Impl::read_barrier() const { return log_.highest_prepared_above(last_executed_); }

void Replica::Impl::answer_waiting_reads() {
  if (state_fetch_) return;
  while (std::optional<Request> request = waiting_reads_.take_ready(last_executed_)) {
    auto result = app_.execute_read_only(*request);
    if (!result) {
      reply_core_status(*request, ReplyStatus::kNotReadOnly, true);
    } else {
      send_reply(request->client, request->number, ReplyStatus::kOk, *result, true);
    }
  }
}

void Replica::Impl::on_client_request(Request request) {
  count(Ctr::kRequestsReceived);
  if (request.payload.size() > config_.request_bytes_max) {
    count(Ctr::kRequestsTooLarge);
    reply_core_status(request, ReplyStatus::kTooLarge, false);
    return;
  }
  switch (table_.classify(request.client, request.number)) {
    case ClientTable::Verdict::kStale:
      count(Ctr::kRequestsStale);
      reply_core_status(request, ReplyStatus::kStale, false);
      return;
    case ClientTable::Verdict::kExecuted: {
      // A retransmission: the client missed the reply. A waiting request is answered kPending
      // again, and for real when it completes.
      const ClientTable::Entry* e = table_.entry(request.client, request.number);
      if (e == nullptr) return;
      if (e->waiting) {
        reply_core_status(request, ReplyStatus::kPending, false);
        return;
      }
      count(Ctr::kRequestsCachedReplies);
      if (e->cached) {
        send_reply(request.client, request.number, ReplyStatus::kOk, e->result, false);
      } else {
        reply_core_status(request, ReplyStatus::kEvicted, false);
      }
      return;
    }
    case ClientTable::Verdict::kNew:
      break;
  }
  if (!table_.within_window(request.client, request.number)) {
    count(Ctr::kDropRequestWindow);
    return;
  }
  const RequestId id{request.client, request.number};
  const Digest d = request_digest(request);
  PoolEntry* existing = pool_.find(id);
  if (existing != nullptr && existing->own_vouched && existing->own_digest != d) {
    // The client sent different requests under one number; this replica vouches its first only.
    count(Ctr::kDropConflict);
    return;
  }
  const bool created = existing == nullptr;
  PoolEntry& e = created ? pool_.find_or_create_for_client(id) : *existing;
  if (!pool_.store_body(id, e, d, std::make_shared<const Request>(std::move(request)))) {
    count(Ctr::kDropQuota);
    if (created) pool_.erase(id);
    return;
  }
  if (!e.own_vouched) {
    e.from_client = true;
    vouch(id, e, d);
  } else {
    if (!e.from_client) {
      e.from_client = true;
      held_dirty_ = true;
    }
    // The client retransmits because it has no reply yet: our vouch may have been lost.
    if (now_us_ - e.last_vouch_us >= config_.retransmit_interval_us) vouch(id, e, d, true);
  }
  update_entry(id, e);
}

// ---- vouches -------------------------------------------------------------------------------

void Replica::Impl::vouch(const RequestId& id, PoolEntry& e, const Digest& d, bool repeat) {
  e.own_vouched = true;
  e.own_digest = d;
  e.last_vouch_us = now_us_;
  vouches_.add(VouchEntry{id.client, id.number, d}, repeat, is_primary(), now_us_);
  count(Ctr::kVouchesSent);
  held_dirty_ = true;
}

void Replica::Impl::flush_vouches() {
  vouches_.flush(
      now_us_,
      // Deferred vouches of requests executed meanwhile are not needed by anyone.
      [this](const VouchEntry& v) {
        return table_.classify(v.client, v.number) == ClientTable::Verdict::kNew;
      },
      [this](const std::vector<VouchEntry>& entries, bool to_primary) {
        send_vouches(entries, to_primary ? std::optional<ReplicaId>(primary()) : std::nullopt);
      });
}

void Replica::Impl::send_vouches(const std::vector<VouchEntry>& entries,
                                 std::optional<ReplicaId> to) {
  for (std::size_t i = 0; i < entries.size(); i += kDisseminationEntriesMax) {
    const std::size_t end = std::min(entries.size(), i + kDisseminationEntriesMax);
    VouchMsg m;
    m.entries.assign(entries.begin() + static_cast<std::ptrdiff_t>(i),
                     entries.begin() + static_cast<std::ptrdiff_t>(end));
    send_bytes(to, std::make_shared<const Bytes>(encode_message(m)));
  }
}

void Replica::Impl::revouch_pending_requests() {
  // A request that should have been ordered by now but was not: a peer may have missed our vouch
  // (lost, or it restarted and lost its pool), so it cannot authenticate the request in a
  // pre-prepare. Only requests with f+1 support are worth it (a request that reached one replica
  // only is the client's problem); each at most once per retransmission interval.
  for (auto& [id, e] : pool_.entries()) {
    if (!e.own_vouched || now_us_ - e.last_vouch_us < config_.retransmit_interval_us) continue;
    if (RequestPool::support_for(e, e.own_digest) < config_.f + 1) continue;
    vouch(id, e, e.own_digest, true);
  }
}

void Replica::Impl::on_vouch(ReplicaId from, const VouchMsg& m) {
  for (const VouchEntry& v : m.entries) {
    if (v.client.principal.empty() || v.client.principal.size() > config_.principal_bytes_max) {
      count(Ctr::kDropInvalid);
      continue;
    }
    if (table_.classify(v.client, v.number) != ClientTable::Verdict::kNew) continue;
    if (!table_.within_window(v.client, v.number)) {
      count(Ctr::kDropRequestWindow);
      continue;
    }
    const RequestId id{v.client, v.number};
    PoolEntry* e = pool_.find_or_create_for_vouch(id, from, now_us_);
    if (e == nullptr) {
      count(Ctr::kDropQuota);
      continue;
    }
    if (!RequestPool::add_vouch(*e, from, v.digest)) continue;
    held_dirty_ = true;
    update_entry(id, *e);
  }
}

void Replica::Impl::update_entry(const RequestId& id, PoolEntry& e) {
  const std::uint32_t authentic_quorum = config_.f + 1;
  // A digest with f+1 vouches from others is authentic: vouch for it too if this replica has not
  // vouched yet, fetching its bytes first if needed. Fetching is bounded: one digest per voucher.
  for (const auto& [voucher, d] : e.vouches) {
    if (RequestPool::others_for(e, d) < authentic_quorum) continue;
    RequestPtr body = RequestPool::body(e, d);
    if (body != nullptr) {
      if (!e.own_vouched) vouch(id, e, d);
    } else {
      request_fetches_.want(d, id);
    }
  }
  if (RequestPool::best_supported(e).second >= config_.quorum() && live(id)) {
    pool_.start_timer(id, e, now_us_);
  }
  maybe_enqueue(id, e);
}

bool Replica::Impl::authentic(const RequestId& id, const Digest& d) const {
  const PoolEntry* e = pool_.find(id);
  if (e == nullptr) return false;
  if (e->from_client && e->own_digest == d) return true;
  return RequestPool::others_for(*e, d) >= config_.f + 1;
}

// ---- request fetches -----------------------------------------------------------------------

void Replica::Impl::retry_request_fetches() {
  // One FETCH-REQUESTS per target, for the digests due now.
  auto round = request_fetches_.round(
      now_us_, config_.retransmit_interval_us, kDisseminationEntriesMax,
      [this](const RequestId& id, const Digest& d) -> std::optional<std::vector<ReplicaId>> {
        const PoolEntry* e = pool_.find(id);
        if (e == nullptr || RequestPool::body(*e, d) != nullptr) return std::nullopt;
        std::vector<ReplicaId> vouchers;
        for (const auto& [r, digest] : e->vouches) {
          if (digest == d) vouchers.push_back(r);
        }
        return vouchers;
      });
  for (auto& [target, digests] : round) {
    count(Ctr::kFetchRequestsSent);
    FetchRequestsMsg m;
    m.digests = std::move(digests);
    send(target, m);
  }
}

void Replica::Impl::on_fetch_requests(ReplicaId from, const FetchRequestsMsg& m) {
  // An answer is at most a batch's worth of bytes (the receiver's cap for REQUESTS); what does
  // not fit is asked for again by the fetch's retransmission.
  RequestsMsg reply;
  std::uint64_t bytes = 0;
  for (const Digest& d : m.digests) {
    RequestPtr r = pool_.find_by_digest(d);
    if (r == nullptr) continue;
    const std::uint64_t size = batch_request_bytes(*r);
    if (!reply.requests.empty() && bytes + size > config_.batch_max_bytes) break;
    bytes += size;
    reply.requests.push_back(*r);
  }
  if (reply.requests.empty() || !spend_serve_budget(from, bytes)) return;
  send(from, reply);
}

void Replica::Impl::on_requests(ReplicaId /*from*/, const RequestsMsg& m) {
  for (const Request& r : m.requests) {
    if (r.read_only || r.payload.size() > config_.request_bytes_max || r.client.principal.empty() ||
        r.client.principal.size() > config_.principal_bytes_max) {
      count(Ctr::kDropInvalid);
      continue;
    }
    const RequestId id{r.client, r.number};
    PoolEntry* e = pool_.find(id);
    const Digest d = request_digest(r);
    // Only bytes whose digest f+1 replicas vouched for are worth holding.
    if (e == nullptr || RequestPool::others_for(*e, d) < config_.f + 1) {
      count(Ctr::kDropUnsolicited);
      continue;
    }
    if (RequestPool::body(*e, d) != nullptr) continue;
    if (!pool_.store_body(id, *e, d, std::make_shared<const Request>(r))) {
      count(Ctr::kDropQuota);
      continue;
    }
    request_fetches_.forget(d);
    held_dirty_ = true;
    update_entry(id, *e);
  }
}

// ---- the primary's ready queue ---------------------------------------------------------------

bool Replica::Impl::ready(const RequestId& id, const PoolEntry& e) const {
  if (!is_primary() || view_.changing() || log_.assigned(id)) return false;
  if (!live(id)) return false;
  for (const auto& [d, body] : e.bodies) {
    if (RequestPool::support_for(e, d) >= config_.quorum() && authentic(id, d)) return true;
  }
  return false;
}

void Replica::Impl::maybe_enqueue(const RequestId& id, PoolEntry& e) {
  if (e.queued || !ready(id, e)) return;
  e.queued = true;
  ready_.push_back(id);
}

void Replica::Impl::rebuild_ready_queue() {
  ready_.clear();
  for (auto& [id, e] : pool_.entries()) {
    e.queued = false;
    maybe_enqueue(id, e);
  }
}

// ---- request timers ------------------------------------------------------------------------

void Replica::Impl::check_request_timers() {
  if (view_.changing() || is_primary()) return;
  auto earliest = pool_.earliest_timer();
  if (!earliest) return;
  const bool timed_out = now_us_ - earliest->first >= config_.request_timeout_us;
  if (!timed_out && !monitor_.slow(now_us_, oldest_request_us(), pace_wait_until_us_.has_value())) {
    return;
  }
  if (lagging()) {
    // The request is probably ordered already and this replica has not caught up: its own delay,
    // not the primary's. Look again after catching up.
    pool_.restart_timers(now_us_);
    return;
  }
  count(timed_out ? Ctr::kRequestTimeouts : Ctr::kSlowPrimaryTimeouts);
  start_view_change(view_.number() + 1);
}

void Replica::Impl::track_primary_room() {
  // Seen from here: the primary can propose the seq after the highest it pre-prepared when that
  // seq is in the window and fewer than pipeline_max batches are in flight. A backup behind in
  // execution sees less room than the primary has, which only makes it slower to suspect.
  const SeqNum next = std::max(monitor_.high_seq(), last_executed_) + 1;
  monitor_.track_room(!view_.changing() && !is_primary() && in_window(next) &&
                          next - 1 - last_executed_ < config_.pipeline_max,
                      now_us_);
}

std::optional<TimeUs> Replica::Impl::oldest_request_us() const {
  const auto earliest = pool_.earliest_timer();
  if (!earliest) return std::nullopt;
  return earliest->first;
}

bool Replica::Impl::live(const RequestId& id) const {
  return table_.classify(id.client, id.number) == ClientTable::Verdict::kNew &&
         table_.within_window(id.client, id.number);
}

void Replica::Impl::forget_after_install() {
  std::vector<RequestId> done;
  for (auto& [id, e] : pool_.entries()) {
    if (table_.classify(id.client, id.number) != ClientTable::Verdict::kNew) {
      done.push_back(id);
      continue;
    }
    if (table_.has_session(id.client)) continue;  // then the table knows what executed
    // A session the installed table does not know: new, or evicted after this request executed
    // in the range skipped. Then the peers that executed it erased it and will not vouch again,
    // and the vouches held would make it look ready (and its timer run) here alone. Those still
    // pending are vouched for again by their peers (revouch_pending_requests).
    e.vouches.clear();
    pool_.stop_timer(id, e);
  }
  for (const RequestId& id : done) pool_.erase(id);
  rebuild_ready_queue();
}

void Replica::Impl::stop_timers_outside_window(const ClientKey& client) {
  auto& entries = pool_.entries();
  for (auto it = entries.lower_bound(RequestId{client, 0});
       it != entries.end() && it->first.client == client; ++it) {
    if (!table_.within_window(client, it->first.number)) {
      pool_.stop_timer(it->first, it->second);
    }
  }
}

}  // namespace bastion::bft
