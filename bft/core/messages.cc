// Wire format of the replication protocol: envelope, bounded decoding, digests and signed bytes.
//
// Invariants: encode_message(decode_message(b)) == b for every accepted b (canonical encoding, no
// trailing bytes); decoding never allocates more than the input justifies (codec's bounded
// archive). Thread-safety: pure functions.
#include "bft/core/messages.h"

#include <algorithm>
#include <array>
#include <utility>

#include "bft/core/config.h"
#include "bft/core/state_digest.h"
#include "codec/codec.h"

namespace bastion::bft {
namespace {

constexpr std::size_t kTypeCount = std::variant_size_v<Message>;
static_assert(kTypeCount == static_cast<std::size_t>(MsgType::kStatusReport),
              "MsgType values must follow the order of the Message variant");

// Unknown reply statuses are malformed: a client must never have to interpret them.
template <class T>
bool semantically_valid(const T&) {
  return true;
}
template <>
bool semantically_valid(const ReplyMsg& m) {
  return m.status <= kReplyStatusMax;
}

template <std::size_t I>
Result<Message, std::string> decode_body(ByteView body) {
  using T = std::variant_alternative_t<I, Message>;
  auto r = codec::decode<T>(body);
  if (!r) return fail(std::move(r).error());
  if (!semantically_valid(*r)) return fail(std::string("invalid field value"));
  return Message(std::in_place_index<I>, std::move(r).value());
}

using Decoder = Result<Message, std::string> (*)(ByteView);

template <std::size_t... I>
constexpr std::array<Decoder, kTypeCount> make_decoders(std::index_sequence<I...>) {
  return {&decode_body<I>...};
}

constexpr auto kDecoders = make_decoders(std::make_index_sequence<kTypeCount>{});

constexpr std::array<const char*, kTypeCount> kTypeNames = {
    "request",          "reply",       "vouch",       "fetch_requests", "requests",
    "pre_prepare",      "prepare",     "commit",      "checkpoint",     "view_change",
    "new_view",         "fetch_batch", "batch",       "status",         "committed",
    "checkpoint_proof", "fetch_state", "state_chunk", "status_query",   "status_report",
};
static_assert(
    [] {
      for (const char* name : kTypeNames) {
        if (name == nullptr) return false;
      }
      return true;
    }(),
    "every message type needs a name");

template <class... Fields>
Bytes encode_fields(const Fields&... fields) {
  Bytes out;
  codec::OutputArchive ar{codec::VectorSink(out)};
  ar(fields...);
  return out;
}

}  // namespace

Digest request_digest(const Request& r) { return codec::digest_of(r); }

Digest batch_digest_of(const std::vector<Digest>& request_digests) {
  codec::Blake2b hasher;
  hasher.update(std::string_view("bastion.batch.v1"));
  const std::uint64_t count = request_digests.size();
  std::array<std::uint8_t, 8> count_le{};
  for (std::size_t i = 0; i < count_le.size(); ++i) {
    count_le[i] = static_cast<std::uint8_t>(count >> (8 * i));
  }
  hasher.update(count_le);
  for (const Digest& d : request_digests) hasher.update(d);
  return hasher.finish();
}

Digest batch_digest(const std::vector<Request>& batch) {
  std::vector<Digest> digests;
  digests.reserve(batch.size());
  for (const Request& r : batch) digests.push_back(request_digest(r));
  return batch_digest_of(digests);
}

MsgType type_of(const Message& m) { return static_cast<MsgType>(m.index() + 1); }

const char* type_name(MsgType t) {
  const auto i = static_cast<std::size_t>(t);
  if (i == 0 || i > kTypeCount) return "unknown";
  return kTypeNames[i - 1];
}

Bytes encode_message(const Message& m) {
  Bytes out;
  out.push_back(kWireVersion);
  out.push_back(static_cast<std::uint8_t>(type_of(m)));
  std::visit([&out](const auto& body) { codec::encode_into(out, body); }, m);
  return out;
}

bool allowed_on(MsgType t, Channel c) {
  switch (t) {
    case MsgType::kRequest:
    case MsgType::kStatusQuery:
      return c == Channel::kFromClient;
    case MsgType::kReply:
    case MsgType::kStatusReport:
      return c == Channel::kToClient;
    default:
      return c == Channel::kFromReplica;
  }
}

std::uint64_t message_bytes_cap(MsgType t, const Config& c) {
  // Encoded sizes, from the field layouts above: a varint length costs at most 10 bytes, a
  // principal at most principal_bytes_max. Generous by a fixed slack; what matters is that each
  // cap is a function of the configuration, not of what a peer claims.
  constexpr std::uint64_t kSlack = 256;
  constexpr std::uint64_t kVarint = 10;
  constexpr std::uint64_t kHeader = 8 + 8 + 8 + 32 + 1;  // BatchHeader
  constexpr std::uint64_t kSignature = 64;
  const std::uint64_t n = c.n;
  const std::uint64_t principal = kVarint + c.principal_bytes_max;
  const std::uint64_t request = principal + 8 + 8 + 1 + kVarint + c.request_bytes_max;
  // A batch holds at most batch_max_bytes of requests, or a single request over that cap.
  const std::uint64_t batch = kVarint + std::max<std::uint64_t>(c.batch_max_bytes, request) +
                              std::uint64_t{c.batch_max_requests} * 32;
  const std::uint64_t prepare = 8 + 8 + 32 + 4 + kSignature + 8;
  const std::uint64_t checkpoint = 8 + 32 + 4 + kSignature;
  const std::uint64_t proof = 8 + 32 + kVarint + n * checkpoint;
  const std::uint64_t cert = kHeader + kSignature + kVarint + n * prepare;
  const std::uint64_t view_change = 8 + proof + kVarint + c.log_window * cert + 4 + kSignature;
  const std::uint64_t dissemination = kVarint + kDisseminationEntriesMax;
  std::uint64_t cap = 0;
  switch (t) {
    case MsgType::kRequest:
      cap = 8 + 8 + 1 + kVarint + c.request_bytes_max;
      break;
    case MsgType::kReply:
      cap = c.message_bytes_max;  // results are the application's; the client bounds frames
      break;
    case MsgType::kVouch:
      cap = dissemination * (principal + 8 + 8 + 32);
      break;
    case MsgType::kFetchRequests:
      cap = dissemination * 32;
      break;
    case MsgType::kRequests:
    case MsgType::kPrePrepare:
    case MsgType::kBatch:
    case MsgType::kCommitted:
      cap = kHeader + kSignature + 1 + 4 + batch;
      break;
    case MsgType::kPrepare:
    case MsgType::kCommit:
      cap = prepare;
      break;
    case MsgType::kCheckpoint:
      cap = checkpoint;
      break;
    case MsgType::kCheckpointProof:
      cap = proof;
      break;
    case MsgType::kViewChange:
      cap = view_change;
      break;
    case MsgType::kNewView:
      cap = 8 + kVarint + n * view_change + 2 * kVarint + c.log_window * (kHeader + kSignature) +
            4 + kSignature;
      break;
    case MsgType::kStateChunk:
      cap = 8 + 32 + 8 + 8 + 8 + kVarint + state_first_chunk_digest_bytes(c.snapshot_bytes_max) +
            kVarint + c.state_chunk_bytes;
      break;
    case MsgType::kFetchBatch:
    case MsgType::kStatus:
    case MsgType::kFetchState:
    case MsgType::kStatusQuery:
    case MsgType::kStatusReport:
      cap = 128;
      break;
  }
  return std::min<std::uint64_t>(2 + cap + kSlack, c.message_bytes_max);
}

Result<Message, std::string> decode_message(ByteView bytes) {
  if (bytes.size() < 2) return fail(std::string("message too short"));
  if (bytes[0] != kWireVersion) return fail(std::string("unknown wire version"));
  const std::size_t type = bytes[1];
  if (type == 0 || type > kTypeCount) return fail(std::string("unknown message type"));
  return kDecoders[type - 1](bytes.subspan(2));
}

Result<Message, std::string> decode_message(ByteView bytes, Channel channel) {
  if (bytes.size() >= 2 && bytes[1] >= 1 && bytes[1] <= kTypeCount &&
      !allowed_on(static_cast<MsgType>(bytes[1]), channel)) {
    return fail(std::string("message type not allowed on this channel"));
  }
  return decode_message(bytes);
}

Bytes pre_prepare_signed_bytes(const BatchHeader& h) { return encode_fields(h); }

Bytes prepare_signed_bytes(const PrepareMsg& p) {
  return encode_fields(p.view, p.seq, p.batch_digest, p.replica, p.timestamp_us);
}

Bytes checkpoint_signed_bytes(const CheckpointMsg& c) {
  return encode_fields(c.seq, c.state_digest, c.replica);
}

Bytes view_change_signed_bytes(const ViewChangeMsg& v) {
  return encode_fields(v.new_view, v.stable, v.prepared, v.replica);
}

Bytes new_view_signed_bytes(const NewViewMsg& nv) {
  return encode_fields(nv.view, nv.view_changes, nv.proposals, nv.proposal_signatures, nv.replica);
}

}  // namespace bastion::bft
