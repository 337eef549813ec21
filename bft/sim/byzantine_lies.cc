// Byzantine replica behaviours aimed at the paths the core hardened against hostile peers:
// request dissemination (VOUCH, FETCH-REQUESTS, REQUESTS), catch-up (BATCH, COMMITTED, STATUS,
// state chunks), view-change floods and messages at or past their size caps. See byzantine.h.
//
// Every lie is sent from the replica's own endpoint and, where the message is signed, signed
// with its own key only; what it lies about is what it saw (its own messages and the ones it
// received), so the lies are plausible: real principals and sessions, real certificates, real
// headers slightly altered.
#include <algorithm>
#include <variant>

#include "bft/sim/byzantine.h"

namespace bastion::bft::sim {
namespace {

SharedBytes share(Bytes b) { return std::make_shared<const Bytes>(std::move(b)); }

Digest random_digest(Rng& rng) {
  Digest d{};
  for (auto& b : d) b = static_cast<std::uint8_t>(rng.next());
  return d;
}

void fill_random(Rng& rng, Bytes& b, std::size_t from) {
  for (std::size_t i = from; i < b.size(); i += 8) {
    std::uint64_t x = rng.next();
    for (std::size_t k = i; k < std::min(b.size(), i + 8); ++k, x >>= 8) {
      b[k] = static_cast<std::uint8_t>(x);
    }
  }
}

// The encoding of `with_none` (a message whose last-but-some vector is empty) with that
// vector's length replaced by `count`: the position is where the encoding of the same message
// with one element first differs.
Bytes claim_count(const Message& with_none, const Message& with_one, std::uint64_t count) {
  const Bytes a = encode_message(with_none);
  const Bytes b = encode_message(with_one);
  std::size_t pos = 0;
  while (pos < a.size() && pos < b.size() && a[pos] == b[pos]) ++pos;
  Bytes out(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(std::min(pos, a.size())));
  do {  // LEB128
    const auto low = static_cast<std::uint8_t>(count & 0x7f);
    count >>= 7;
    out.push_back(count != 0 ? static_cast<std::uint8_t>(low | 0x80) : low);
  } while (count != 0);
  if (pos < a.size())
    out.insert(out.end(), a.begin() + static_cast<std::ptrdiff_t>(pos + 1), a.end());
  return out;
}

}  // namespace

ClientKey ByzantineFilter::invented_client() {
  ClientKey k;
  switch (rng_.index(3)) {
    case 0:  // a real correct client, in a session it may or may not have
      k.principal = "client-" + std::to_string(rng_.index(std::max<std::uint32_t>(1, clients_)));
      break;
    case 1:
      k.principal = "client-byz-0";
      break;
    default:  // a principal nobody uses, of any length the core accepts
      k.principal = "stranger-" + std::to_string(rng_.index(64));
      if (rng_.chance(0.3)) k.principal.resize(config_.principal_bytes_max, 'x');
      break;
  }
  k.session = rng_.uniform(1, 1000);
  return k;
}

Request ByzantineFilter::altered(Request r) {
  switch (rng_.index(5)) {
    case 0:
      if (r.payload.empty()) {
        r.payload.push_back(1);
      } else {
        r.payload[rng_.index(r.payload.size())] ^= 0x10;
      }
      break;
    case 1:
      r.payload = garbage();
      break;
    case 2:
      r.number += 1 + rng_.index(3);
      break;
    case 3:
      r.client.session += 1;
      break;
    default:
      r.client = invented_client();
      break;
  }
  return r;
}

std::vector<Request> ByzantineFilter::altered_batch(std::vector<Request> batch) {
  if (batch.empty()) {
    batch.push_back(altered(Request{invented_client(), rng_.uniform(1, 64), false, garbage()}));
    return batch;
  }
  switch (rng_.index(4)) {
    case 0: {
      Request& r = batch[rng_.index(batch.size())];
      r = altered(std::move(r));
      break;
    }
    case 1:
      batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(rng_.index(batch.size())));
      break;
    case 2:
      batch.push_back(batch[rng_.index(batch.size())]);
      break;
    default:
      std::reverse(batch.begin(), batch.end());
      if (batch.size() == 1) batch.front() = altered(std::move(batch.front()));
      break;
  }
  return batch;
}

