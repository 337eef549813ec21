// Wire format of the replication protocol: envelope, bounded decoding, digests and signed bytes.
//
// Invariants: encode_message(decode_message(b)) == b for every accepted b (canonical encoding, no
// trailing bytes); decoding never allocates more than the input justifies (codec's bounded
// archive). Thread-safety: pure functions.
#include "bft/core/messages.h"

#include <array>
#include <utility>

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

Result<Message, std::string> decode_message(ByteView bytes) {
  if (bytes.size() < 2) return fail(std::string("message too short"));
  if (bytes[0] != kWireVersion) return fail(std::string("unknown wire version"));
  const std::size_t type = bytes[1];
  if (type == 0 || type > kTypeCount) return fail(std::string("unknown message type"));
  return kDecoders[type - 1](bytes.subspan(2));
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
