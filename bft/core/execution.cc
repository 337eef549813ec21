// Execution of committed batches, strictly in seq order, and the replicated core state.
//
// Each batch: agreed time = max(previous agreed time, timestamp) (null batches keep it), one
// StateMachine::begin_batch(), then each request through the client table: stale ones get
// ReplyStatus::kStale, duplicates of executed ones get the cached reply, new ones execute once.
// A CommittedRecord is persisted before the batch's replies leave (same Output, persist first).
//
// Core state bytes (a checkpoint): u64 little-endian length of the core part, the core part
// (format version, last executed seq, agreed time, client table, in codec's canonical encoding),
// then StateMachine::snapshot(). The state digest is BLAKE2b of all of it.
#include <algorithm>

#include "bft/core/replica_impl.h"
#include "codec/codec.h"

namespace bastion::bft {
namespace {

constexpr std::uint8_t kCoreStateVersion = 1;

}  // namespace

void Replica::Impl::try_execute() {
  if (state_fetch_) return;  // behind a proven stable checkpoint: nothing to execute on
  // Not while a checkpoint's state waits for the driver to capture it: the state must stay.
  while (!checkpoints_.awaiting_image()) {
    const SeqNum next = last_executed_ + 1;
    Slot* s = log_.find(next);
    if (s == nullptr || !s->committed) return;
    if (!s->committed->null_batch && s->find_body(s->committed->batch_digest) == nullptr) {
      fetch_batch(next, s->committed->batch_digest);
      return;
    }
    execute_slot(next, *s, false);
  }
}

void Replica::Impl::execute_slot(SeqNum seq, Slot& s, bool replay) {
  const BatchHeader h = *s.committed;
  BatchPtr body = h.null_batch ? nullptr : s.find_body(h.batch_digest);
  // Strictly in sequence, and exactly the requests the header committed to.
  BASTION_CHECK(seq == last_executed_ + 1 && h.seq == seq);
  BASTION_CHECK(h.null_batch ||
                (body != nullptr && batch_digest_of(body->request_digests) == h.batch_digest));
  if (!replay) {
    CommittedRecord record{h, std::nullopt};
    if (body != nullptr && s.persisted_body != h.batch_digest) {
      record.batch = body->requests;
      s.persisted_body = h.batch_digest;
    }
    persist(std::move(record));
  }
  execute_batch(h, body.get(), replay);
  if (!replay && s.accepted_us != 0) {
    monitor_.executed(s.accepted_us, now_us_);
  }
  last_executed_ = seq;
  last_progress_us_ = now_us_;
  batch_fetches_.done(seq);
  Executed e;
  e.seq = seq;
  e.view = h.view;
  e.agreed_time_us = agreed_time_us_;
  e.requests = body == nullptr ? 0 : static_cast<std::uint32_t>(body->requests.size());
  e.batch_digest = h.batch_digest;
  e.null_batch = h.null_batch;
  e.replayed = replay;
  out_.executed.push_back(e);
  view_.batch_executed(h.view);
  // Last: a checkpoint may make `seq` stable and garbage-collect its slot.
  if (seq % config_.checkpoint_interval == 0) take_checkpoint(seq, replay);
}

void Replica::Impl::execute_batch(const BatchHeader& h, const Batch* b, bool replay) {
  replaying_ = replay;
  if (!h.null_batch) agreed_time_us_ = std::max(agreed_time_us_, h.timestamp_us);
  for (const Completion& c : app_.begin_batch(agreed_time_us_)) handle_completion(c);
  if (b != nullptr) {
    for (const Request& r : b->requests) {
      const RequestId id{r.client, r.number};
      log_.unassign(id);
      pool_.erase(id);
      switch (table_.classify(r.client, r.number)) {
        case ClientTable::Verdict::kStale:
          count(Ctr::kRequestsStale);
          send_reply(r.client, r.number, ReplyStatus::kStale, Bytes{}, false);
          break;
        case ClientTable::Verdict::kExecuted: {
          // The same request in two batches (a faulty primary, or a re-proposal racing a fresh
          // proposal after a view change): executed once, answered from the cache.
          count(Ctr::kRequestsDuplicate);
          const ClientTable::Entry* e = table_.entry(r.client, r.number);
          if (e != nullptr && e->cached) {
            send_reply(r.client, r.number, ReplyStatus::kOk, e->result, false);
          } else if (e != nullptr && e->waiting) {
            send_reply(r.client, r.number, ReplyStatus::kPending, Bytes{}, false);
          }
          break;
        }
        case ClientTable::Verdict::kNew: {
          if (r.payload.size() > config_.request_bytes_max) {
            count(Ctr::kRequestsTooLarge);
            send_reply(r.client, r.number, ReplyStatus::kTooLarge, Bytes{}, false);
            break;
          }
          if (auto evicted = table_.admit(r.client, h.seq)) {
            app_.session_evicted(*evicted);
            stop_timers_outside_window(*evicted);
          }
          ExecuteResult result = app_.execute(r);
          count(Ctr::kRequestsExecuted);
          if (result.result) {
            send_reply(r.client, r.number, ReplyStatus::kOk, *result.result, false);
          } else {
            send_reply(r.client, r.number, ReplyStatus::kPending, Bytes{}, false);
          }
          table_.record(r.client, r.number, std::move(result.result));
          for (const Completion& c : result.completions) handle_completion(c);
          break;
        }
      }
      // Requests of this client that fell out of its window can never execute now.
      const std::uint64_t highest = table_.highest(r.client);
      if (highest > config_.client_window) {
        pool_.erase_through(r.client, highest - config_.client_window);
      }
    }
  }
  count(Ctr::kBatchesExecuted);
  if (h.null_batch) count(Ctr::kBatchesNull);
  if (replay) count(Ctr::kBatchesReplayed);
  replaying_ = false;
}

void Replica::Impl::handle_completion(const Completion& c) {
  table_.complete(c.client, c.number, c.result);
  send_reply(c.client, c.number, ReplyStatus::kOk, c.result, false);
}

// ---- core state ----------------------------------------------------------------------------

StateBytes Replica::Impl::encode_state() const {
  Bytes core(8);  // the core part's length, then the core part
  {
    codec::OutputArchive ar{codec::VectorSink(core)};
    ar(kCoreStateVersion, last_executed_, agreed_time_us_);
    table_.save(ar);
  }
  const std::uint64_t core_len = core.size() - 8;
  for (std::size_t i = 0; i < 8; ++i) core[i] = static_cast<std::uint8_t>(core_len >> (8 * i));
  StateBytes out;
  out.append(std::make_shared<const Bytes>(std::move(core)));
  app_.snapshot_pieces(out);
  return out;
}

bool Replica::Impl::install_state(ByteView state, SeqNum seq) {
  if (state.size() < 8) return false;
  std::uint64_t core_len = 0;
  for (int i = 0; i < 8; ++i)
    core_len |= std::uint64_t{state[static_cast<std::size_t>(i)]} << (8 * i);
  if (core_len > state.size() - 8) return false;
  const ByteView core = state.subspan(8, core_len);
  const ByteView app = state.subspan(8 + core_len);
  std::uint8_t version = 0;
  SeqNum state_seq = 0;
  TimeUs agreed = 0;
  std::optional<ClientTable> table;
  try {
    codec::BoundedInputArchive ar(core);
    ar(version, state_seq, agreed);
    if (version != kCoreStateVersion || state_seq != seq) return false;
    auto loaded = ClientTable::load(ar, config_);
    if (!loaded || ar.remaining() != 0) return false;
    table = std::move(*loaded);
  } catch (const codec::DecodeError&) {
    return false;
  } catch (const cereal::Exception&) {
    return false;
  } catch (const std::length_error&) {
    return false;
  } catch (const std::bad_alloc&) {
    return false;
  }
  if (!app_.restore(app)) return false;
  last_executed_ = state_seq;
  agreed_time_us_ = agreed;
  table_ = std::move(*table);
  // Captures still running describe the replaced state.
  checkpoints_.drop_captures();
  return true;
}

}  // namespace bastion::bft
