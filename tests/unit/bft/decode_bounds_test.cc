// Decoding costs what the input is worth: a message's count and length tags are claims, so no
// input makes a replica allocate more than a small multiple of its own size, however the vectors
// nest; counts the protocol bounds are refused before any element is read; a message type that
// does not belong on a channel, or that is larger than the largest one a correct peer sends, is
// dropped before its body is decoded; and the largest messages correct replicas do send fit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/messages.h"
#include "bft/core/state_digest.h"
#include "codec/codec.h"
#include "tests/support/alloc_meter.h"
#include "tests/unit/bft/harness.h"

namespace bastion::bft::test {
namespace {

// The bound the fuzz targets assert too (tests/fuzz/bft/message_fuzz.cc).
constexpr std::size_t kAmplificationMax = 16;
constexpr std::size_t kAllocSlack = 64 << 10;

void append_varint(Bytes& b, std::uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<std::uint8_t>(v));
}

Bytes envelope(MsgType t) { return {kWireVersion, static_cast<std::uint8_t>(t)}; }

// Decodes `bytes` and checks the peak heap use against the input's size.
void expect_bounded(const Bytes& bytes, const char* what) {
  std::size_t peak = 0;
  {
    testing::AllocPeak meter;
    auto decoded = decode_message(bytes);
    peak = meter.bytes();
  }
  EXPECT_LE(peak, kAmplificationMax * bytes.size() + kAllocSlack)
      << what << ": " << peak << " bytes allocated for " << bytes.size() << " bytes of input";
}

constexpr std::size_t kInput = 1 << 20;

TEST(DecodeBounds, AVectorClaimingEveryByteLeftCostsTheBytesItConsumes) {
  // Before: a count tag equal to the bytes left resized the vector to that many elements first,
  // ~100 bytes of memory per byte of input, and more for each level of nesting.
  struct Shape {
    MsgType type;
    std::size_t prefix;  // fixed fields before the claimed vector
  };
  // CommittedMsg: the header, then the optional batch's flag (cereal writes 0 for "present").
  for (const Shape s :
       {Shape{MsgType::kVouch, 0}, Shape{MsgType::kFetchRequests, 0}, Shape{MsgType::kRequests, 0},
        Shape{MsgType::kBatch, 0}, Shape{MsgType::kPrePrepare, 57 + 64},
        Shape{MsgType::kViewChange, 8 + 40 + 1}, Shape{MsgType::kNewView, 8},
        Shape{MsgType::kCheckpointProof, 40}, Shape{MsgType::kCommitted, 57 + 1}}) {
    for (std::uint64_t claim : {std::uint64_t{kInput / 2}, std::uint64_t{kReplicasMax},
                                std::uint64_t{kLogWindowMax}, std::uint64_t{4096}}) {
      Bytes b = envelope(s.type);
      b.resize(b.size() + s.prefix, 0);
      append_varint(b, claim);
      b.resize(kInput, 0xff);  // junk: the first element fails to decode or runs out
      expect_bounded(b, type_name(s.type));
      b.resize(kInput / 2);
      b.resize(kInput, 0);  // zeros: many small valid elements, then a truncated one
      expect_bounded(b, type_name(s.type));
    }
  }
}

TEST(DecodeBounds, NestedVectorsDoNotMultiply) {
  // NEW-VIEW -> VIEW-CHANGE -> certificate -> prepares, each level full of valid zero elements.
  Bytes b = envelope(MsgType::kNewView);
  b.resize(b.size() + 8, 0);  // view
  append_varint(b, kReplicasMax);
  for (std::size_t vc = 0; vc < kReplicasMax && b.size() < kInput; ++vc) {
    b.resize(b.size() + 8 + 40, 0);  // new_view, stable seq + digest
    append_varint(b, 0);             // stable checkpoints
    append_varint(b, 64);            // prepared certificates
    for (int cert = 0; cert < 64; ++cert) {
      b.resize(b.size() + 57 + 64, 0);  // header, primary signature
      append_varint(b, kReplicasMax);
      b.resize(b.size() + kReplicasMax * 124, 0);  // zero prepares
    }
    b.resize(b.size() + 4 + 64, 0);  // replica, signature
  }
  b.resize(kInput, 0);
  expect_bounded(b, "nested new-view");
}

TEST(DecodeBounds, CountsAboveTheProtocolsBoundsAreRefusedAtOnce) {
  struct Case {
    MsgType type;
    std::size_t prefix;
    std::uint64_t bound;
  };
  for (const Case c : {Case{MsgType::kVouch, 0, kDisseminationEntriesMax},
                       Case{MsgType::kFetchRequests, 0, kDisseminationEntriesMax},
                       Case{MsgType::kBatch, 0, kBatchRequestsMax},
                       Case{MsgType::kCheckpointProof, 40, kReplicasMax},
                       Case{MsgType::kNewView, 8, kReplicasMax}}) {
    Bytes b = envelope(c.type);
    b.resize(b.size() + c.prefix, 0);
    append_varint(b, c.bound + 1);
    b.resize(b.size() + (c.bound + 1) * 256, 0);
    testing::AllocPeak meter;
    auto decoded = decode_message(b);
    ASSERT_FALSE(decoded.ok()) << type_name(c.type);
    EXPECT_NE(decoded.error().find("bound"), std::string::npos) << decoded.error();
    EXPECT_LE(meter.bytes(), kAllocSlack) << type_name(c.type);
  }
}

TEST(DecodeBounds, MessageTypesAreCheckedAgainstTheChannelBeforeDecoding) {
  const Bytes new_view = encode_message(NewViewMsg{});
  const Bytes request = encode_message(ClientRequestMsg{1, 1, false, {}});
  const Bytes reply = encode_message(ReplyMsg{});
  EXPECT_FALSE(decode_message(new_view, Channel::kFromClient).ok());
  EXPECT_FALSE(decode_message(new_view, Channel::kToClient).ok());
  EXPECT_TRUE(decode_message(new_view, Channel::kFromReplica).ok());
  EXPECT_TRUE(decode_message(request, Channel::kFromClient).ok());
  EXPECT_FALSE(decode_message(request, Channel::kFromReplica).ok());
  EXPECT_TRUE(decode_message(reply, Channel::kToClient).ok());
  EXPECT_FALSE(decode_message(reply, Channel::kFromClient).ok());

  // A replica-only type from a client is dropped as such, whatever its body.
  Cluster c;
  Bytes junk = envelope(MsgType::kNewView);
  junk.resize(512 << 10, 0xff);
  c.inject_client("mallory", 1, junk);
  c.inject_client("mallory", 1, new_view);
  EXPECT_EQ(c.counter(1, "drop.unexpected_type"), 2u);
  EXPECT_EQ(c.counter(1, "drop.malformed"), 0u);
}

TEST(DecodeBounds, MessagesLargerThanTheirTypesCapAreDroppedUndecoded) {
  Cluster c;
  const Config& config = c.config(1);
  for (MsgType t : {MsgType::kPrepare, MsgType::kCommit, MsgType::kCheckpoint, MsgType::kStatus,
                    MsgType::kViewChange, MsgType::kPrePrepare}) {
    Bytes b = envelope(t);
    b.resize(message_bytes_cap(t, config) + 1, 0);
    c.inject(3, 1, b);
  }
  EXPECT_EQ(c.counter(1, "drop.too_large"), 6u);
  EXPECT_EQ(c.counter(1, "drop.malformed"), 0u);
  EXPECT_LT(message_bytes_cap(MsgType::kPrepare, config), 1024u);
  EXPECT_LT(message_bytes_cap(MsgType::kViewChange, config), config.message_bytes_max);
}

// The caps must never drop what a correct replica sends: its largest messages fit.
TEST(DecodeBounds, TheLargestMessagesCorrectReplicasSendFitTheirCaps) {
  Config config;
  config.principal_bytes_max = 256;
  const std::string principal(config.principal_bytes_max, 'p');
  PrepareMsg prepare{~0ull, ~0ull, Digest{}, config.n - 1, {}, -1};
  PreparedCert cert{BatchHeader{~0ull, ~0ull, -1, Digest{}, false}, {}, {}};
  cert.prepares.assign(config.n, prepare);
  CheckpointMsg checkpoint{~0ull, Digest{}, config.n - 1, {}};
  ViewChangeMsg vc;
  vc.new_view = ~0ull;
  vc.stable = CheckpointProofMsg{~0ull, Digest{}, std::vector<CheckpointMsg>(config.n, checkpoint)};
  vc.prepared.assign(config.log_window, cert);
  vc.replica = config.n - 1;
  NewViewMsg nv;
  nv.view = ~0ull;
  nv.view_changes.assign(config.n, vc);
  nv.proposals.assign(config.log_window, cert.header);
  nv.proposal_signatures.resize(config.log_window);
  auto fits = [&](const Message& m) {
    const Bytes b = encode_message(m);
    EXPECT_LE(b.size(), message_bytes_cap(type_of(m), config)) << type_name(type_of(m));
  };
  fits(prepare);
  fits(CommitMsg{~0ull, ~0ull, Digest{}, config.n - 1, -1});
  fits(checkpoint);
  fits(vc.stable);
  fits(vc);
  fits(nv);

  // A full batch of small requests, and a lone request of the largest size.
  Request small{ClientKey{principal, ~0ull}, ~0ull, false, Bytes(64)};
  std::vector<Request> full;
  std::uint64_t bytes = 0;
  while (full.size() < config.batch_max_requests &&
         bytes + small.payload.size() + principal.size() + 32 <= config.batch_max_bytes) {
    full.push_back(small);
    bytes += small.payload.size() + principal.size() + 32;
  }
  Request large{ClientKey{principal, ~0ull}, ~0ull, false, Bytes(config.request_bytes_max)};
  for (const auto& batch : {full, std::vector<Request>{large}}) {
    fits(PrePrepareMsg{cert.header, {}, batch});
    fits(BatchMsg{batch});
    fits(CommittedMsg{cert.header, batch, 0});
    fits(RequestsMsg{batch});
  }
  fits(ClientRequestMsg{~0ull, ~0ull, false, Bytes(config.request_bytes_max)});
  VouchMsg vouch;
  vouch.entries.assign(kDisseminationEntriesMax,
                       VouchEntry{ClientKey{principal, ~0ull}, ~0ull, {}});
  fits(vouch);
  fits(FetchRequestsMsg{std::vector<Digest>(kDisseminationEntriesMax)});
  fits(StateChunkMsg{~0ull, Digest{}, ~0ull, ~0ull, ~0ull,
                     std::vector<Digest>(state_first_chunk_digest_bytes(config.snapshot_bytes_max) /
                                         sizeof(Digest)),
                     Bytes(config.state_chunk_bytes)});
  fits(StatusMsg{~0ull, true, ~0ull, ~0ull, config.n - 1});
  fits(FetchBatchMsg{});
  fits(FetchStateMsg{~0ull, ~0ull});
}

}  // namespace
}  // namespace bastion::bft::test
