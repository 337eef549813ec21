// Private to bft/core: the state and the internal interface of Replica::Impl.
//
// Impl dispatches events and makes the protocol's decisions; the state they read and write is
// held by parts that own it, each with its own header and unit tests (docs/architecture.md,
// "The replica's parts"): SlotLog, Checkpoints, ProofWait, CheckpointVotes, ViewState,
// ViewChanges, EarlyVotes, StateFetch, VouchOutbox, RequestFetches, BatchFetches, PrimaryMonitor,
// RequestPool, ClientTable, WaitingReads, TimePace, TokenBucket, SignatureMemo, TurnQueue.
// The decisions are split by concern, each file a set of Impl members:
//   replica.cc        construction, event dispatch, output, status, counters, timers (on_tick)
//   recovery.cc       start(): fresh state or restart from persisted records
//   dissemination.cc  client requests, vouches, request fetches, request timers, ready queue
//   normal_case.cc    pre-prepare / prepare / commit, proposing batches at the primary
//   execution.cc      executing committed batches, replies, read-only requests, core state bytes
//   checkpoint.cc     checkpoints, stable checkpoints, garbage collection
//   view_change.cc    view-change and new-view
//   catch_up.cc       status, committed catch-up, batch fetches, state transfer
//
// Invariants (the ones every file relies on; the first three are checked by check_invariants(),
// with each part's own: SlotLog::check, Checkpoints::check, ViewState::check):
//   - log_ holds slots only for seqs in (stable, stable + log_window], where stable is the stable
//     checkpoint's seq (SlotLog::check);
//   - last_executed_ >= stable except while state_fetch_ is set (behind a proven stable
//     checkpoint whose state is being fetched), and a state fetch is for the stable checkpoint;
//   - a slot's `header`, `held`, `prepares`, `commits`, `prepared` belong to the current view and
//     are cleared when the view changes; `cert`, `committed`, `claims` and `bodies` survive view
//     changes (SlotLog::check);
//   - execution is strictly in sequence with the body's digest checked, views only grow and a
//     stable checkpoint never moves back (BASTION_CHECKs where they change);
//   - execution stands at a checkpoint while its state waits for the driver's capture
//     (Output::capture; checked by check_invariants());
//   - every container indexed by peer input is bounded (see replica.h and debug_sizes());
//   - output order is a pure function of the inputs: only ordered containers are iterated.
//
// Thread-safety: none; one thread owns a Replica.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bft/core/checkpoint_votes.h"
#include "bft/core/checkpoints.h"
#include "bft/core/client_table.h"
#include "bft/core/early_votes.h"
#include "bft/core/fetches.h"
#include "bft/core/primary_monitor.h"
#include "bft/core/proof_wait.h"
#include "bft/core/replica.h"
#include "bft/core/request_pool.h"
#include "bft/core/signature_memo.h"
#include "bft/core/slot_log.h"
#include "bft/core/state_fetch.h"
#include "bft/core/time_pace.h"
#include "bft/core/token_bucket.h"
#include "bft/core/turn_queue.h"
#include "bft/core/view_changes.h"
#include "bft/core/view_state.h"
#include "bft/core/vouch_outbox.h"
#include "bft/core/waiting_reads.h"
#include "codec/check.h"

namespace bastion::bft {

enum class Ctr : std::size_t {
  kDropMalformed,
  kDropTooLarge,
  kDropBadSender,
  kDropUnexpectedType,
  kDropBadSignature,
  kDropOldView,
  kDropFutureView,
  kDropViewChanging,
  kDropOutOfWindow,
  kDropInvalid,
  kDropDuplicate,
  kDropConflict,
  kDropTimestamp,
  kTimestampsPaced,
  kEarlyVotesKept,
  kDropRequestWindow,
  kDropQuota,
  kDropUnsolicited,
  kDropThrottled,
  kViewChangesThrottled,
  kSignaturesRemembered,
  kPoolExpired,
  kRequestsReceived,
  kRequestsReadOnly,
  kRequestsExecuted,
  kRequestsStale,
  kRequestsTooLarge,
  kRequestsDuplicate,
  kRequestsCachedReplies,
  kBatchesProposed,
  kBatchesEmpty,
  kBatchesExecuted,
  kBatchesNull,
  kBatchesReplayed,
  kVouchesSent,
  kCheckpointsTaken,
  kCheckpointsStable,
  kCheckpointsDivergent,
  kCheckpointCaptureFailed,
  kViewChanges,
  kNewViews,
  kViewChangeTimeouts,
  kRequestTimeouts,
  kSlowPrimaryTimeouts,
  kDeadlineTimeouts,
  kViewJoins,
  kStateTransfers,
  kStateTransfersCompleted,
  kStateTransferBadState,
  kStateTransferSourceAbandoned,
  kStateTransferBytesFetched,
  kStateTransferBytesHeld,
  kCatchUpCommittedSent,
  kCatchUpCommittedExecuted,
  kFetchBatchSent,
  kFetchRequestsSent,
  kRecoveryBadState,
  kRecoveryAbstained,
  kCount,
};

class Replica::Impl {
 public:
  Impl(const Config& config, StateMachine& app, Signer& signer, Verifier& verifier);

