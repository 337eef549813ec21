// Byzantine replica behaviours; see byzantine.h.
#include "bft/sim/byzantine.h"

#include <algorithm>
#include <variant>

namespace bastion::bft::sim {
namespace {

constexpr std::size_t kReplayBufferMax = 128;
constexpr std::size_t kBatchesRemembered = 8;
// What kLargeGarbage may send in one run (each message goes to one peer): a few messages at
// their cap, enough to exercise the size checks and the bounded decoder without making the run
// about copying megabytes.
constexpr std::uint64_t kLargeBytesPerRun = 6 << 20;
// Messages a Byzantine replica receives are decoded (to learn views, certificates, batches)
// only below this size.
constexpr std::size_t kLearnBytesMax = 1 << 16;

SharedBytes share(Bytes b) { return std::make_shared<const Bytes>(std::move(b)); }

Digest random_digest(Rng& rng) {
  Digest d{};
  for (auto& b : d) b = static_cast<std::uint8_t>(rng.next());
  return d;
}

}  // namespace

ByzantineFilter::ByzantineFilter(ReplicaId self, const Config& config, ByzProfile profile,
                                 SimKey key, Rng rng, std::uint32_t clients)
    : self_(self),
      config_(config),
      profile_(std::move(profile)),
      signer_(key),
      rng_(rng),
      clients_(clients) {
  if (has(ByzBehaviour::kSlowPrimary)) {
    // Just under the request timeout: long enough to cut throughput by an order of magnitude,
    // short enough that the backups' request timers (started when they see 2f+1 vouches, a
    // little after the primary) do not fire.
    pace_us_ = static_cast<TimeUs>(static_cast<double>(config_.request_timeout_us) *
                                   (0.6 + 0.3 * rng_.unit()));
    pace_in_bursts_ = rng_.chance(0.5);
  }
  if (has(ByzBehaviour::kLargeGarbage)) large_bytes_left_ = kLargeBytesPerRun;
  learns_ = has(ByzBehaviour::kViewChangeFlood) || has(ByzBehaviour::kWrongRequests) ||
            has(ByzBehaviour::kWrongBatch) || has(ByzBehaviour::kWrongCommitted) ||
            has(ByzBehaviour::kWrongStatus) || has(ByzBehaviour::kLargeGarbage);
}

bool ByzantineFilter::has(ByzBehaviour b) const {
  return std::find(profile_.behaviours.begin(), profile_.behaviours.end(), b) !=
         profile_.behaviours.end();
}

bool ByzantineFilter::roll(ByzBehaviour b) {
  if (!has(b) || !rng_.chance(profile_.intensity)) return false;
  ++mutations_;
  return true;
}

void ByzantineFilter::send_to_all(const SharedBytes& bytes, TimeUs delay_us,
                                  std::vector<ByzSend>& out) {
  for (ReplicaId j = 0; j < config_.n; ++j) {
    if (j != self_) out.push_back(ByzSend{false, j, bytes, delay_us});
  }
}

void ByzantineFilter::remember(const SharedBytes& bytes, bool reply, std::uint32_t client) {
  if (!has(ByzBehaviour::kReplay)) return;
  if (replay_buffer_.size() >= kReplayBufferMax) {
    // Keep a mix of old and recent messages: evict a random one.
    replay_buffer_.erase(replay_buffer_.begin() +
                         static_cast<std::ptrdiff_t>(rng_.index(replay_buffer_.size())));
  }
  replay_buffer_.push_back(Remembered{bytes, reply, client});
}

void ByzantineFilter::send_to_one(const SharedBytes& bytes, std::vector<ByzSend>& out) {
  const auto j = static_cast<ReplicaId>((self_ + 1 + rng_.index(config_.n - 1)) % config_.n);
  out.push_back(ByzSend{false, j, bytes, 0});
}

void ByzantineFilter::observe(const SharedBytes& bytes, bool from_client) {
  if (from_client) return;
  remember(bytes, false, 0);
  if (!learns_ || bytes->size() < 2 || bytes->size() > kLearnBytesMax) return;
  const auto type = static_cast<MsgType>((*bytes)[1]);
  if (type != MsgType::kPrePrepare && type != MsgType::kViewChange && type != MsgType::kNewView &&
      type != MsgType::kCheckpointProof) {
    return;
  }
  if (auto m = decode_message(*bytes)) learn(*m);
}

void ByzantineFilter::learn(const Message& msg) {
  auto keep_batch = [&](const std::vector<Request>& b) {
    if (b.empty()) return;
    if (batches_.size() >= kBatchesRemembered) batches_.pop_front();
    batches_.push_back(b);
  };
  if (const auto* pp = std::get_if<PrePrepareMsg>(&msg)) {
    view_seen_ = std::max(view_seen_, pp->header.view);
    keep_batch(pp->batch);
  } else if (const auto* b = std::get_if<BatchMsg>(&msg)) {
    keep_batch(b->batch);
  } else if (const auto* c = std::get_if<CommittedMsg>(&msg)) {
    committed_ = *c;
    if (c->batch) keep_batch(*c->batch);
  } else if (const auto* st = std::get_if<StatusMsg>(&msg)) {
    status_ = *st;
    view_seen_ = std::max(view_seen_, st->view);
  } else if (const auto* vc = std::get_if<ViewChangeMsg>(&msg)) {
    view_seen_ = std::max(view_seen_, vc->new_view);
    if (!view_change_ || vc->stable.seq >= view_change_->stable.seq) view_change_ = *vc;
  } else if (const auto* nv = std::get_if<NewViewMsg>(&msg)) {
    view_seen_ = std::max(view_seen_, nv->view);
  } else if (const auto* proof = std::get_if<CheckpointProofMsg>(&msg)) {
    if (!proof_ || proof->seq > proof_->seq) proof_ = *proof;
  } else if (const auto* p = std::get_if<PrepareMsg>(&msg)) {
    view_seen_ = std::max(view_seen_, p->view);
  }
}

void ByzantineFilter::resign(PrePrepareMsg& pp) {
  pp.header.batch_digest = batch_digest(pp.batch);
  pp.signature = signer_.sign(SignDomain::kPrePrepare, pre_prepare_signed_bytes(pp.header));
}

// Returns true when it has put the (possibly split) pre-prepare into `out` itself.
bool ByzantineFilter::mutate_pre_prepare(PrePrepareMsg& pp, const OutMessage& m, TimeUs now_us,
                                         std::vector<ByzSend>& out) {
  if (pp.header.null_batch) return false;
  bool changed = false;
  if (roll(ByzBehaviour::kCensorClient)) {
    const auto before = pp.batch.size();
    std::erase_if(pp.batch, [&](const Request& r) {
      return r.client.principal == profile_.target_principal;
    });
    changed = changed || pp.batch.size() != before;
  }
  if (roll(ByzBehaviour::kForgeRequest)) {
    if (!pp.batch.empty() && rng_.chance(0.5)) {
      // Alter a real request: same client and number, different payload.
      Request& r = pp.batch[rng_.index(pp.batch.size())];
      if (r.payload.empty()) {
        r.payload.push_back(0);
      } else {
        r.payload[rng_.index(r.payload.size())] ^= 0x5a;
      }
    } else {
      // Fabricate one in a real client's name.
      Request r;
      r.client.principal =
          "client-" + std::to_string(rng_.index(std::max<std::uint32_t>(1, clients_)));
      r.client.session = rng_.uniform(1, 4);
      r.number = rng_.uniform(1, 64);
      r.payload = garbage();
      pp.batch.push_back(std::move(r));
    }
    changed = true;
  }
  if (roll(ByzBehaviour::kBadTimestamp)) {
    const TimeUs skew = config_.clock_skew_max_us;
    switch (rng_.index(4)) {
      case 0:
        pp.header.timestamp_us = 0;
        break;
      case 1:
        pp.header.timestamp_us -= 3 * skew;
        break;
      case 2:
        pp.header.timestamp_us += 3 * skew;
        break;
      default:
        pp.header.timestamp_us -= 1;
        break;
    }
    changed = true;
  }
  if (changed) resign(pp);

  TimeUs delay_us = 0;
  if (has(ByzBehaviour::kDelayClient)) {
    const bool carries = std::any_of(pp.batch.begin(), pp.batch.end(), [&](const Request& r) {
      return r.client.principal == profile_.target_principal;
    });
    if (carries && roll(ByzBehaviour::kDelayClient)) {
      delay_us = static_cast<TimeUs>(rng_.uniform(200'000, 3'000'000));
    }
  }
  if (pace_us_ > 0) {
    // Every pre-prepare, whatever the intensity: the attack is in its regularity.
    ++mutations_;
    TimeUs hold_us = pace_us_;
    if (pace_in_bursts_) {
      if (!burst_release_us_ || now_us >= *burst_release_us_) burst_release_us_ = now_us + pace_us_;
      hold_us = *burst_release_us_ - now_us;
    }
    delay_us = std::max(delay_us, hold_us);
  }

  if (!m.to && roll(ByzBehaviour::kEquivocate)) {
    // Two versions, each to a random part of the backups.
    PrePrepareMsg other = pp;
    if (other.batch.size() >= 2) {
      std::reverse(other.batch.begin(), other.batch.end());
    } else if (other.batch.size() == 1 && rng_.chance(0.5)) {
      other.batch.clear();
    } else {
      other.header.timestamp_us += 1;
    }
    resign(other);
    const auto a = share(encode_message(pp));
    const auto b = share(encode_message(other));
    for (ReplicaId j = 0; j < config_.n; ++j) {
      if (j != self_) out.push_back(ByzSend{false, j, rng_.chance(0.5) ? a : b, delay_us});
    }
    return true;
  }
  if (!changed && delay_us == 0) return false;
  const auto bytes = share(encode_message(pp));
  if (m.to) {
    out.push_back(ByzSend{false, *m.to, bytes, delay_us});
  } else {
    send_to_all(bytes, delay_us, out);
  }
  return true;
}

void ByzantineFilter::outgoing(const OutMessage& m, TimeUs now_us, std::vector<ByzSend>& out) {
  remember(m.bytes, false, 0);
  if (active_ && has(ByzBehaviour::kSilence) && rng_.chance(profile_.intensity)) {
    ++mutations_;
    return;
  }
  auto decoded = decode_message(*m.bytes);
  if (decoded && learns_) learn(*decoded);
  if (decoded && active_) {
    Message& msg = *decoded;
    bool rewritten = false;
    TimeUs delay_us = 0;
    if (auto* pp = std::get_if<PrePrepareMsg>(&msg)) {
      if (mutate_pre_prepare(*pp, m, now_us, out)) return;
    } else if (auto* p = std::get_if<PrepareMsg>(&msg)) {
      if (roll(ByzBehaviour::kWrongDigest)) {
        p->batch_digest = random_digest(rng_);
        p->signature = signer_.sign(SignDomain::kPrepare, prepare_signed_bytes(*p));
        rewritten = true;
      }
    } else if (auto* c = std::get_if<CommitMsg>(&msg)) {
      if (roll(ByzBehaviour::kWrongDigest)) {
        c->batch_digest = random_digest(rng_);
        rewritten = true;
      }
    } else if (auto* cp = std::get_if<CheckpointMsg>(&msg)) {
      if (roll(ByzBehaviour::kWrongCheckpoint)) {
        cp->state_digest = random_digest(rng_);
        cp->signature = signer_.sign(SignDomain::kCheckpoint, checkpoint_signed_bytes(*cp));
        rewritten = true;
      }
    } else if (auto* sc = std::get_if<StateChunkMsg>(&msg)) {
      if (roll(ByzBehaviour::kWrongCheckpoint)) {
        if (!sc->leaves.empty() && rng_.index(2) == 0)
          sc->leaves[rng_.index(sc->leaves.size())][0] ^= 0x01;
        else if (!sc->data.empty() && rng_.index(4) != 0)
          sc->data[rng_.index(sc->data.size())] ^= 0x01;
        else if (rng_.index(2) == 0)
          sc->page_count += 1;
        else
          sc->total_bytes += 1;
        rewritten = true;
      }
    } else if (auto* proof = std::get_if<CheckpointProofMsg>(&msg)) {
      if (roll(ByzBehaviour::kWrongCheckpoint)) {
        proof->state_digest = random_digest(rng_);
        rewritten = true;
      }
    } else if (auto* vc = std::get_if<ViewChangeMsg>(&msg)) {
      if (!vc->prepared.empty() && roll(ByzBehaviour::kWrongDigest)) {
        vc->prepared[rng_.index(vc->prepared.size())].header.batch_digest = random_digest(rng_);
        vc->signature = signer_.sign(SignDomain::kViewChange, view_change_signed_bytes(*vc));
        rewritten = true;
      }
    } else if (auto* nv = std::get_if<NewViewMsg>(&msg)) {
      if (!nv->proposals.empty() && !m.to && roll(ByzBehaviour::kEquivocate)) {
        NewViewMsg other = *nv;
        BatchHeader& h = other.proposals[rng_.index(other.proposals.size())];
        h.batch_digest = random_digest(rng_);
        h.null_batch = false;
        other.signature = signer_.sign(SignDomain::kNewView, new_view_signed_bytes(other));
        const auto a = m.bytes;
        const auto b = share(encode_message(other));
        for (ReplicaId j = 0; j < config_.n; ++j) {
          if (j != self_) out.push_back(ByzSend{false, j, rng_.chance(0.5) ? a : b, 0});
        }
        return;
      }
    }
    bool drop = false;
    if (!rewritten) rewritten = mutate_dissemination(msg);
    if (!rewritten) rewritten = mutate_catch_up(msg, delay_us, drop);
    if (drop) return;
    if (rewritten || delay_us > 0) {
      const auto bytes = rewritten ? share(encode_message(msg)) : m.bytes;
      if (m.to) {
        out.push_back(ByzSend{false, *m.to, bytes, delay_us});
      } else {
        send_to_all(bytes, delay_us, out);
      }
      return;
    }
  }
  if (m.to) {
    out.push_back(ByzSend{false, *m.to, m.bytes, 0});
  } else {
    send_to_all(m.bytes, 0, out);
  }
}

void ByzantineFilter::reply(std::uint32_t client, const std::string& principal,
                            const SharedBytes& bytes, std::vector<ByzSend>& out) {
  remember(bytes, true, client);
  if (!active_) {
    out.push_back(ByzSend{true, client, bytes, 0});
    return;
  }
  if (has(ByzBehaviour::kSilence) && rng_.chance(profile_.intensity)) {
    ++mutations_;
    return;
  }
  if (has(ByzBehaviour::kStaleRead) && stale_read_) {
    auto decoded = decode_message(*bytes);
    if (decoded && std::holds_alternative<ReplyMsg>(*decoded)) {
      ReplyMsg r = std::get<ReplyMsg>(*decoded);
      if (r.read_only && roll(ByzBehaviour::kStaleRead)) {
        if (auto stale = stale_read_(principal, r.session, r.number)) {
          r.result = std::move(*stale);
          r.status = static_cast<std::uint8_t>(ReplyStatus::kOk);
          out.push_back(ByzSend{true, client, share(encode_message(r)), 0});
          return;
        }
      }
    }
  }
  const bool corrupt = roll(ByzBehaviour::kCorruptReply);
  const bool forge = roll(ByzBehaviour::kForgeReply);
  if (corrupt || forge) {
    auto decoded = decode_message(*bytes);
    if (decoded && std::holds_alternative<ReplyMsg>(*decoded)) {
      ReplyMsg r = std::get<ReplyMsg>(*decoded);
      if (corrupt) {
        switch (rng_.index(4)) {
          case 0:
            if (!r.result.empty()) {
              r.result[rng_.index(r.result.size())] ^= 0x20;
            } else {
              r.result.push_back(1);
            }
            break;
          case 1:
            r.result = garbage();
            break;
          case 2:
            r.number += 1;
            break;
          default:
            r.read_only = !r.read_only;
            break;
        }
      }
      if (forge)
        r.replica = (self_ + 1 + static_cast<ReplicaId>(rng_.index(config_.n - 1))) % config_.n;
      out.push_back(ByzSend{true, client, share(encode_message(r)), 0});
      return;
    }
  }
  out.push_back(ByzSend{true, client, bytes, 0});
}

Bytes ByzantineFilter::garbage() {
  Bytes b(rng_.index(96));
  for (auto& x : b) x = static_cast<std::uint8_t>(rng_.next());
  if (!b.empty() && rng_.chance(0.5)) {
    // A well-framed envelope with a random body: gets past the version/type check.
    constexpr auto kLast = static_cast<std::size_t>(MsgType::kStatusReport);
    b.insert(b.begin(), {kWireVersion, static_cast<std::uint8_t>(1 + rng_.index(kLast))});
  }
  return b;
}

void ByzantineFilter::act(std::vector<ByzSend>& out) {
  if (!active_) return;
  if (roll(ByzBehaviour::kGarbage)) {
    const auto bytes = share(garbage());
    if (clients_ > 0 && rng_.chance(0.3)) {
      out.push_back(ByzSend{true, static_cast<std::uint32_t>(rng_.index(clients_)), bytes, 0});
    } else {
      const auto j = static_cast<ReplicaId>(rng_.index(config_.n));
      if (j != self_) out.push_back(ByzSend{false, j, bytes, 0});
    }
  }
  if (!replay_buffer_.empty() && roll(ByzBehaviour::kReplay)) {
    const auto count = 1 + rng_.index(4);
    for (std::size_t i = 0; i < count; ++i) {
      const Remembered& r = replay_buffer_[rng_.index(replay_buffer_.size())];
      if (r.reply) {
        out.push_back(ByzSend{true, r.client, r.bytes, 0});
      } else {
        const auto j = static_cast<ReplicaId>(rng_.index(config_.n));
        if (j != self_) out.push_back(ByzSend{false, j, r.bytes, 0});
      }
    }
  }
  lie_dissemination(out);
  lie_catch_up(out);
  if (roll(ByzBehaviour::kViewChangeFlood)) flood_view_changes(out);
  if (large_bytes_left_ > 0 && roll(ByzBehaviour::kLargeGarbage)) large_garbage(out);
}

}  // namespace bastion::bft::sim