// ---- rewriting what the core sends ------------------------------------------------------------

bool ByzantineFilter::mutate_dissemination(Message& msg) {
  if (auto* v = std::get_if<VouchMsg>(&msg)) {
    if (!roll(ByzBehaviour::kWrongVouch)) return false;
    for (VouchEntry& e : v->entries) {
      if (rng_.chance(0.3)) e.digest = random_digest(rng_);
      if (rng_.chance(0.1)) e.client = invented_client();
    }
    const auto extra = rng_.index(5);
    for (std::size_t i = 0; i < extra && v->entries.size() < kDisseminationEntriesMax; ++i) {
      v->entries.push_back(VouchEntry{invented_client(), rng_.uniform(1, 96), random_digest(rng_)});
    }
    return true;
  }
  if (auto* rq = std::get_if<RequestsMsg>(&msg)) {
    if (rq->requests.empty() || !roll(ByzBehaviour::kWrongRequests)) return false;
    for (Request& r : rq->requests) {
      if (rng_.chance(0.5)) r = altered(std::move(r));
    }
    return true;
  }
  if (auto* fr = std::get_if<FetchRequestsMsg>(&msg)) {
    if (!roll(ByzBehaviour::kWrongRequests)) return false;
    const auto extra = 1 + rng_.index(8);
    for (std::size_t i = 0; i < extra && fr->digests.size() < kDisseminationEntriesMax; ++i) {
      fr->digests.push_back(random_digest(rng_));
    }
    return true;
  }
  if (auto* b = std::get_if<BatchMsg>(&msg)) {
    if (!roll(ByzBehaviour::kWrongBatch)) return false;
    b->batch = altered_batch(std::move(b->batch));
    return true;
  }
  return false;
}

void ByzantineFilter::wrong_committed(CommittedMsg& m) {
  BatchHeader& h = m.header;
  switch (rng_.index(5)) {
    case 0:
      h.batch_digest = random_digest(rng_);
      break;
    case 1:
      h.timestamp_us += 1;
      break;
    case 2:  // a well-formed null claim for a seq that carried requests
      h.null_batch = true;
      h.batch_digest = Digest{};
      h.timestamp_us = 0;
      m.batch.reset();
      break;
    case 3:
      if (m.batch) {
        m.batch = altered_batch(std::move(*m.batch));
      } else {
        h.view += 1;
      }
      break;
    default:
      h.seq += 1 + rng_.index(4);
      break;
  }
}

bool ByzantineFilter::mutate_catch_up(Message& msg, TimeUs& delay_us, bool& drop) {
  if (auto* c = std::get_if<CommittedMsg>(&msg)) {
    if (!roll(ByzBehaviour::kWrongCommitted)) return false;
    wrong_committed(*c);
    return true;
  }
  if (auto* st = std::get_if<StatusMsg>(&msg)) {
    if (!roll(ByzBehaviour::kWrongStatus)) return false;
    switch (rng_.index(4)) {
      case 0:  // far behind: peers spend their serving budget on it
        st->last_executed = rng_.index(st->last_executed + 1);
        st->stable_seq = 0;
        break;
      case 1:  // far ahead
        st->last_executed += 1 + rng_.index(1000);
        st->stable_seq = st->last_executed;
        break;
      case 2:
        st->view += 1 + rng_.index(3);
        st->view_changing = rng_.chance(0.5);
        break;
      default:
        st->view = st->view > 0 ? st->view - 1 : 0;
        st->view_changing = true;
        break;
    }
    return true;
  }
  if (auto* sc = std::get_if<StateChunkMsg>(&msg)) {
    if (!roll(ByzBehaviour::kSlowState)) return false;
    switch (rng_.index(3)) {
      case 0:  // short chunk: a trickle of bytes per answer
        sc->data.resize(sc->data.empty() ? 0 : rng_.index(sc->data.size()));
        return true;
      case 1:  // slow: around the fetcher's retransmission interval
        delay_us = static_cast<TimeUs>(
            rng_.uniform(static_cast<std::uint64_t>(config_.retransmit_interval_us / 2),
                         static_cast<std::uint64_t>(3 * config_.retransmit_interval_us)));
        return false;
      default:
        drop = true;
        return false;
    }
  }
  return false;
}

// ---- spontaneous lies -------------------------------------------------------------------------

