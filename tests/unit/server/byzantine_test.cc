// The test-only misbehaving replica's filter (server/byzantine.h): what each mode does to the
// core's output, and that it leaves everything else alone.
#include "server/byzantine.h"

#include <gtest/gtest.h>

#include <memory>
#include <variant>

namespace bastion::server {
namespace {

// Signs with a recognisable constant, and counts.
class CountingSigner final : public bft::Signer {
 public:
  bft::Signature sign(bft::SignDomain, bft::ByteView) override {
    ++signs;
    bft::Signature s{};
    s.fill(0x5a);
    return s;
  }
  int signs = 0;
};

bft::OutMessage out_of(const bft::Message& m, std::optional<bft::ReplicaId> to = std::nullopt) {
  return bft::OutMessage{to, std::make_shared<const bft::Bytes>(bft::encode_message(m))};
}

class ByzantineTest : public ::testing::Test {
 protected:
  ByzantineTest() {
    config_.request_timeout_us = 2'000'000;
    config_.retransmit_interval_us = 200'000;
    config_.clock_skew_max_us = 2'000'000;
  }
  bft::Config config_;
  CountingSigner signer_;
};

TEST_F(ByzantineTest, ModeNamesRoundTrip) {
  for (const auto mode : {ByzantineMode::kSlowPrimary, ByzantineMode::kViewChangeFlood,
                          ByzantineMode::kStateTransferDrip, ByzantineMode::kTimestampPush}) {
    EXPECT_EQ(parse_byzantine_mode(byzantine_mode_name(mode)), mode);
  }
  EXPECT_FALSE(parse_byzantine_mode("slow_primary"));
  EXPECT_FALSE(parse_byzantine_mode(""));
}

TEST_F(ByzantineTest, SlowPrimaryHoldsPrePreparesOnly) {
  ByzantineFilter f(ByzantineMode::kSlowPrimary, 0, config_, signer_);
  std::vector<ByzantineSend> out;
  const auto pp = out_of(bft::PrePrepareMsg{});
  f.outgoing(pp, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, pp.bytes);
  EXPECT_EQ(out[0].delay_us, 1'600'000);
  EXPECT_FALSE(out[0].to);

  out.clear();
  const auto commit = out_of(bft::CommitMsg{}, 2);
  f.outgoing(commit, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].delay_us, 0);
  EXPECT_EQ(out[0].to, 2u);
  EXPECT_EQ(f.act_interval_us(), 0);
  EXPECT_EQ(f.clock_offset_us(), 0);
}

TEST_F(ByzantineTest, StateTransferDripCutsChunksAndClaimsAHugeTotal) {
  ByzantineFilter f(ByzantineMode::kStateTransferDrip, 1, config_, signer_);
  bft::StateChunkMsg chunk;
  chunk.total_bytes = 4096;
  chunk.data.assign(4096, 7);
  std::vector<ByzantineSend> out;
  f.outgoing(out_of(chunk, 3), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, 3u);
  EXPECT_EQ(out[0].delay_us, 100'000);
  auto decoded = bft::decode_message(*out[0].bytes);
  ASSERT_TRUE(decoded);
  const auto& cut = std::get<bft::StateChunkMsg>(*decoded);
  EXPECT_EQ(cut.data.size(), 16u);
  EXPECT_EQ(cut.total_bytes, std::uint64_t{4} << 30);
}

TEST_F(ByzantineTest, ViewChangeFloodSignsEverHigherViewsWithAStableProof) {
  ByzantineFilter f(ByzantineMode::kViewChangeFlood, 2, config_, signer_);
  EXPECT_GT(f.act_interval_us(), 0);
  // Three matching checkpoints (2f+1 with f = 1) make a proof it carries.
  for (bft::ReplicaId r : {0u, 1u, 3u}) {
    bft::CheckpointMsg c;
    c.seq = 128;
    c.state_digest.fill(9);
    c.replica = r;
    f.observe(bft::encode_message(c));
  }
  std::vector<ByzantineSend> out;
  f.act(out);
  f.act(out);
  ASSERT_GE(out.size(), 2u);
  bft::ViewNum last = 0;
  for (const ByzantineSend& s : out) {
    EXPECT_FALSE(s.to);
    auto decoded = bft::decode_message(*s.bytes);
    ASSERT_TRUE(decoded);
    const auto& vc = std::get<bft::ViewChangeMsg>(*decoded);
    EXPECT_GT(vc.new_view, last);
    last = vc.new_view;
    EXPECT_EQ(vc.replica, 2u);
    EXPECT_EQ(vc.stable.seq, 128u);
    EXPECT_EQ(vc.stable.checkpoints.size(), 3u);
    EXPECT_EQ(vc.signature[0], 0x5a);
  }
  EXPECT_EQ(signer_.signs, static_cast<int>(out.size()));
}

TEST_F(ByzantineTest, TimestampPushRunsTheClockAheadByTheSkewLessAMargin) {
  ByzantineFilter f(ByzantineMode::kTimestampPush, 0, config_, signer_);
  EXPECT_EQ(f.clock_offset_us(), 1'950'000);
  std::vector<ByzantineSend> out;
  const auto pp = out_of(bft::PrePrepareMsg{});
  f.outgoing(pp, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, pp.bytes);
  EXPECT_EQ(out[0].delay_us, 0);
}

}  // namespace
}  // namespace bastion::server