  // ---- events (replica.cc) ----
  void start(TimeUs now_us, const PersistedState* recovered);
  void on_replica_message(ReplicaId from, ByteView bytes, TimeUs now_us);
  void on_client_message(const std::string& principal, ByteView bytes, TimeUs now_us);
  void on_tick(TimeUs now_us);
  StateBytes checkpoint_state() const;
  void on_checkpoint_capture_started(std::uint64_t id, TimeUs now_us);
  void on_checkpoint_captured(std::uint64_t id, const CapturedState& captured, TimeUs now_us);
  void on_checkpoint_capture_failed(std::uint64_t id, TimeUs now_us);
  Output take_output();
  void on_durable(std::uint64_t records);
  std::uint64_t held_send_bytes() const { return turns_.held_bytes(); }
  std::optional<TimeUs> next_tick_us() const;
  ReplicaStatus status() const;
  const Counters& counters() const;
  std::map<std::string, std::uint64_t> debug_sizes() const;
  void check_invariants() const;

 private:
  // ---- helpers (replica.cc) ----
  void count(Ctr c, std::uint64_t k = 1) { ctr_[static_cast<std::size_t>(c)] += k; }
  void send(ReplicaId to, const Message& m);
  void broadcast(const Message& m);
  void send_bytes(std::optional<ReplicaId> to, SharedBytes bytes);
  void persist(PersistRecord r);
  bool verify(ReplicaId signer, SignDomain domain, const Bytes& message, const Signature& sig);
  // verify(), remembering the signatures that checked out (SignatureMemo).
  bool verify_remembered(ReplicaId signer, SignDomain domain, const Bytes& message,
                         const Signature& sig);
  bool is_primary() const { return config_.primary_of(view_.number()) == config_.self; }
  ReplicaId primary() const { return config_.primary_of(view_.number()); }
  SeqNum stable_seq() const { return checkpoints_.stable_seq(); }
  bool in_window(SeqNum seq) const {
    return seq > stable_seq() && seq - stable_seq() <= config_.log_window;
  }
  // Spends the per-peer serving budget; false (and counted) when it is exhausted.
  bool spend_serve_budget(ReplicaId peer, std::uint64_t bytes);
  void after_event();
  // Checks the type against the channel and the size against its type's cap, then decodes;
  // nullopt (counted) when any check fails.
  std::optional<Message> decode_checked(ByteView bytes, Channel channel);
  void dispatch(ReplicaId from, Message& m);
  void retransmit();
  // True when this replica is behind the others and catching up, i.e. it made progress within
  // the last request timeout (so a request timer expiring is its own fault).
  bool lagging() const;

  // ---- dissemination.cc ----
  void on_client_request(Request request);
  void on_read_only_request(Request request);
  // Highest seq this replica holds a prepared certificate for (it sent COMMIT), or
  // last_executed_: a read-only request must wait until that is executed.
  SeqNum read_barrier() const;
  void answer_waiting_reads();
  void reply_core_status(const Request& request, ReplyStatus status, bool read_only);
  void on_vouch(ReplicaId from, const VouchMsg& m);
  void on_fetch_requests(ReplicaId from, const FetchRequestsMsg& m);
  void on_requests(ReplicaId from, const RequestsMsg& m);
  // Re-evaluates an entry after a change: own vouch, fetch, timer, readiness.
  void update_entry(const RequestId& id, PoolEntry& e);
  // A first vouch goes to the primary now and to the others later (Config::vouch_defer_us); a
  // repeated one (lost vouches, restarted peers) to everyone now.
  void vouch(const RequestId& id, PoolEntry& e, const Digest& d, bool repeat = false);
  void flush_vouches();
  // `entries` in messages of at most 4096 to `to` (nullopt: every other replica).
  void send_vouches(const std::vector<VouchEntry>& entries, std::optional<ReplicaId> to);
  void revouch_pending_requests();
  void retry_request_fetches();
  // Authentic to this replica: received from the client's channel, or f+1 vouches by others.
  bool authentic(const RequestId& id, const Digest& d) const;
  bool request_acceptable(const Request& r) const;
  // The primary's ready queue.
  bool ready(const RequestId& id, const PoolEntry& e) const;
  // Not executed and inside its client's window: a request that can still be ordered. An evicted
  // session's requests above the window of a new session are kept (see RequestPool) but neither
  // proposed nor held against the primary.
  bool live(const RequestId& id) const;
  void stop_timers_outside_window(const ClientKey& client);
  void maybe_enqueue(const RequestId& id, PoolEntry& e);
  void rebuild_ready_queue();
  void check_request_timers();
  void track_primary_room();
  // When the oldest running request timer started, if one runs.
  std::optional<TimeUs> oldest_request_us() const;
  // After a state install: erases the entries of requests the state executed, and forgets the
  // other replicas' vouches, with the timers they started, for those of sessions it does not know.
  void forget_after_install();

