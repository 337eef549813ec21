// TEST ONLY: a replica that misbehaves on purpose (bastiond --byzantine MODE), so that
// bastion-attack can measure what a faulty replica costs the correct ones. Never enabled unless
// the cluster file sets [test] allow_byzantine = true (bastiond refuses to start otherwise).
//
// The core is the real one and is not weakened: the filter sits between the core's output and
// the transport. It delays or rewrites what the core sends, or adds messages of its own, and
// signs only with the replica's own key (it never holds another's), as a compromised replica
// could. The behaviours follow those of the simulator (bft/sim/byzantine.h), reduced to four,
// plus one about confidential spaces:
//   slow-primary         every PRE-PREPARE held for 0.8 x request_timeout_us (only a primary
//                        sends them, so it acts only while primary);
//   view-change-flood    signed VIEW-CHANGEs for ever higher views to every peer, 400 a second,
//                        carrying the latest stable-checkpoint proof it saw (2f+1 signatures the
//                        receivers check as well);
//   state-transfer-drip  every STATE-CHUNK it serves cut to 16 bytes, claiming a 4 GiB total and
//                        sent half a retransmission interval late;
//   timestamp-push       a clock ahead by the accepted skew minus 50 ms (clock_offset_us()); as
//                        primary its batch timestamps sit at the edge of what backups accept;
//   bad-shares           the shares it adds to replies about confidential tuples are opened
//                        with a key of its own making (each with a valid-looking proof for that
//                        key), so they are wrong; the node applies it as it opens shares
//                        (replica_node.cc).
//
// Thread-safety: none; used by the node's io thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/crypto.h"
#include "bft/core/messages.h"
#include "bft/core/replica.h"

namespace bastion::server {

enum class ByzantineMode : std::uint8_t {
  kSlowPrimary,
  kViewChangeFlood,
  kStateTransferDrip,
  kTimestampPush,
  kBadShares,
};

// "slow-primary", "view-change-flood", "state-transfer-drip", "timestamp-push", "bad-shares".
std::optional<ByzantineMode> parse_byzantine_mode(std::string_view name);
const char* byzantine_mode_name(ByzantineMode mode);
// The accepted names, comma-separated (for help and errors).
const char* byzantine_mode_names();

// One message as the filter lets it go.
struct ByzantineSend {
  std::optional<bft::ReplicaId> to;  // nullopt: every other replica
  bft::SharedBytes bytes;
  bft::TimeUs delay_us = 0;
};

class ByzantineFilter {
 public:
  ByzantineFilter(ByzantineMode mode, bft::ReplicaId self, const bft::Config& config,
                  bft::Signer& signer);

  ByzantineMode mode() const { return mode_; }
  // What to send instead of `m` (possibly the same bytes, later).
  void outgoing(const bft::OutMessage& m, std::vector<ByzantineSend>& out);
  // A frame received from a replica: remembered when it helps to lie (checkpoints).
  void observe(bft::ByteView frame);
  // Messages of its own, called every act_interval_us().
  void act(std::vector<ByzantineSend>& out);
  // 0: act() has nothing to do.
  bft::TimeUs act_interval_us() const;
  // Added to the node's clock (timestamp-push).
  bft::TimeUs clock_offset_us() const;
  std::uint64_t altered() const { return altered_; }

 private:
  void note_checkpoint(const bft::CheckpointMsg& c);

  ByzantineMode mode_;
  bft::ReplicaId self_;
  bft::Config config_;
  bft::Signer* signer_;
  std::uint64_t altered_ = 0;
  // view-change-flood: the highest view seen and flooded, and the latest stable proof.
  bft::ViewNum view_seen_ = 0;
  bft::ViewNum flood_view_ = 0;
  std::optional<bft::CheckpointProofMsg> proof_;
  std::vector<bft::CheckpointMsg> checkpoints_;  // of seqs above proof_, bounded
};

}  // namespace bastion::server
