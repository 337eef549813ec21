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
// Behaviours that must last (a primary pacing its pre-prepares, timestamps at the edge of the
// skew) keep the core consistent instead: the first only delays what the core sends, the second
// is a clock the simulator gives the replica (ahead of the slowest correct clock by the skew).
//
// Until set_active(true) (the simulator's fault-free warm-up) the filter passes everything
// through unchanged and only watches: it remembers what it needs to lie later.
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

  // A message from the core (to = nullopt: every other replica), sent at simulated time now_us.
  void outgoing(const OutMessage& m, TimeUs now_us, std::vector<ByzSend>& out);
  // A reply from the core to client `client` (whose principal is `principal`).
  void reply(std::uint32_t client, const std::string& principal, const SharedBytes& bytes,
             std::vector<ByzSend>& out);
  void set_stale_read(StaleRead f) { stale_read_ = std::move(f); }
  // Everything the replica receives, remembered for replays.
  void observe(const SharedBytes& bytes, bool from_client);
  // Spontaneous misbehaviour (garbage, replays, lies, floods); called periodically.
  void act(std::vector<ByzSend>& out);
  void set_active(bool active) { active_ = active; }

  std::uint64_t mutations() const { return mutations_; }
  // How long kSlowPrimary holds each pre-prepare.
  TimeUs pace_us() const { return pace_us_; }

 private:
  bool roll(ByzBehaviour b);
  void send_to_all(const SharedBytes& bytes, TimeUs delay_us, std::vector<ByzSend>& out);
  void send_to_one(const SharedBytes& bytes, std::vector<ByzSend>& out);
  void remember(const SharedBytes& bytes, bool reply, std::uint32_t client);
  void learn(const Message& m);
  bool mutate_pre_prepare(PrePrepareMsg& pp, const OutMessage& m, TimeUs now_us,
                          std::vector<ByzSend>& out);
  bool mutate_dissemination(Message& msg);
  bool mutate_catch_up(Message& msg, TimeUs& delay_us, bool& drop);
  void wrong_committed(CommittedMsg& c);
  void resign(PrePrepareMsg& pp);
  Bytes garbage();
  // Spontaneous lies (act()).
  ClientKey invented_client();
  Request altered(Request r);
  std::vector<Request> altered_batch(std::vector<Request> batch);
  void lie_dissemination(std::vector<ByzSend>& out);
  void lie_catch_up(std::vector<ByzSend>& out);
  void flood_view_changes(std::vector<ByzSend>& out);
  void large_garbage(std::vector<ByzSend>& out);

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
  bool active_ = true;
  TimeUs pace_us_ = 0;
  // kSlowPrimary in bursts: every pre-prepare held until the release time of its burst (one
  // pace after the first it held), so a slow gap is followed by fast ones.
  bool pace_in_bursts_ = false;
  std::optional<TimeUs> burst_release_us_;
  // What it saw, to lie plausibly: the highest view, its last status, recent batches and
  // requests, the latest committed claim and view change (its own or a peer's), the latest
  // stable checkpoint proof.
  ViewNum view_seen_ = 0;
  ViewNum flood_view_ = 0;
  std::optional<StatusMsg> status_;
  std::deque<std::vector<Request>> batches_;  // bounded
  std::optional<CommittedMsg> committed_;
  std::optional<ViewChangeMsg> view_change_;
  std::optional<CheckpointProofMsg> proof_;
  std::uint64_t large_bytes_left_ = 0;  // budget of kLargeGarbage for the run
  bool learns_ = false;                 // a behaviour needs learn()
};

}  // namespace bastion::bft::sim
