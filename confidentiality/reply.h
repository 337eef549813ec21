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
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec.h"
#include "codec/digest.h"
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

// A bounded memo of what was worked out about stored tuples, keyed by a digest of the space and
// the stored tuple (key_of: the space is part of a tuple's context): first in, first out once
// `entries_max` entries or `bytes_max` charged bytes are held. Replicas keep the shares they
// opened, clients the plaintexts they opened, so a tuple read again costs no group operations.
template <class V>
class OpenedCache {
 public:
  OpenedCache(std::size_t entries_max, std::size_t bytes_max)
      : entries_max_(entries_max), bytes_max_(bytes_max) {}

  static codec::Digest key_of(std::string_view space, const ts::Tuple& stored) {
    codec::Blake2b h;
    h.update(space);
    h.update(codec::blake2b(codec::encode(stored)));
    return h.finish();
  }
  const V* find(const codec::Digest& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.first;
  }
  void put(const codec::Digest& key, V value, std::size_t bytes) {
    if (bytes > bytes_max_ || entries_.contains(key)) return;
    while (!order_.empty() && (entries_.size() >= entries_max_ || bytes_ + bytes > bytes_max_)) {
      auto it = entries_.find(order_.front());
      bytes_ -= it->second.second;
      entries_.erase(it);
      order_.pop_front();
    }
    entries_.emplace(key, std::pair{std::move(value), bytes});
    order_.push_back(key);
    bytes_ += bytes;
  }

 private:
  std::size_t entries_max_;
  std::size_t bytes_max_;
  std::size_t bytes_ = 0;
  std::map<codec::Digest, std::pair<V, std::size_t>> entries_;
  std::deque<codec::Digest> order_;
};

// Shares a replica opened: about 200 bytes each.
using ShareCache = OpenedCache<OpenedShare>;
inline constexpr std::size_t kShareCacheEntries = 16384;

// Whether `result` (an encoded ts::Reply) holds a ts::Confidential, by its first byte: other
// replies need not be decoded.
bool is_confidential_result(codec::ByteView result);

// The result `result` (an encoded ts::Reply) with replica `index`'s opened shares appended, or
// nothing when it holds no Confidential reply or a tuple that is not a valid sealed tuple.
// `cache` (optional) holds shares opened before and keeps the new ones.
std::optional<codec::Bytes> with_opened_shares(codec::ByteView result, const PvssSecretKey& key,
                                               std::uint32_t index, ShareCache* cache = nullptr);

// The common part at the start of a result, decoded, and its size in bytes; what follows (the
// shares) is not decoded. Nothing when the result does not begin with an encoded ts::Reply.
struct CommonPart {
  ts::Reply reply;
  std::size_t size = 0;
};
std::optional<CommonPart> common_part(codec::ByteView result);

// A result taken apart: the common part, and the shares when any follow it.
struct SplitResult {
  codec::Bytes common;
  std::optional<ReplicaShares> shares;
};
// Nothing when `result` does not begin with an encoded ts::Reply, or what follows it is not a
// ReplicaShares.
std::optional<SplitResult> split(codec::ByteView result);

}  // namespace bastion::confidentiality
