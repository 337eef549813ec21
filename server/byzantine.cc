// TEST ONLY: the misbehaving replica of bastiond --byzantine; see byzantine.h.
#include "server/byzantine.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <variant>

namespace bastion::server {
namespace {

// view-change-flood: VIEW-CHANGEs per act() and how often act() runs (400 a second).
constexpr std::uint32_t kFloodPerAct = 4;
constexpr bft::TimeUs kFloodIntervalUs = 10'000;
// state-transfer-drip: the bytes left in each chunk and the total it claims.
constexpr std::size_t kDripChunkBytes = 16;
constexpr std::uint64_t kDripClaimedBytes = std::uint64_t{4} << 30;
// timestamp-push: the margin kept under the accepted skew for the network delay.
constexpr bft::TimeUs kPushMarginUs = 50'000;
// Checkpoints remembered while a proof is assembled.
constexpr std::size_t kCheckpointsKept = 64;
// Frames received from peers are decoded only below this size (checkpoints are small).
constexpr std::size_t kObserveBytesMax = 4096;

struct ModeName {
  ByzantineMode mode;
  const char* name;
};
constexpr ModeName kModes[] = {
    {ByzantineMode::kSlowPrimary, "slow-primary"},
    {ByzantineMode::kViewChangeFlood, "view-change-flood"},
    {ByzantineMode::kStateTransferDrip, "state-transfer-drip"},
    {ByzantineMode::kTimestampPush, "timestamp-push"},
    {ByzantineMode::kBadShares, "bad-shares"},
};

bft::SharedBytes share(bft::Bytes b) { return std::make_shared<const bft::Bytes>(std::move(b)); }

}  // namespace

std::optional<ByzantineMode> parse_byzantine_mode(std::string_view name) {
  for (const ModeName& m : kModes) {
    if (name == m.name) return m.mode;
  }
  return std::nullopt;
}

const char* byzantine_mode_name(ByzantineMode mode) {
  for (const ModeName& m : kModes) {
    if (m.mode == mode) return m.name;
  }
  return "?";
}

const char* byzantine_mode_names() {
  return "slow-primary, view-change-flood, state-transfer-drip, timestamp-push, bad-shares";
}

ByzantineFilter::ByzantineFilter(ByzantineMode mode, bft::ReplicaId self, const bft::Config& config,
                                 bft::Signer& signer)
    : mode_(mode), self_(self), config_(config), signer_(&signer) {}

bft::TimeUs ByzantineFilter::act_interval_us() const {
  return mode_ == ByzantineMode::kViewChangeFlood ? kFloodIntervalUs : 0;
}

bft::TimeUs ByzantineFilter::clock_offset_us() const {
  if (mode_ != ByzantineMode::kTimestampPush) return 0;
  return std::max<bft::TimeUs>(0, config_.clock_skew_max_us - kPushMarginUs);
}

void ByzantineFilter::outgoing(const bft::OutMessage& m, std::vector<ByzantineSend>& out) {
  const std::uint8_t type = m.bytes && m.bytes->size() > 1 ? (*m.bytes)[1] : 0;
  if (mode_ == ByzantineMode::kSlowPrimary &&
      type == static_cast<std::uint8_t>(bft::MsgType::kPrePrepare)) {
    ++altered_;
    out.push_back(ByzantineSend{
        m.to, m.bytes,
        static_cast<bft::TimeUs>(0.8 * static_cast<double>(config_.request_timeout_us))});
    return;
  }
  if (mode_ == ByzantineMode::kStateTransferDrip &&
      type == static_cast<std::uint8_t>(bft::MsgType::kStateChunk)) {
    auto decoded = bft::decode_message(*m.bytes);
    if (decoded && std::holds_alternative<bft::StateChunkMsg>(*decoded)) {
      auto& chunk = std::get<bft::StateChunkMsg>(*decoded);
      if (chunk.data.size() > kDripChunkBytes) chunk.data.resize(kDripChunkBytes);
      chunk.total_bytes = kDripClaimedBytes;
      ++altered_;
      out.push_back(ByzantineSend{m.to, share(bft::encode_message(*decoded)),
                                  config_.retransmit_interval_us / 2});
      return;
    }
  }
  if (mode_ == ByzantineMode::kViewChangeFlood &&
      (type == static_cast<std::uint8_t>(bft::MsgType::kCheckpoint) ||
       type == static_cast<std::uint8_t>(bft::MsgType::kViewChange))) {
    observe(*m.bytes);  // its own checkpoints count towards a proof
  }
  out.push_back(ByzantineSend{m.to, m.bytes, 0});
}

void ByzantineFilter::observe(bft::ByteView frame) {
  if (mode_ != ByzantineMode::kViewChangeFlood || frame.size() < 2 ||
      frame.size() > kObserveBytesMax) {
    return;
  }
  const auto type = static_cast<bft::MsgType>(frame[1]);
  if (type != bft::MsgType::kCheckpoint && type != bft::MsgType::kViewChange &&
      type != bft::MsgType::kNewView && type != bft::MsgType::kPrePrepare &&
      type != bft::MsgType::kStatus) {
    return;
  }
  auto decoded = bft::decode_message(frame);
  if (!decoded) return;
  if (const auto* c = std::get_if<bft::CheckpointMsg>(&*decoded)) {
    note_checkpoint(*c);
  } else if (const auto* vc = std::get_if<bft::ViewChangeMsg>(&*decoded)) {
    view_seen_ = std::max(view_seen_, vc->new_view);
  } else if (const auto* nv = std::get_if<bft::NewViewMsg>(&*decoded)) {
    view_seen_ = std::max(view_seen_, nv->view);
  } else if (const auto* pp = std::get_if<bft::PrePrepareMsg>(&*decoded)) {
    view_seen_ = std::max(view_seen_, pp->header.view);
  } else if (const auto* st = std::get_if<bft::StatusMsg>(&*decoded)) {
    view_seen_ = std::max(view_seen_, st->view);
  }
}

// Checkpoints are kept unverified: a peer's bad one only makes its proof fail at the receivers,
// which costs them the checks all the same.
void ByzantineFilter::note_checkpoint(const bft::CheckpointMsg& c) {
  if (proof_ && c.seq <= proof_->seq) return;
  if (checkpoints_.size() >= kCheckpointsKept) checkpoints_.erase(checkpoints_.begin());
  checkpoints_.push_back(c);
  std::vector<bft::CheckpointMsg> matching;
  for (const bft::CheckpointMsg& k : checkpoints_) {
    if (k.seq != c.seq || k.state_digest != c.state_digest) continue;
    const bool seen =
        std::any_of(matching.begin(), matching.end(),
                    [&](const bft::CheckpointMsg& m) { return m.replica == k.replica; });
    if (!seen) matching.push_back(k);
  }
  if (matching.size() < 2 * std::size_t{config_.f} + 1) return;
  matching.resize(2 * std::size_t{config_.f} + 1);
  proof_ = bft::CheckpointProofMsg{c.seq, c.state_digest, std::move(matching)};
  std::erase_if(checkpoints_, [&](const bft::CheckpointMsg& k) { return k.seq <= c.seq; });
}

void ByzantineFilter::act(std::vector<ByzantineSend>& out) {
  if (mode_ != ByzantineMode::kViewChangeFlood) return;
  bft::ViewChangeMsg vc;
  if (proof_) vc.stable = *proof_;
  vc.replica = self_;
  for (std::uint32_t i = 0; i < kFloodPerAct; ++i) {
    flood_view_ = std::max(flood_view_, view_seen_) + 1;
    vc.new_view = flood_view_;
    vc.signature = signer_->sign(bft::SignDomain::kViewChange, bft::view_change_signed_bytes(vc));
    ++altered_;
    out.push_back(ByzantineSend{std::nullopt, share(bft::encode_message(vc)), 0});
  }
}

}  // namespace bastion::server
