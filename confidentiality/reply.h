// Replies about confidential tuples: the part every replica sends alike, and the opened shares
// each replica adds to it (docs/confidentiality.md, "Reading").
//
// The replicated result of such a reply is an encoded ts::Reply holding a ts::Confidential. When
// a replica sends it, it appends its own shares, outside the replicated state:
//     result = encoded ts::Reply (common) || encoded ReplicaShares (this replica's)
// The client votes on the common part (split()) and checks each replica's shares on its own.
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/result.h"
#include "confidentiality/envelope.h"
#include "tuplespace/ops.h"

namespace bastion::confidentiality {

// Most tuples one reply may carry shares for (a bound for decoding; rdAll replies are bounded by
// the client frame size well below it).
inline constexpr std::size_t kSharesPerReplyMax = 1 << 20;

struct ReplicaShares {
  std::vector<OpenedShare> shares;  // one per tuple of the reply, in the reply's order

  friend bool operator==(const ReplicaShares&, const ReplicaShares&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(codec::at_most(kSharesPerReplyMax, shares));
  }
};

// The space and the stored tuples a Confidential reply carries, in order (Found: one; FoundAll:
// all; CasResult: the one found), or why it is malformed.
struct ConfidentialTuples {
  std::string space;
  ts::Reply inner;
  std::vector<ts::Tuple> tuples;
};
Result<ConfidentialTuples, std::string> tuples_of(const ts::Confidential& reply);

// The result `result` (an encoded ts::Reply) with replica `index`'s opened shares appended, or
// nothing when it holds no Confidential reply or a tuple that is not a valid sealed tuple.
std::optional<codec::Bytes> with_opened_shares(codec::ByteView result, const PvssSecretKey& key,
                                               std::uint32_t index);

// A result taken apart: the common part, and the shares when any follow it.
struct SplitResult {
  codec::Bytes common;
  std::optional<ReplicaShares> shares;
};
// Nothing when `result` does not begin with an encoded ts::Reply, or what follows it is not a
// ReplicaShares.
std::optional<SplitResult> split(codec::ByteView result);

}  // namespace bastion::confidentiality
