// One replica of the PBFT-style replication protocol, as a deterministic state machine.
//
// Events in: a message from replica i (bytes, authenticated by the channel), a message from a
// client (bytes, with the principal authenticated by the channel), a clock tick. Each event
// carries the replica's local clock reading. Effects out: take_output() returns what the event(s)
// produced, to be carried out by the driver:
//   1. append the records to the log, after every earlier output's; when Output::sync is set,
//      make them durable soon (with everything appended before) and report it with on_durable(),
//   2. send the messages to replicas, and the replies to clients, at once: the core holds back
//      those that must wait for records to be durable (see persist.h) and hands them out in a
//      later output, after on_durable(),
//   3. capture the state if a checkpoint asks for it (Output::capture; see state_capture.h).
// Committed batches are executed inside the core, on the StateMachine it was given, so results,
// the client table and checkpoints stay consistent; the Output reports what was executed.
//
// No sockets, threads, clocks, randomness or disk inside. The same class runs in the daemon
// (bastiond) and in the simulator (bft/sim).
//
// Every byte from outside is hostile: malformed or invalid messages are dropped and counted in
// counters(), never asserted on; what the replica stores on behalf of any peer or client is
// bounded by the configuration (log window, client window, sessions per principal, one pending
// view-change message per replica, ...).
//
// Thread-safety: none; one thread owns a Replica and its StateMachine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/crypto.h"
#include "bft/core/messages.h"
#include "bft/core/persist.h"
#include "bft/core/state_capture.h"
#include "bft/core/state_machine.h"

namespace bastion::bft {

struct OutMessage {
  std::optional<ReplicaId> to;  // nullopt: every other replica
  SharedBytes bytes;
};

struct OutReply {
  ClientKey client;
  SharedBytes bytes;  // an encoded ReplyMsg
};

// One executed batch. For every entry, in order, the StateMachine saw exactly one begin_batch()
// (for empty and null batches too; a null batch's agreed time is the previous one) followed by
// execute() for each request that actually ran (stale requests and duplicates of executed ones
// are answered by the client table and never reach the application). Batches re-executed by
// start() from persisted records are reported too, with `replayed` set. A state installed by
// state transfer calls StateMachine::restore() and reports no Executed entries.
// The answer to a client's StatusQueryMsg. The driver sends it back on the connection the query
// came from (the query's principal and nonce identify it).
struct OutStatusReport {
  std::string principal;
  std::uint64_t nonce = 0;
  SharedBytes bytes;  // an encoded StatusReportMsg
};

struct Executed {
  SeqNum seq = 0;
  ViewNum view = 0;  // view of the header the batch committed with
  TimeUs agreed_time_us = 0;
  std::uint32_t requests = 0;  // requests in the batch (including those not executed)
  Digest batch_digest{};
  bool null_batch = false;
  bool replayed = false;
};

struct Output {
  std::vector<PersistRecord> persist;
  // True: sends wait for these records (and every earlier output's) to be durable; make them
  // durable soon and report it with Replica::on_durable(). False: they must become durable later,
  // in order (see persist.h for why a restart tolerates losing them).
  bool sync = false;
  // Messages and replies that may leave now, in order.
  std::vector<OutMessage> messages;
  std::vector<OutReply> replies;
  std::vector<Executed> executed;           // batches executed, in order (for logs and metrics)
  std::optional<SeqNum> stable_checkpoint;  // a new stable checkpoint: storage may truncate below
  std::vector<OutStatusReport> status_reports;  // answers to client status queries
  // A checkpoint's state to capture (state_capture.h): in every output until the driver answers,
  // and execution waits until then.
  std::optional<CaptureRequest> capture;

  bool empty() const {
    return persist.empty() && messages.empty() && replies.empty() && executed.empty() &&
           !stable_checkpoint && status_reports.empty() && !capture;
  }
  // Appends `later` (an output taken after this one) as if both were one: a driver whose disk
  // synced on the spot sends what on_durable() released with the rest, and one that answers a
  // capture on the spot carries out what execution produced next with what came before.
  void append(Output&& later);
};

struct ReplicaStatus {
  ReplicaId id = 0;
  ViewNum view = 0;
  ReplicaId primary = 0;
  bool view_changing = false;
  SeqNum last_executed = 0;
  SeqNum stable_checkpoint = 0;
  TimeUs agreed_time_us = 0;
  Digest last_checkpoint_digest{};
  bool fetching_state = false;
};

// Counters by name ("drop.malformed", "drop.bad_signature", "msg.in.prepare", "view_changes",
// "state_transfers", ...). Names are stable: metrics and tests use them.
using Counters = std::map<std::string, std::uint64_t>;

class Replica {
 public:
  Replica(const Config& config, StateMachine& app, Signer& signer, Verifier& verifier);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Starts a fresh replica (recovered == nullptr) or one restarted from its persisted records:
  // restores the stable checkpoint, re-executes committed batches above it, resumes its view.
  void start(TimeUs now_us, const PersistedState* recovered = nullptr);

  void on_replica_message(ReplicaId from, ByteView bytes, TimeUs now_us);
  void on_client_message(const std::string& principal, ByteView bytes, TimeUs now_us);
  void on_tick(TimeUs now_us);
  // Answers to Output::capture (state_capture.h). checkpoint_state() takes the state to capture
  // as shared pieces (only while a capture is asked for: it aborts otherwise); started: the driver
  // hashes them elsewhere and reports the result later. A result for a state the replica no longer
  // has (it installed another one meanwhile) is ignored. After a failure the replica asks again if
  // nothing executed since; otherwise it has no state of its own for that checkpoint and fetches
  // the proven one if it becomes stable.
  StateBytes checkpoint_state() const;
  void on_checkpoint_capture_started(std::uint64_t id, TimeUs now_us);
  void on_checkpoint_captured(std::uint64_t id, const CapturedState& captured, TimeUs now_us);
  void on_checkpoint_capture_failed(std::uint64_t id, TimeUs now_us);

  // The effects accumulated since the previous call.
  Output take_output();
  // The first `records` records of the outputs taken since start() (the driver counts
  // Output::persist) are durable: the sends that waited for them are in the next output. Counts
  // only grow; one above the records taken aborts (a driver bug).
  void on_durable(std::uint64_t records);
  // Bytes of the messages and replies held until records are durable (for back-pressure).
  std::uint64_t held_send_bytes() const;
  // When the core next needs on_tick() (timers, batching, retransmission), if ever.
  std::optional<TimeUs> next_tick_us() const;

  ReplicaStatus status() const;
  const Counters& counters() const;
  // Sizes of every container that holds data on behalf of peers or clients, by stable name
  // ("log.entries", "pool.entries", "client_table.sessions", "view_change.buffered", ...), for
  // the simulator's bounded-memory checks and for metrics.
  std::map<std::string, std::uint64_t> debug_sizes() const;
  // Checks the invariants of replica_impl.h (BASTION_CHECK: aborts with the condition when one is
  // broken). Cheap enough for the simulator to call after every event.
  void check_invariants() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bastion::bft
