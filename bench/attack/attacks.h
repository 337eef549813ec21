// The attacks bastion-attack runs beside the honest clients (docs/benchmarks.md, "Under attack").
// Each runs on threads of its own from start() until stop(), against the LocalCluster, and keeps
// a one-line account of what it did (note()).
//
//   oversized-client   client1 sends frames of 1-4 MiB: over the client frame cap, and just under
//                      it with replica-only types (NEW-VIEW, VIEW-CHANGE) whose vectors claim
//                      huge counts nested in each other; reconnects whenever a replica closes;
//   oversized-replica  the same, 1-4 MiB, on a replica link: TLS as replica (primary + 3) % 4
//                      with its own key from the cluster folder, to each other replica;
//   handshake-flood    per replica port, 260 TCP connections that send nothing and 60 that send
//                      a TLS ClientHello and stop, reopened as the replicas close them;
//   one-replica-junk   client1 sends requests with junk payloads to one backup only, as fast as
//                      its connection takes them, over 64 sessions;
//   big-tuples         client1 writes 512 KiB tuples, 8 at a time, into a space of its own (what
//                      a client filling a space costs the others while it fills);
//   fill-and-park      client1 first fills a space with 512 KiB tuples up to its quota (before
//                      the measured phase), then parks blocking rd's that wait for ever on
//                      templates that never match, until the quotas refuse them;
//   client-flood       client2 runs 256 closed-loop clients of outs in a space of its own.
//
// Everything is loopback. Every byte sent is meant to be hostile; nothing here is a client to
// copy.
//
// Thread-safety: start() and stop() on one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/attack/local_cluster.h"
#include "client/client.h"

namespace bastion::bench {

// What an attack may use: the cluster and the current primary (of the view at start()).
struct AttackEnv {
  LocalCluster* cluster = nullptr;
  std::uint32_t primary = 0;
  Client* admin = nullptr;  // creates and deletes the spaces an attack needs
};

class Attack {
 public:
  virtual ~Attack() = default;
  virtual void start(const AttackEnv& env) = 0;
  virtual void stop() = 0;
  virtual std::string note() const = 0;
};

// nullptr for an unknown name.
std::unique_ptr<Attack> make_attack(const std::string& name);
// The names make_attack knows, in the order they run.
const std::vector<std::string>& traffic_attacks();

}  // namespace bastion::bench