  // ---- normal_case.cc ----
  void maybe_propose();
  bool propose_one();
  void on_pre_prepare(ReplicaId from, PrePrepareMsg& m);
  // Tries the held pre-prepares, in seq order, after anything that may unblock them.
  void try_held_pre_prepares();
  // What happened to a held pre-prepare: accepted, still waiting, or dropped as invalid.
  enum class HeldOutcome { kAccepted, kWaiting, kDropped };
  HeldOutcome try_accept_held(SeqNum seq, Slot& s);
  void accept_pre_prepare(SeqNum seq, Slot& s, const BatchHeader& h, const Signature& sig,
                          BatchPtr body);
  void send_prepare(SeqNum seq, Slot& s);
  void on_prepare(ReplicaId from, const PrepareMsg& m);
  void on_commit(ReplicaId from, const CommitMsg& m);
  // Keeps a vote for later when this replica is not in its view yet, or when it is of the current
  // view and at most a log window beyond this replica's (its stable checkpoint lags the
  // sender's); false when the vote is not early (it is then judged now). Replayed once the
  // replica installs the view, or its stable checkpoint advances.
  template <typename M>
  bool keep_early(ReplicaId from, ViewNum view, SeqNum seq, const M& m);
  void replay_early_votes();
  void check_prepared(SeqNum seq, Slot& s);
  void check_committed(SeqNum seq, Slot& s);
  // Agreed time before `seq` (after executing seq-1), if the chain of headers is known.
  std::optional<TimeUs> agreed_floor(SeqNum seq) const;
  bool batch_requests_valid(SeqNum seq, const Batch& b) const;

  // ---- execution.cc ----
  void try_execute();
  void execute_slot(SeqNum seq, Slot& s, bool replay);
  void execute_batch(const BatchHeader& h, const Batch* b, bool replay);
  void handle_completion(const Completion& c);
  void send_reply(const ClientKey& client, std::uint64_t number, ReplyStatus status,
                  const Bytes& result, bool read_only);
  StateBytes encode_state() const;
  // Installs checkpoint state bytes for `seq` (hostile: validated); false if malformed.
  bool install_state(ByteView state, SeqNum seq);

  // ---- checkpoint.cc ----
  // Captures the state of checkpoint `seq`: asks the driver (Output::capture), or while
  // re-executing the log in start() on the spot.
  void take_checkpoint(SeqNum seq, bool replay);
  void finish_checkpoint(SeqNum seq, const CapturedState& captured);
  // Adopts the proof that waited for this replica's capture of `seq`, if one did.
  void adopt_proof_awaiting(SeqNum seq);
  void on_checkpoint(ReplicaId from, const CheckpointMsg& m);
  void try_stabilize(SeqNum seq);
  bool verify_checkpoint_proof(const CheckpointProofMsg& p);
  // A proven stable checkpoint: advance to it, or fetch its state if behind. Behind by seqs
  // whose pre-prepares its log holds, it first waits (unless `wait_for_log` is false) a
  // retransmission interval for them to commit here (ProofWait, check_proof_awaiting_log()).
  void adopt_stable(const CheckpointProofMsg& proof, bool wait_for_log = true);
  void await_log(const CheckpointProofMsg& proof);
  // Every seq after the last executed one up to `seq` has a pre-prepare in this view's log.
  bool log_reaches(SeqNum seq) const;
  void check_proof_awaiting_log();
  void garbage_collect();

  // ---- view_change.cc ----
  void start_view_change(ViewNum new_view);
  // Moves to `new_view`, changing into it or not; clears the old view's state.
  void enter_view(ViewNum new_view, bool changing);
  ViewChangeMsg build_view_change();
  void on_view_change(ReplicaId from, const ViewChangeMsg& m);
  bool verify_view_change(const ViewChangeMsg& m);
  void maybe_join_higher_view();
  void maybe_start_view_change_timer();
  void try_send_new_view();
  void on_new_view(ReplicaId from, const NewViewMsg& m);
  void install_new_view(const NewViewMsg& nv, const NewViewProposals& p, SharedBytes encoded);
  void check_view_timers();

