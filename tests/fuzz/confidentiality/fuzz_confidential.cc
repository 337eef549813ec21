// Fuzz target for what a confidential space decodes from hostile peers: the first byte picks the
// decoder, the rest is its input.
//   0  a stored tuple (ts::Tuple), taken apart by parse_stored: a replica on insert, a reader on
//      every reply
//   1  RepairEvidence (a reader's claim, decoded by every replica)
//   2  OpenedShare (a replica's share in a reply, decoded by the reader)
//   3  Sharing
//   4  a reply's result as a client receives it (confidentiality/reply.h): split into the common
//      part and a replica's shares, and the confidential tuples of the common part taken apart;
//      then the client library's voting hooks and opening (client/confidential.h) on it
// Whatever decodes must re-encode to the same bytes (the encoding is canonical), and a parsed
// tuple must be consistent with its envelope. A violated property aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "client/confidential.h"
#include "codec/codec.h"
#include "confidentiality/envelope.h"
#include "confidentiality/reply.h"
#include "tuplespace/value.h"

namespace {

using namespace bastion;
using confidentiality::ByteView;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_confidential: %s\n", what);
  std::abort();
}

template <class T>
void round_trip(ByteView in) {
  auto v = codec::decode<T>(in);
  if (!v.ok()) return;
  const auto again = codec::encode(*v);
  check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()),
        "a decoded value re-encodes to other bytes");
}

void stored_tuple(ByteView in) {
  auto tuple = codec::decode<ts::Tuple>(in);
  if (!tuple.ok()) return;
  auto parsed = confidentiality::parse_stored("space", *tuple);
  if (!parsed.ok()) return;
  check(parsed->fields.size() + 1 == tuple->size(), "fields and envelope do not add up");
  check(parsed->envelope.protection.size() == parsed->fields.size(), "protection size");
  const auto env = codec::encode(parsed->envelope);
  const std::string& last = tuple->back().as_bytes().data;
  check(std::string(env.begin(), env.end()) == last, "the envelope re-encodes to other bytes");
}

// A client of a 4-replica cluster with fixed keys (the fuzzer cannot forge valid shares anyway).
const client_detail::ClientConfidentiality& client() {
  static const client_detail::ClientConfidentiality* c = [] {
    std::vector<confidentiality::Point> keys;
    for (int i = 0; i < 4; ++i)
      keys.push_back(confidentiality::PvssSecretKey::generate().public_key());
    client_detail::ClientConfidentiality::Secret secret{};
    return new client_detail::ClientConfidentiality(confidentiality::Pvss(keys, 2), secret, "w",
                                                    std::filesystem::path());
  }();
  return *c;
}

void client_hooks(ByteView in) {
  const codec::Bytes result(in.begin(), in.end());
  for (bft::ReplicaId r = 0; r < 4; ++r) (void)client().verify_shares(r, result);
  auto reply = codec::decode<ts::Reply>(client().split_common(result));
  if (!reply.ok()) return;
  const auto* wrapped = std::get_if<ts::Confidential>(&*reply);
  if (wrapped == nullptr) return;
  (void)client().open(*wrapped, wrapped->space, {{0, result}, {1, result}});
}

void reply_result(ByteView in) {
  client_hooks(in);
  auto parts = confidentiality::split(in);
  if (!parts) return;
  auto common = codec::decode<ts::Reply>(parts->common);
  check(common.ok(), "the common part of a split result does not decode");
  if (parts->shares) {
    auto again = parts->common;
    codec::encode_into(again, *parts->shares);
    check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()),
          "a split result re-encodes to other bytes");
  }
  const auto* wrapped = std::get_if<ts::Confidential>(&*common);
  if (wrapped == nullptr) return;
  auto carried = confidentiality::tuples_of(*wrapped);
  if (!carried.ok()) return;
  for (const ts::Tuple& t : carried->tuples) (void)confidentiality::parse_stored(carried->space, t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      stored_tuple(in);
      break;
    case 1:
      round_trip<confidentiality::RepairEvidence>(in);
      break;
    case 2:
      round_trip<confidentiality::OpenedShare>(in);
      break;
    case 3:
      round_trip<confidentiality::Sharing>(in);
      break;
    default:
      reply_result(in);
      break;
  }
  return 0;
}
