// Catching up: STATUS, committed catch-up, batch fetches and state transfer.
//
// A replica that is behind learns it from its peers' answers to its periodic STATUS:
//   - behind in view: the NEW-VIEW that established the peer's view (self-certifying);
//   - behind in execution within the log: COMMITTED claims; a batch executes once f+1 distinct
//     replicas claim the same (seq, timestamp, digest, null) (one of them is correct) and its body
//     matches the digest;
//   - behind the stable checkpoint: a CHECKPOINT-PROOF, then the state in chunks from the proof's
//     signers, checked leaf by leaf against the proven digest as it comes, but for the pages it
//     holds already (StateFetch); a source whose bytes do not verify, that stops answering, sends
//     a chunk short of full size or falls below the minimum rate is replaced by one not tried
//     yet, which goes on from what was checked.
// Serving costs bandwidth, so each peer has a byte budget per retransmission interval.
#include "bft/core/replica_impl.h"

#include <algorithm>

namespace bastion::bft {

// ---- status --------------------------------------------------------------------------------

void Replica::Impl::send_status() {
  StatusMsg m;
  m.view = view_.number();
  m.view_changing = view_.changing();
  m.last_executed = last_executed_;
  m.stable_seq = stable_seq();
  m.replica = config_.self;
  broadcast(m);
}

void Replica::Impl::on_status(ReplicaId from, const StatusMsg& m) {
  if (m.replica != from) {
    count(Ctr::kDropBadSender);
    return;
  }
  peer_status_[from] = m;
  if (!view_.changing() && view_.new_view_bytes() &&
      (m.view < view_.number() || (m.view == view_.number() && m.view_changing)) &&
      spend_serve_budget(from, view_.new_view_bytes()->size())) {
    send_bytes(from, view_.new_view_bytes());
  }
  if (stable_seq() > 0 && m.stable_seq < stable_seq()) {
    // Its stable checkpoint is behind ours: the votes for ours are gone, so only the proof
    // brings it there (it garbage-collects, or fetches the state if its log cannot reach it).
    Bytes bytes = encode_message(checkpoints_.stable_proof());
    if (spend_serve_budget(from, bytes.size())) {
      send_bytes(from, std::make_shared<const Bytes>(std::move(bytes)));
    }
    // Up to one interval behind it, the archive still holds the batches it needs.
    if (m.last_executed < checkpoints_.retain_floor()) return;
  }
  if (m.last_executed >= last_executed_) return;
  const SeqNum first = std::max(m.last_executed, checkpoints_.retain_floor()) + 1;
  const SeqNum last = std::min(last_executed_, m.last_executed + config_.catch_up_batches_max);
  for (SeqNum seq = first; seq <= last; ++seq) {
    CommittedMsg c;
    c.replica = config_.self;
    if (seq <= stable_seq()) {
      const ArchivedBatch* a = checkpoints_.archived(seq);
      if (a == nullptr) break;
      c.header = a->header;
      if (a->body != nullptr) c.batch = a->body->requests;
    } else {
      const Slot* s = log_.find(seq);
      if (s == nullptr || !s->committed) break;
      c.header = *s->committed;
      if (!c.header.null_batch) {
        BatchPtr body = s->find_body(c.header.batch_digest);
        if (body != nullptr) c.batch = body->requests;
      }
    }
    Bytes bytes = encode_message(c);
    if (!spend_serve_budget(from, bytes.size())) break;
    count(Ctr::kCatchUpCommittedSent);
    send_bytes(from, std::make_shared<const Bytes>(std::move(bytes)));
  }
}

// ---- committed catch-up ----------------------------------------------------------------------

void Replica::Impl::on_committed(ReplicaId from, CommittedMsg& m) {
  const BatchHeader& h = m.header;
  if (m.replica != from) {
    count(Ctr::kDropBadSender);
    return;
  }
  if (h.null_batch && (h.batch_digest != Digest{} || h.timestamp_us != 0 || m.batch)) {
    count(Ctr::kDropInvalid);
    return;
  }
  if (h.seq <= last_executed_ || !in_window(h.seq)) {
    count(Ctr::kDropOutOfWindow);
    return;
  }
  Slot& s = log_.at(h.seq);
  if (m.batch && !h.null_batch && s.find_body(h.batch_digest) == nullptr &&
      m.batch->size() <= config_.batch_max_requests) {
    BatchPtr body = make_batch(std::move(*m.batch));
    if (body->digest == h.batch_digest) {
      s.store_body(std::move(body));
    } else {
      count(Ctr::kDropInvalid);
    }
  }
  if (s.committed) return;
  s.claims[from] = h;
  std::uint32_t matching = 0;
  for (const auto& [r, c] : s.claims) {
    // Views may differ: a batch committed in view v is re-proposed unchanged in later views.
    matching += (c.timestamp_us == h.timestamp_us && c.batch_digest == h.batch_digest &&
                 c.null_batch == h.null_batch)
                    ? 1
                    : 0;
  }
  if (matching >= config_.f + 1) {
    s.committed = h;
    count(Ctr::kCatchUpCommittedExecuted);
    ask_for_more_ = true;
  }
}

// ---- batch fetches -------------------------------------------------------------------------

void Replica::Impl::fetch_batch(SeqNum seq, const Digest& d) {
  const std::optional<ReplicaId> target =
      batch_fetches_.ask(seq, d, now_us_, config_.retransmit_interval_us);
  if (!target) return;
  count(Ctr::kFetchBatchSent);
  send(*target, FetchBatchMsg{d});
}

void Replica::Impl::retry_batch_fetches() {
  const auto wanted = batch_fetches_.prune([this](SeqNum seq, const Digest& d) {
    const Slot* s = log_.find(seq);
    return s != nullptr && s->committed && s->committed->batch_digest == d &&
           s->find_body(d) == nullptr;
  });
  for (const auto& [seq, d] : wanted) fetch_batch(seq, d);
}

void Replica::Impl::on_fetch_batch(ReplicaId from, const FetchBatchMsg& m) {
  for (const auto& [seq, s] : log_) {
    BatchPtr body = s.find_body(m.batch_digest);
    if (body == nullptr) continue;
    Bytes bytes = encode_message(BatchMsg{body->requests});
    if (spend_serve_budget(from, bytes.size())) {
      send_bytes(from, std::make_shared<const Bytes>(std::move(bytes)));
    }
    return;
  }
}

void Replica::Impl::on_batch(ReplicaId /*from*/, BatchMsg& m) {
  if (m.batch.size() > config_.batch_max_requests) {
    count(Ctr::kDropInvalid);
    return;
  }
  BatchPtr body = make_batch(std::move(m.batch));
  bool wanted = false;
  for (auto& [seq, s] : log_) {
    if (s.references(body->digest) && s.find_body(body->digest) == nullptr) {
      s.store_body(body);
      wanted = true;
    }
  }
  if (!wanted) count(Ctr::kDropUnsolicited);
}

// ---- checkpoint proofs and state transfer ----------------------------------------------------

void Replica::Impl::on_checkpoint_proof(ReplicaId /*from*/, const CheckpointProofMsg& m) {
  if (m.seq <= stable_seq()) {
    count(Ctr::kDropDuplicate);
    return;
  }
  if (!verify_checkpoint_proof(m)) {
    count(Ctr::kDropInvalid);
    return;
  }
  adopt_stable(m);
}

void Replica::Impl::begin_state_transfer(const CheckpointProofMsg& proof, FetchPurpose purpose) {
  if (state_fetch_ && state_fetch_->proof().seq >= proof.seq) return;
  count(Ctr::kStateTransfers);
  // A transfer this one supersedes did not complete from the sources it used: others first. The
  // pages it holds and those of the replica's own states are not fetched again.
  std::vector<ReplicaId> tried;
  PageIndex known;
  if (state_fetch_) {
    tried = state_fetch_->tried();
    known = state_fetch_->take_known();
  }
  checkpoints_.add_own_pages(known);
  state_fetch_.emplace(proof, purpose, config_.self, now_us_, tried, last_state_source_,
                       std::move(known));
  if (proof.seq > stable_seq()) {
    checkpoints_.advance(proof);
    garbage_collect();
  }
  request_state_chunk();
}

void Replica::Impl::request_state_chunk() {
  if (auto request = state_fetch_->request(now_us_)) send(request->first, request->second);
}

void Replica::Impl::retry_state_fetch() {
  if (!state_fetch_) return;
  switch (state_fetch_->on_tick(now_us_, config_)) {
    case StateFetch::Due::kNothing:
      return;
    case StateFetch::Due::kResend:
      request_state_chunk();
      return;
    case StateFetch::Due::kAbandon:
      abandon_state_source();
      return;
  }
}

void Replica::Impl::abandon_state_source() {
  count(Ctr::kStateTransferSourceAbandoned);
  state_fetch_->abandon(now_us_);
  request_state_chunk();
}

void Replica::Impl::on_fetch_state(ReplicaId from, const FetchStateMsg& m) {
  const OwnCheckpoint* own = checkpoints_.own(m.seq);
  if (own == nullptr) {
    count(Ctr::kDropUnsolicited);
    return;
  }
  // The stream a fetcher reads: the page list, then the pages.
  const Bytes& list = *own->page_list;
  const StateBytes& state = own->state;
  const std::uint64_t stream_bytes = list.size() + state.size();
  if (m.offset >= stream_bytes) {
    count(Ctr::kDropInvalid);
    return;
  }
  const std::uint64_t len =
      std::min<std::uint64_t>(config_.state_chunk_bytes, stream_bytes - m.offset);
  StateChunkMsg c;
  c.seq = m.seq;
  c.state_digest = own->digest;
  c.total_bytes = state.size();
  c.page_count = own->page_count();
  c.offset = m.offset;
  if (m.offset == 0) c.leaves = own->list_leaves;
  c.data.reserve(len);
  if (m.offset < list.size()) {
    const std::uint64_t n = std::min<std::uint64_t>(len, list.size() - m.offset);
    c.data.insert(c.data.end(), list.begin() + static_cast<std::ptrdiff_t>(m.offset),
                  list.begin() + static_cast<std::ptrdiff_t>(m.offset + n));
  }
  if (c.data.size() < len) {
    const std::uint64_t at = m.offset + c.data.size() - list.size();
    state.copy_to(at, len - c.data.size(), c.data);
  }
  Bytes bytes = encode_message(c);
  if (spend_serve_budget(from, bytes.size())) {
    send_bytes(from, std::make_shared<const Bytes>(std::move(bytes)));
  }
}

void Replica::Impl::on_state_chunk(ReplicaId from, const StateChunkMsg& m) {
  if (!state_fetch_) {
    count(Ctr::kDropUnsolicited);
    return;
  }
  switch (state_fetch_->on_chunk(from, m, config_)) {
    case StateFetch::Chunk::kUnsolicited:
      count(Ctr::kDropUnsolicited);
      return;
    case StateFetch::Chunk::kDuplicate:
      count(Ctr::kDropDuplicate);
      return;
    case StateFetch::Chunk::kInvalid:
      count(Ctr::kDropInvalid);
      abandon_state_source();
      return;
    case StateFetch::Chunk::kWrong:
      // The source sent something else than the proven state: skip it.
      count(Ctr::kStateTransferBadState);
      abandon_state_source();
      return;
    case StateFetch::Chunk::kMore:
      count(Ctr::kStateTransferBytesFetched, m.data.size());
      last_progress_us_ = now_us_;
      request_state_chunk();
      return;
    case StateFetch::Chunk::kComplete:
      count(Ctr::kStateTransferBytesFetched, m.data.size());
      last_progress_us_ = now_us_;
      finish_state_transfer();
      return;
  }
}

void Replica::Impl::finish_state_transfer() {
  const StateFetch& f = *state_fetch_;
  const SeqNum seq = f.proof().seq;
  // A replica that caught up by executing meanwhile keeps its state (installing would rewind it).
  const bool install = f.purpose() == FetchPurpose::kRepair ||
                       (f.purpose() == FetchPurpose::kCatchUp && last_executed_ < seq);
  count(Ctr::kStateTransferBytesHeld, f.held_bytes());
  CapturedState own = state_fetch_->take_state();
  if (install && !install_state(*own.state.whole(), seq)) {
    // The proven state does not decode: correct replicas never prove such a state.
    count(Ctr::kStateTransferBadState);
    abandon_state_source();
    return;
  }
  const CheckpointProofMsg proof = f.proof();
  last_state_source_ = f.source();
  state_fetch_.reset();
  persist(CheckpointRecord{seq, own.digest, own.page_list, own.state});
  checkpoints_.keep_own(seq, std::move(own));
  persist(StableRecord{proof});
  checkpoints_.advance(proof);
  out_.stable_checkpoint = seq;
  count(Ctr::kStateTransfersCompleted);
  if (install) forget_after_install();
  garbage_collect();
  held_dirty_ = true;
  ask_for_more_ = true;  // the log above the installed state, from the peers
  if (is_primary() && next_seq_ <= last_executed_) next_seq_ = last_executed_ + 1;
}

}  // namespace bastion::bft