  // ---- catch_up.cc ----
  void send_status();
  void on_status(ReplicaId from, const StatusMsg& m);
  void on_committed(ReplicaId from, CommittedMsg& m);
  void on_checkpoint_proof(ReplicaId from, const CheckpointProofMsg& m);
  void fetch_batch(SeqNum seq, const Digest& d);
  void retry_batch_fetches();
  void on_fetch_batch(ReplicaId from, const FetchBatchMsg& m);
  void on_batch(ReplicaId from, BatchMsg& m);
  void begin_state_transfer(const CheckpointProofMsg& proof, FetchPurpose purpose);
  void request_state_chunk();
  void retry_state_fetch();
  // Gives up on the current source (silent, too slow, short chunks, or a state that does not
  // verify) and starts over from the next one not yet abandoned.
  void abandon_state_source();
  void on_fetch_state(ReplicaId from, const FetchStateMsg& m);
  void on_state_chunk(ReplicaId from, const StateChunkMsg& m);
  void finish_state_transfer();

  // ---- recovery.cc ----
  void init_fresh_state();
  void recover(const PersistedState& rec);

  // ---- configuration and collaborators ----
  Config config_;
  StateMachine& app_;
  Signer& signer_;
  Verifier& verifier_;
  bool started_ = false;
  TimeUs now_us_ = 0;
  // After a restart: the view the replica was in (entered) when it went down. It may have sent
  // pre-prepares or prepares in it whose records were not durable yet, so it sends none in that
  // view except those it has records of (see persist.h).
  std::optional<ViewNum> abstain_view_;
  bool abstaining() const { return abstain_view_ && *abstain_view_ == view_.number(); }

  // ---- replicated state (part of every checkpoint) ----
  SeqNum last_executed_ = 0;
  TimeUs agreed_time_us_ = 0;
  ClientTable table_;

  // ---- view ----
  ViewState view_;
  ViewChanges view_changes_;  // latest (highest view) per replica, verified

  // ---- log ----
  SlotLog log_;
  SeqNum next_seq_ = 1;  // primary: next seq to assign
  TimePace time_pace_;
  std::optional<TimeUs> pace_wait_until_us_;  // a held pre-prepare waits for agreed time's pace
  bool held_dirty_ = false;  // something changed that may unblock held pre-prepares
  BatchFetches batch_fetches_;

  // ---- checkpoints ----
  Checkpoints checkpoints_;  // stable, own states, archive, captures
  ProofWait proof_wait_;     // a proof a little ahead, waiting for this replica's log
  CheckpointVotes checkpoint_votes_;
  std::optional<StateFetch> state_fetch_;
  std::optional<ReplicaId> last_state_source_;  // the source that completed the last transfer
  bool ask_for_more_ = false;  // catch-up progressed: send STATUS once it is executed

  // ---- requests ----
  RequestPool pool_;
  WaitingReads waiting_reads_;
  ReadyQueue ready_;
  VouchOutbox vouches_;
  RequestFetches request_fetches_;

  // ---- peers ----
  std::vector<std::optional<StatusMsg>> peer_status_;
  EarlyVotes early_votes_;
  SeqNum early_votes_stable_ = 0;          // the stable seq when early votes were last replayed
  std::vector<TokenBucket> serve_budget_;  // per peer, in bytes
  // Per peer, VIEW-CHANGEs for a new view it may have verified (kViewChangeBurst at once, one
  // more per retransmission interval; docs/protocol.md, "View change").
  static constexpr double kViewChangeBurst = 4;
  std::vector<TokenBucket> view_change_budget_;
  SignatureMemo verified_;  // see verify_remembered()

  // ---- timers ----
  TimeUs next_retransmit_us_ = 0;
  std::optional<TimeUs> batch_wait_until_us_;
  TimeUs last_proposal_us_ = 0;
  PrimaryMonitor monitor_;       // the slow-primary check (check_request_timers)
  TimeUs last_progress_us_ = 0;  // last time execution advanced or state transfer made progress

  // ---- output and accounting ----
  Output out_;
  // Sends of turns whose records are not durable yet, and those released since the last
  // take_output() (persist.h, "persist before send").
  TurnQueue turns_{[this](TurnQueue::Sends& s) { release(s); }};
  TurnQueue::Sends released_;
  void release(TurnQueue::Sends& s);
  std::uint64_t records_taken_ = 0;  // records handed to the driver since start()
  std::array<std::uint64_t, static_cast<std::size_t>(Ctr::kCount)> ctr_{};
  std::array<std::uint64_t, std::variant_size_v<Message> + 1> msg_in_{};
  std::array<std::uint64_t, std::variant_size_v<Message> + 1> message_caps_{};  // by MsgType
  mutable Counters counters_view_;
  bool replaying_ = false;
};

}  // namespace bastion::bft