void ByzantineFilter::lie_dissemination(std::vector<ByzSend>& out) {
  if (roll(ByzBehaviour::kWrongVouch)) {
    VouchMsg v;
    const auto count = 1 + rng_.index(8);
    for (std::size_t i = 0; i < count; ++i) {
      v.entries.push_back(VouchEntry{invented_client(), rng_.uniform(1, 96), random_digest(rng_)});
    }
    send_to_all(share(encode_message(v)), 0, out);
  }
  if (roll(ByzBehaviour::kWrongRequests)) {
    if (!batches_.empty() && rng_.chance(0.5)) {
      RequestsMsg r;
      for (const Request& q : batches_[rng_.index(batches_.size())])
        r.requests.push_back(altered(q));
      send_to_one(share(encode_message(r)), out);
    } else {
      FetchRequestsMsg f;
      const auto count = 1 + rng_.index(16);
      for (std::size_t i = 0; i < count; ++i) f.digests.push_back(random_digest(rng_));
      send_to_one(share(encode_message(f)), out);
    }
  }
  if (roll(ByzBehaviour::kWrongBatch)) {
    std::vector<Request> b;
    if (!batches_.empty()) b = batches_[rng_.index(batches_.size())];
    send_to_one(share(encode_message(BatchMsg{altered_batch(std::move(b))})), out);
  }
}

void ByzantineFilter::lie_catch_up(std::vector<ByzSend>& out) {
  if (committed_ && roll(ByzBehaviour::kWrongCommitted)) {
    CommittedMsg c = *committed_;
    wrong_committed(c);
    send_to_all(share(encode_message(c)), 0, out);
  }
  if (roll(ByzBehaviour::kWrongStatus)) {
    StatusMsg st = status_.value_or(StatusMsg{});
    st.replica = self_;
    if (rng_.chance(0.5)) {
      st.last_executed = 0;  // claims to have lost everything: catch-up costs peers the most
      st.stable_seq = 0;
    } else {
      st.view = view_seen_ + rng_.index(3);
      st.view_changing = rng_.chance(0.5);
    }
    send_to_all(share(encode_message(st)), 0, out);
  }
}

void ByzantineFilter::flood_view_changes(std::vector<ByzSend>& out) {
  ViewChangeMsg vc;
  if (view_change_) vc = *view_change_;
  if (proof_ && proof_->seq > vc.stable.seq) {
    vc.stable = *proof_;
    std::erase_if(vc.prepared, [&](const PreparedCert& c) {
      return c.header.seq <= vc.stable.seq || c.header.seq - vc.stable.seq > config_.log_window;
    });
  }
  vc.replica = self_;
  const auto count = 1 + rng_.index(3);
  for (std::size_t i = 0; i < count; ++i) {
    // View after view, from the highest it knows of.
    flood_view_ = std::max(flood_view_, view_seen_) + 1 + rng_.index(2);
    vc.new_view = flood_view_;
    vc.signature = signer_.sign(SignDomain::kViewChange, view_change_signed_bytes(vc));
    send_to_all(share(encode_message(vc)), 0, out);
  }
}

