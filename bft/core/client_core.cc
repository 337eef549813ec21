// ReplyVoter and ClientCore; see client_core.h.
#include "bft/core/client_core.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "codec/check.h"

namespace bastion::bft {

// ---- ReplyVoter ---------------------------------------------------------------------------------

ReplyVoter::ReplyVoter(std::uint32_t n, std::uint32_t needed, Split split, Verify verify)
    : n_(n), needed_(needed), split_(std::move(split)), verify_(std::move(verify)) {
  BASTION_CHECK(needed_ >= 1 && needed_ <= n_);
}

std::optional<ReplyVoter::Accepted> ReplyVoter::add(ReplicaId replica, const Bytes& result) {
  if (accepted_ || replica >= n_) return std::nullopt;
  if (verify_ && !verify_(replica, result)) return std::nullopt;
  Bytes common = split_ ? split_(result) : result;
  excluded_.erase(replica);
  full_by_replica_[replica] = result;
  auto& slot = common_by_replica_[replica];
  slot = std::move(common);
  std::uint32_t matching = 0;
  for (const auto& [r, c] : common_by_replica_) matching += c == slot ? 1 : 0;
  if (matching < needed_) return std::nullopt;
  accepted_ = true;
  Accepted a;
  a.common = slot;
  for (const auto& [r, c] : common_by_replica_) {
    if (c == slot) a.replies.emplace_back(r, full_by_replica_[r]);
  }
  return a;
}

void ReplyVoter::exclude(ReplicaId replica) {
  if (accepted_ || replica >= n_) return;
  common_by_replica_.erase(replica);
  full_by_replica_.erase(replica);
  excluded_.insert(replica);
}

bool ReplyVoter::impossible() const {
  if (accepted_) return false;
  std::map<Bytes, std::uint32_t> groups;
  std::uint32_t largest = 0;
  for (const auto& [r, c] : common_by_replica_) largest = std::max(largest, ++groups[c]);
  const auto silent = n_ - static_cast<std::uint32_t>(common_by_replica_.size() + excluded_.size());
  return largest + silent < needed_;
}

void ReplyVoter::reset() {
  common_by_replica_.clear();
  full_by_replica_.clear();
  excluded_.clear();
  accepted_ = false;
}

// ---- ClientCore ---------------------------------------------------------------------------------

namespace {

// The voter sees (status, result) as one value: the status byte followed by the result. The
// caller's split and verify apply to the application's results (status kOk) only.
Bytes vote_value(std::uint8_t status, const Bytes& result) {
  Bytes v;
  v.reserve(result.size() + 1);
  v.push_back(status);
  v.insert(v.end(), result.begin(), result.end());
  return v;
}

Bytes result_part(const Bytes& vote) { return Bytes(vote.begin() + 1, vote.end()); }

}  // namespace

ClientCore::ClientCore(ClientConfig config, ReplyVoter::Split split, ReplyVoter::Verify verify)
    : config_(config) {
  // A bad configuration is a programmer error: stop rather than vote with wrong quorums.
  BASTION_CHECK(config_.f > 0 && config_.n == 3 * config_.f + 1 && config_.retransmit_us > 0 &&
                config_.retransmit_max_us >= config_.retransmit_us);
  if (split) {
    split_ = [split = std::move(split)](const Bytes& vote) {
      if (vote.empty() || vote[0] != static_cast<std::uint8_t>(ReplyStatus::kOk)) return vote;
      return vote_value(vote[0], split(result_part(vote)));
    };
  }
  if (verify) {
    verify_ = [verify = std::move(verify)](ReplicaId r, const Bytes& vote) {
      if (vote.empty() || vote[0] != static_cast<std::uint8_t>(ReplyStatus::kOk)) return true;
      return verify(r, result_part(vote));
    };
  }
}

std::uint64_t ClientCore::submit(Bytes payload, bool read_only, TimeUs now_us) {
  std::uint64_t number = 0;
  if (!read_only && !reusable_numbers_.empty()) {
    number = *reusable_numbers_.begin();
    reusable_numbers_.erase(reusable_numbers_.begin());
  } else {
    number = next_number_++;
  }
  const std::uint32_t needed = read_only ? 2 * config_.f + 1 : config_.f + 1;
  auto [it, inserted] =
      pending_.emplace(number, Pending{std::move(payload),
                                       number,
                                       read_only,
                                       nullptr,
                                       ReplyVoter(config_.n, needed, split_, verify_),
                                       {},
                                       0,
                                       0,
                                       0,
                                       {},
                                       false});
  BASTION_CHECK(inserted);  // numbers are never in flight twice
  Pending& p = it->second;
  p.read_only_deadline_us = now_us + config_.read_only_wait_us;
  p.interval_us = config_.retransmit_us;
  send(p, now_us);
  count("submitted");
  return number;
}

void ClientCore::send(Pending& p, TimeUs now_us) {
  if (!p.bytes) {
    p.bytes = std::make_shared<const Bytes>(
        encode_message(ClientRequestMsg{config_.session, p.wire, p.read_only, p.payload}));
  }
  out_.sends.push_back(ClientSend{std::nullopt, p.bytes});
  p.next_send_us = now_us + p.interval_us;
}

void ClientCore::switch_to_ordered(std::uint64_t handle, Pending& p, TimeUs now_us) {
  p.read_only = false;
  p.bytes = nullptr;
  p.voter = ReplyVoter(config_.n, config_.f + 1, split_, verify_);
  p.views.clear();
  p.interval_us = config_.retransmit_us;
  count("read_only.retried_ordered");
  // Fill the lowest hole instead, so that reads do not push this number out of the window.
  if (!reusable_numbers_.empty() && *reusable_numbers_.begin() < p.wire) {
    p.wire = *reusable_numbers_.begin();
    reusable_numbers_.erase(reusable_numbers_.begin());
    renumbered_[p.wire] = handle;
    count("read_only.renumbered");
  }
  send(p, now_us);
}

void ClientCore::release_numbers(std::uint64_t handle, const Pending& p) {
  if (p.wire != handle) {
    renumbered_.erase(p.wire);
    reusable_numbers_.insert(handle);  // sent read-only only
  } else if (p.read_only) {
    reusable_numbers_.insert(handle);  // no replica holds or executed it ordered
  }
}

void ClientCore::abandon(std::uint64_t number) {
  auto it = pending_.find(number);
  if (it == pending_.end()) return;
  if (!it->second.read_only && it->second.wire > highest_ordered_done_) {
    stranded_.insert(it->second.wire);
  }
  release_numbers(number, it->second);
  pending_.erase(it);
  count("abandoned");
}

ViewNum ClientCore::agreed_view(const Pending& p, const ReplyVoter::Accepted& accepted) const {
  // The (f+1)-th highest view among the matching replies: at least one correct replica is in
  // that view or a later one, so a Byzantine replica cannot make it up.
  std::vector<ViewNum> views;
  for (const auto& [replica, result] : accepted.replies) {
    auto it = p.views.find(replica);
    if (it != p.views.end()) views.push_back(it->second);
  }
  if (views.empty()) return 0;
  std::sort(views.begin(), views.end(), std::greater<>());
  return views[std::min<std::size_t>(config_.f, views.size() - 1)];
}

void ClientCore::complete(std::uint64_t handle, Pending& p, ReplyVoter::Accepted accepted) {
  ClientCompletion c;
  c.number = handle;
  c.view = agreed_view(p, accepted);
  c.read_only = p.read_only;
  c.status = static_cast<ReplyStatus>(accepted.common.at(0));
  c.result = result_part(accepted.common);
  for (auto& [replica, vote] : accepted.replies) c.replies.emplace_back(replica, result_part(vote));
  out_.completions.push_back(std::move(c));
  if (!p.read_only && p.wire > highest_ordered_done_) {
    // The replicas executed this number (or declared it stale): nothing below it strands later
    // numbers any more.
    highest_ordered_done_ = p.wire;
    stranded_.erase(stranded_.begin(), stranded_.upper_bound(highest_ordered_done_));
  }
  release_numbers(handle, p);
  pending_.erase(handle);
  count("completed");
}

void ClientCore::on_reply(ReplicaId from, ByteView bytes, TimeUs now_us) {
  auto decoded = decode_message(bytes, Channel::kToClient);
  if (!decoded || !std::holds_alternative<ReplyMsg>(*decoded)) {
    count("reply.malformed");
    return;
  }
  const ReplyMsg& reply = std::get<ReplyMsg>(*decoded);
  if (from >= config_.n || reply.replica != from) {
    count("reply.wrong_replica");
    return;
  }
  if (reply.session != config_.session) {
    count("reply.wrong_session");
    return;
  }
  std::uint64_t handle = reply.number;
  if (auto r = renumbered_.find(reply.number); r != renumbered_.end()) handle = r->second;
  auto it = pending_.find(handle);
  if (it == pending_.end()) {
    count("reply.late");
    return;
  }
  Pending& p = it->second;
  if (p.wire != reply.number) {
    // To the number this request had before it was renumbered (read-only replies).
    count("reply.mode_mismatch");
    return;
  }
  if (reply.read_only != p.read_only) {
    // Read-only replies that arrive after the request was retried ordered (or ordered replies
    // to a request still on the read-only path, which only a faulty replica sends).
    count("reply.mode_mismatch");
    return;
  }
  if (reply.status > kReplyStatusMax) {
    count("reply.malformed");
    return;
  }
  p.views[from] = reply.view;
  std::optional<ReplyVoter::Accepted> accepted;
  if (reply.status == static_cast<std::uint8_t>(ReplyStatus::kPending)) {
    // The request waits in the application; the final reply follows. Not a vote for the result;
    // f+1 of them (one correct) make one provisional completion.
    count("reply.pending");
    if (!p.read_only) {
      p.pending_replicas.insert(from);
      if (!p.provisional_sent && p.pending_replicas.size() >= config_.f + 1) {
        p.provisional_sent = true;
        ClientCompletion c;
        c.number = handle;
        c.status = ReplyStatus::kPending;
        c.view = reply.view;
        out_.completions.push_back(std::move(c));
        count("provisional");
      }
    }
  } else if (reply.status == static_cast<std::uint8_t>(ReplyStatus::kNotReadOnly)) {
    // Never a result: refusals from enough replicas make the read-only path impossible and the
    // request moves to the ordered path.
    count("reply.not_read_only");
    p.voter.exclude(from);
  } else {
    accepted = p.voter.add(from, vote_value(reply.status, reply.result));
  }
  if (accepted) {
    complete(handle, p, std::move(*accepted));
    return;
  }
  if (p.read_only && p.voter.impossible()) switch_to_ordered(handle, p, now_us);
}

void ClientCore::on_tick(TimeUs now_us) {
  for (auto& [number, p] : pending_) {
    if (p.read_only && now_us >= p.read_only_deadline_us) {
      switch_to_ordered(number, p, now_us);
    } else if (now_us >= p.next_send_us) {
      p.interval_us = std::min(2 * p.interval_us, config_.retransmit_max_us);
      count("retransmits");
      send(p, now_us);
    }
  }
}

ClientOutput ClientCore::take_output() { return std::exchange(out_, ClientOutput{}); }

std::optional<TimeUs> ClientCore::next_tick_us() const {
  std::optional<TimeUs> next;
  for (const auto& [number, p] : pending_) {
    TimeUs t = p.next_send_us;
    if (p.read_only) t = std::min(t, p.read_only_deadline_us);
    if (!next || t < *next) next = t;
  }
  return next;
}

std::size_t ClientCore::in_flight() const { return pending_.size(); }

}  // namespace bastion::bft
