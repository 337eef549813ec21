// Byzantine replicas for the simulator: a real Replica whose inputs and outputs pass through a
// filter that lies in the ways a compromised replica could.
//
// The filter decodes the core's outgoing messages and, per behaviour of its profile and with
// probability `intensity`, rewrites them (re-signing with the replica's OWN key only: it never
// holds another replica's key), splits broadcasts into different messages for different peers
// (equivocation), withholds or delays them, or adds messages of its own (garbage, replays). It
// only ever sends from its own endpoint, so channel authentication holds as in the daemon.
//
// The replica's core keeps believing what it sent, which is how a Byzantine replica behaves
// from the point of view of the others; the simulator excludes it from the safety checks.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/replica.h"
#include "bft/sim/options.h"
#include "bft/sim/rng.h"
#include "bft/sim/sim_crypto.h"

namespace bastion::bft::sim {

struct ByzProfile {
  std::vector<ByzBehaviour> behaviours;
  double intensity = 0.5;        // chance a behaviour applies to a message it concerns
  std::string target_principal;  // the client that kCensorClient / kDelayClient single out
};

// One message leaving a replica after the filter.
struct ByzSend {
  bool to_client = false;
  std::uint32_t to = 0;  // replica id, or client index when to_client
  SharedBytes bytes;
  TimeUs extra_delay_us = 0;
};

class ByzantineFilter {
 public:
  // kStaleRead: the result an old copy of the replica's state gives for a read-only request
  // (session, number) it received, or nullopt (provided by the simulator, which keeps the copy).
  using StaleRead = std::function<std::optional<Bytes>(
      const std::string& principal, std::uint64_t session, std::uint64_t number)>;

  ByzantineFilter(ReplicaId self, const Config& config, ByzProfile profile, SimKey key, Rng rng,
                  std::uint32_t clients);

  const ByzProfile& profile() const { return profile_; }
  bool has(ByzBehaviour b) const;

  // A message from the core (to = nullopt: every other replica).
  void outgoing(const OutMessage& m, std::vector<ByzSend>& out);
  // A reply from the core to client `client` (whose principal is `principal`).
  void reply(std::uint32_t client, const std::string& principal, const SharedBytes& bytes,
             std::vector<ByzSend>& out);
  void set_stale_read(StaleRead f) { stale_read_ = std::move(f); }
  // Everything the replica receives, remembered for replays.
  void observe(const SharedBytes& bytes, bool from_client);
  // Spontaneous misbehaviour (garbage, replays); called periodically.
  void act(std::vector<ByzSend>& out);

  std::uint64_t mutations() const { return mutations_; }

 private:
  bool roll(ByzBehaviour b);
  void send_to_all(const SharedBytes& bytes, TimeUs delay_us, std::vector<ByzSend>& out);
  void remember(const SharedBytes& bytes, bool reply, std::uint32_t client);
  bool mutate_pre_prepare(PrePrepareMsg& pp, const OutMessage& m, std::vector<ByzSend>& out);
  void resign(PrePrepareMsg& pp);
  Bytes garbage();

  ReplicaId self_;
  Config config_;
  ByzProfile profile_;
  SimSigner signer_;
  Rng rng_;
  std::uint32_t clients_;
  struct Remembered {
    SharedBytes bytes;
    bool reply = false;
    std::uint32_t client = 0;
  };
  std::deque<Remembered> replay_buffer_;  // bounded
  StaleRead stale_read_;
  std::uint64_t mutations_ = 0;
};

}  // namespace bastion::bft::sim