void ByzantineFilter::large_garbage(std::vector<ByzSend>& out) {
  constexpr auto kLast = static_cast<std::size_t>(MsgType::kStatusReport);
  const auto type = static_cast<MsgType>(1 + rng_.index(kLast));
  const std::uint64_t cap = message_bytes_cap(type, config_);
  const bool to_client =
      (type == MsgType::kReply || type == MsgType::kStatusReport) && clients_ > 0;
  Bytes b;
  switch (rng_.index(4)) {
    case 0:    // just past the cap, well framed
    case 1: {  // just under it: the body must fail to decode or be refused after
      const std::uint64_t size = rng_.chance(0.5)
                                     ? cap + 1 + rng_.index(64)
                                     : cap - rng_.index(std::min<std::uint64_t>(cap, 64));
      if (size > large_bytes_left_ || size < 2) return;
      b.resize(size);
      fill_random(rng_, b, 0);
      b[0] = kWireVersion;
      b[1] = static_cast<std::uint8_t>(type);
      break;
    }
    case 2: {  // a vector claiming far more elements than the bytes could hold
      const std::uint64_t count = std::uint64_t{1} << (16 + rng_.index(47));
      switch (type) {
        case MsgType::kVouch:
          b = claim_count(VouchMsg{}, VouchMsg{{VouchEntry{}}}, count);
          break;
        case MsgType::kFetchRequests:
          b = claim_count(FetchRequestsMsg{}, FetchRequestsMsg{{Digest{}}}, count);
          break;
        case MsgType::kRequests:
          b = claim_count(RequestsMsg{}, RequestsMsg{{Request{}}}, count);
          break;
        case MsgType::kPrePrepare:
          b = claim_count(PrePrepareMsg{}, PrePrepareMsg{{}, {}, {Request{}}}, count);
          break;
        case MsgType::kBatch:
          b = claim_count(BatchMsg{}, BatchMsg{{Request{}}}, count);
          break;
        case MsgType::kCommitted:
          b = claim_count(CommittedMsg{{}, std::vector<Request>{}, 0},
                          CommittedMsg{{}, std::vector<Request>{Request{}}, 0}, count);
          break;
        case MsgType::kCheckpointProof:
          b = claim_count(CheckpointProofMsg{}, CheckpointProofMsg{0, {}, {CheckpointMsg{}}},
                          count);
          break;
        case MsgType::kViewChange: {
          ViewChangeMsg one;
          one.prepared.emplace_back();
          b = claim_count(ViewChangeMsg{}, one, count);
          break;
        }
        case MsgType::kNewView: {
          NewViewMsg one;
          one.view_changes.emplace_back();
          b = claim_count(NewViewMsg{}, one, count);
          break;
        }
        case MsgType::kStateChunk:
          b = claim_count(StateChunkMsg{}, StateChunkMsg{0, {}, 0, 0, 0, {}, {0}}, count);
          break;
        default:
          return;
      }
      // Some bytes after it, as if the elements followed.
      const auto tail = b.size();
      b.resize(tail + rng_.index(256));
      fill_random(rng_, b, tail);
      break;
    }
    default: {  // valid and as large as the protocol allows
      Message m;
      switch (type) {
        case MsgType::kVouch: {
          VouchMsg v;
          const auto count = std::min<std::uint64_t>(
              kDisseminationEntriesMax, large_bytes_left_ / (config_.principal_bytes_max + 64));
          for (std::uint64_t i = 0; i < count; ++i) {
            ClientKey k = invented_client();
            k.principal.resize(config_.principal_bytes_max, 'v');
            v.entries.push_back(VouchEntry{std::move(k), rng_.uniform(1, 64), random_digest(rng_)});
          }
          m = std::move(v);
          break;
        }
        case MsgType::kFetchRequests: {
          FetchRequestsMsg f;
          for (std::size_t i = 0; i < kDisseminationEntriesMax; ++i)
            f.digests.push_back(random_digest(rng_));
          m = std::move(f);
          break;
        }
        case MsgType::kRequests:
        case MsgType::kBatch:
        case MsgType::kCommitted: {
          std::vector<Request> batch;
          std::uint64_t bytes = 0;
          while (batch.size() < config_.batch_max_requests && bytes < config_.batch_max_bytes) {
            Request r{invented_client(), rng_.uniform(1, 64), false,
                      Bytes(config_.request_bytes_max)};
            fill_random(rng_, r.payload, 0);
            bytes += r.payload.size() + r.client.principal.size() + 32;
            batch.push_back(std::move(r));
          }
          if (type == MsgType::kRequests) {
            m = RequestsMsg{std::move(batch)};
          } else if (type == MsgType::kBatch) {
            m = BatchMsg{std::move(batch)};
          } else {
            CommittedMsg c = committed_.value_or(CommittedMsg{});
            c.replica = self_;
            c.header.null_batch = false;
            c.batch = std::move(batch);
            m = std::move(c);
          }
          break;
        }
        default:
          return;
      }
      b = encode_message(m);
      if (b.size() > large_bytes_left_) return;
      break;
    }
  }
  large_bytes_left_ -= std::min<std::uint64_t>(large_bytes_left_, b.size());
  const auto bytes = share(std::move(b));
  if (to_client) {
    out.push_back(ByzSend{true, static_cast<std::uint32_t>(rng_.index(clients_)), bytes, 0});
  } else {
    send_to_one(bytes, out);
  }
}

}  // namespace bastion::bft::sim
