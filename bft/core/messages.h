// The wire format of the replication protocol: every message between replicas and between clients
// and replicas. An explicit, versioned format, separate from the core's in-memory state.
//
// Envelope: one byte format version (kWireVersion), one byte MsgType, then the body in codec's
// canonical encoding (little-endian fixed-width integers, LEB128 lengths). decode_message() goes
// through the bounded decoder: it never allocates more than the input justifies and rejects
// malformed input (unknown version or type, trailing bytes, invalid bools, lengths past the end).
// Semantic validation (replica ids < n, quorum sizes, signatures, views, sequence windows) needs
// the configuration and is the core's job; failures there are dropped and counted too.
//
// Which messages are signed, and over what, is in docs/protocol.md ("Messages"). Signed bytes
// are always the canonical encoding of the message's signed part (the *_signed_bytes functions),
// never the bytes as received.
#pragma once

#include <cereal/types/array.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bft/core/crypto.h"
#include "bft/core/types.h"
#include "codec/result.h"

namespace bastion::bft {

inline constexpr std::uint8_t kWireVersion = 1;

enum class MsgType : std::uint8_t {
  kRequest = 1,
  kReply = 2,
  kVouch = 3,
  kFetchRequests = 4,
  kRequests = 5,
  kPrePrepare = 6,
  kPrepare = 7,
  kCommit = 8,
  kCheckpoint = 9,
  kViewChange = 10,
  kNewView = 11,
  kFetchBatch = 12,
  kBatch = 13,
  kStatus = 14,
  kCommitted = 15,
  kCheckpointProof = 16,
  kFetchState = 17,
  kStateChunk = 18,
  kStatusQuery = 19,
  kStatusReport = 20,
};

// ---- client <-> replica -----------------------------------------------------------------------

// A request as the client sends it. The principal is not in the message: the replica takes it
// from the authenticated channel.
struct ClientRequestMsg {
  std::uint64_t session = 0;
  std::uint64_t number = 0;
  bool read_only = false;
  Bytes payload;
  template <class A>
  void serialize(A& ar) {
    ar(session, number, read_only, payload);
  }
};

// What a reply carries: the application's result, or an error decided by the core itself. The
// core's errors are deterministic functions of the replicated state and the configuration, so
// correct replicas agree on them and a client may vote on (status, result) like on any result;
// `result` is empty for every status but kOk. Values are stable (wire format).
enum class ReplyStatus : std::uint8_t {
  kOk = 0,           // `result` is the application's
  kStale = 1,        // number <= highest executed - client_window: never executed, never will be
  kTooLarge = 2,     // payload larger than request_bytes_max: refused, not ordered
  kNotReadOnly = 3,  // read-only execution refused by the application: retry it ordered
  kEvicted = 4,      // executed earlier, but its result is no longer cached (reply_cache_bytes_max)
  // Provisional: the request was ordered and executed, and the application holds it (a blocking
  // operation); the final reply follows when it completes. Never cached as the result: a
  // retransmission while it waits gets kPending again. f+1 matching kPending tell a client that
  // the service works and its request legitimately waits.
  kPending = 5,
};
inline constexpr std::uint8_t kReplyStatusMax = 5;

struct ReplyMsg {
  std::uint64_t session = 0;
  std::uint64_t number = 0;
  ViewNum view = 0;
  ReplicaId replica = 0;
  bool read_only = false;  // executed without ordering (the client needs 2f+1 matching)
  Bytes result;
  std::uint8_t status = 0;  // a ReplyStatus; decoding rejects unknown values
  template <class A>
  void serialize(A& ar) {
    ar(session, number, view, replica, read_only, result, status);
  }
};

// ---- request dissemination (channel-authenticated, replica -> replica) ------------------------

// "I hold this request and know it is authentic": the sender received it from the client's own
// channel, or holds f+1 vouches for it.
struct VouchEntry {
  ClientKey client;
  std::uint64_t number = 0;
  Digest digest{};
  template <class A>
  void serialize(A& ar) {
    ar(client, number, digest);
  }
};
struct VouchMsg {
  std::vector<VouchEntry> entries;
  template <class A>
  void serialize(A& ar) {
    ar(codec::at_most(kDisseminationEntriesMax, entries));
  }
};
struct FetchRequestsMsg {
  std::vector<Digest> digests;
  template <class A>
  void serialize(A& ar) {
    ar(codec::at_most(kDisseminationEntriesMax, digests));
  }
};
struct RequestsMsg {
  std::vector<Request> requests;
  template <class A>
  void serialize(A& ar) {
    ar(codec::at_most(kDisseminationEntriesMax, requests));
  }
};

// ---- normal case ------------------------------------------------------------------------------

// What the primary of `view` signs when it assigns `seq` to a batch. A null batch (gap filler
// chosen by a new primary) has no requests, timestamp 0 and an all-zero digest.
struct BatchHeader {
  ViewNum view = 0;
  SeqNum seq = 0;
  TimeUs timestamp_us = 0;
  Digest batch_digest{};
  bool null_batch = false;
  friend bool operator==(const BatchHeader&, const BatchHeader&) = default;
  template <class A>
  void serialize(A& ar) {
    ar(view, seq, timestamp_us, batch_digest, null_batch);
  }
};

// Digest of a batch's requests: BLAKE2b over a domain tag, the request count and each request's
// digest (request_digest), in order. Hashing digests rather than the whole encoding lets a replica
// reuse the per-request digests it computes anyway (vouches, deduplication), so every payload is
// hashed once.
Digest batch_digest(const std::vector<Request>& batch);
Digest batch_digest_of(const std::vector<Digest>& request_digests);

struct PrePrepareMsg {
  BatchHeader header;
  Signature signature{};  // by primary_of(header.view), domain kPrePrepare, over the header
  std::vector<Request> batch;
  template <class A>
  void serialize(A& ar) {
    ar(header, signature, codec::at_most(kBatchRequestsMax, batch));
  }
};

struct PrepareMsg {
  ViewNum view = 0;
  SeqNum seq = 0;
  Digest batch_digest{};
  ReplicaId replica = 0;
  // by `replica`, domain kPrepare, over (view, seq, batch_digest, replica, timestamp_us)
  Signature signature{};
  // The pre-prepare's timestamp: a vote is for the whole proposal (the batch AND its agreed time),
  // so two backups given the same requests under different timestamps never count as agreeing.
  TimeUs timestamp_us = 0;
  template <class A>
  void serialize(A& ar) {
    ar(view, seq, batch_digest, replica, signature, timestamp_us);
  }
};

struct CommitMsg {
  ViewNum view = 0;
  SeqNum seq = 0;
  Digest batch_digest{};
  ReplicaId replica = 0;    // must equal the channel's replica
  TimeUs timestamp_us = 0;  // the pre-prepare's timestamp (see PrepareMsg)
  template <class A>
  void serialize(A& ar) {
    ar(view, seq, batch_digest, replica, timestamp_us);
  }
};

// ---- checkpoints ------------------------------------------------------------------------------

struct CheckpointMsg {
  SeqNum seq = 0;
  Digest state_digest{};
  ReplicaId replica = 0;
  Signature signature{};  // by `replica`, domain kCheckpoint, over (seq, state_digest, replica)
  template <class A>
  void serialize(A& ar) {
    ar(seq, state_digest, replica, signature);
  }
};

// 2f+1 matching signed checkpoints from distinct replicas: proof that `seq` is stable.
struct CheckpointProofMsg {
  SeqNum seq = 0;
  Digest state_digest{};
  std::vector<CheckpointMsg> checkpoints;
  template <class A>
  void serialize(A& ar) {
    ar(seq, state_digest, codec::at_most(kReplicasMax, checkpoints));
  }
};

// ---- view change ------------------------------------------------------------------------------

// A signed pre-prepare header plus 2f matching signed prepares from distinct backups of that view.
struct PreparedCert {
  BatchHeader header;
  Signature primary_signature{};
  std::vector<PrepareMsg> prepares;
  template <class A>
  void serialize(A& ar) {
    ar(header, primary_signature, codec::at_most(kReplicasMax, prepares));
  }
};

struct ViewChangeMsg {
  ViewNum new_view = 0;
  CheckpointProofMsg stable;           // seq 0 with no checkpoints = the initial state
  std::vector<PreparedCert> prepared;  // seqs above stable.seq, highest view per seq
  ReplicaId replica = 0;
  Signature signature{};  // by `replica`, domain kViewChange, over everything above
  template <class A>
  void serialize(A& ar) {
    ar(new_view, stable, codec::at_most(kLogWindowMax, prepared), replica, signature);
  }
};

struct NewViewMsg {
  ViewNum view = 0;
  std::vector<ViewChangeMsg> view_changes;  // 2f+1 from distinct replicas, for `view`
  std::vector<BatchHeader> proposals;       // re-proposals and null batches, in seq order
  // One kPrePrepare signature by the new primary per proposal (same order): a proposal is the
  // pre-prepare of its seq in `view`, and a prepared certificate for it needs that signature.
  std::vector<Signature> proposal_signatures;
  ReplicaId replica = 0;  // primary_of(view)
  Signature signature{};  // domain kNewView, over (view, view_changes, proposals, proposal sigs)
  template <class A>
  void serialize(A& ar) {
    ar(view, codec::at_most(kReplicasMax, view_changes), codec::at_most(kLogWindowMax, proposals),
       codec::at_most(kLogWindowMax, proposal_signatures), replica, signature);
  }
};

// A replica missing the requests of a batch it must prepare or execute asks for them by digest.
struct FetchBatchMsg {
  Digest batch_digest{};
  template <class A>
  void serialize(A& ar) {
    ar(batch_digest);
  }
};
struct BatchMsg {
  std::vector<Request> batch;  // the receiver checks batch_digest(batch) against what it needs
  template <class A>
  void serialize(A& ar) {
    ar(codec::at_most(kBatchRequestsMax, batch));
  }
};

// ---- catching up ------------------------------------------------------------------------------

// Sent periodically; lets peers notice a replica that is behind (in view, execution or stable
// checkpoint) and send it what it needs.
struct StatusMsg {
  ViewNum view = 0;
  bool view_changing = false;
  SeqNum last_executed = 0;
  SeqNum stable_seq = 0;
  ReplicaId replica = 0;
  template <class A>
  void serialize(A& ar) {
    ar(view, view_changing, last_executed, stable_seq, replica);
  }
};

// "seq committed with this header". A replica that is behind executes a batch once f+1 distinct
// replicas claim the same header and it holds requests matching the digest (the batch is sent
// along by at least one of them).
struct CommittedMsg {
  BatchHeader header;
  std::optional<std::vector<Request>> batch;
  ReplicaId replica = 0;
  template <class A>
  void serialize(A& ar) {
    ar(header, batch, replica);
  }
};

struct FetchStateMsg {
  SeqNum seq = 0;
  std::uint64_t offset = 0;
  template <class A>
  void serialize(A& ar) {
    ar(seq, offset);
  }
};

// A chunk of the checkpoint state at `seq` (see docs/protocol.md, "Catching up and state
// transfer"): bytes of the stream that is the state's page list, then its pages
// (bft/core/state_digest.h). The chunk at offset 0 carries the leaf digests of the page list,
// which the fetcher checks against the proven digest with the state's size and page count; later
// chunks carry none, and each leaf and then each page is checked as soon as its bytes are in.
struct StateChunkMsg {
  SeqNum seq = 0;
  Digest state_digest{};
  std::uint64_t total_bytes = 0;  // of the state, without its page list
  std::uint64_t page_count = 0;
  std::uint64_t offset = 0;  // in the stream
  std::vector<Digest> leaves;
  Bytes data;
  template <class A>
  void serialize(A& ar) {
    ar(seq, state_digest, total_bytes, page_count, offset, leaves, data);
  }
};

// ---- client status query (answered by each replica at once, without ordering) ---------------

struct StatusQueryMsg {
  std::uint64_t nonce = 0;  // echoed in the report, so the client can match it
  template <class A>
  void serialize(A& ar) {
    ar(nonce);
  }
};

// One replica's own view of itself; a client compares the reports of several replicas.
struct StatusReportMsg {
  std::uint64_t nonce = 0;
  ReplicaId replica = 0;
  ViewNum view = 0;
  ReplicaId primary = 0;
  bool view_changing = false;
  SeqNum last_executed = 0;
  SeqNum stable_checkpoint = 0;
  TimeUs agreed_time_us = 0;
  Digest stable_digest{};  // state digest of the stable checkpoint (replicas compare it)
  template <class A>
  void serialize(A& ar) {
    ar(nonce, replica, view, primary, view_changing, last_executed, stable_checkpoint,
       agreed_time_us, stable_digest);
  }
};

using Message =
    std::variant<ClientRequestMsg, ReplyMsg, VouchMsg, FetchRequestsMsg, RequestsMsg, PrePrepareMsg,
                 PrepareMsg, CommitMsg, CheckpointMsg, ViewChangeMsg, NewViewMsg, FetchBatchMsg,
                 BatchMsg, StatusMsg, CommittedMsg, CheckpointProofMsg, FetchStateMsg,
                 StateChunkMsg, StatusQueryMsg, StatusReportMsg>;

MsgType type_of(const Message& m);
const char* type_name(MsgType t);

// The channel a message arrived on decides which types it may carry: clients send requests and
// status queries, replicas answer them with replies and status reports, and everything else
// travels between replicas. Checked before the body is decoded.
enum class Channel : std::uint8_t { kFromClient, kFromReplica, kToClient };
bool allowed_on(MsgType t, Channel c);

struct Config;
// The largest encoding of a message of type t that a correct replica configured like `c` sends
// (a message type's size is bounded by the protocol: a PREPARE is ~150 bytes, a NEW-VIEW holds
// at most n VIEW-CHANGEs of at most a log window of certificates each). Larger ones are dropped
// before decoding.
std::uint64_t message_bytes_cap(MsgType t, const Config& c);

Bytes encode_message(const Message& m);
// Any type, for tests and tools.
Result<Message, std::string> decode_message(ByteView bytes);
// Only the types allowed on `channel`; others fail before their body is read.
Result<Message, std::string> decode_message(ByteView bytes, Channel channel);

// The exact bytes each signature covers (canonical encodings with a per-kind layout).
Bytes pre_prepare_signed_bytes(const BatchHeader& h);
Bytes prepare_signed_bytes(const PrepareMsg& p);
Bytes checkpoint_signed_bytes(const CheckpointMsg& c);
Bytes view_change_signed_bytes(const ViewChangeMsg& v);
Bytes new_view_signed_bytes(const NewViewMsg& nv);

}  // namespace bastion::bft
