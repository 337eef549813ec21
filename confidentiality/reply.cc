#include "confidentiality/reply.h"

#include <variant>

#include "codec/codec.h"

namespace bastion::confidentiality {

bool is_confidential_result(codec::ByteView result) {
  // The variant's tag comes first: 7 is ts::Confidential.
  constexpr std::uint8_t kConfidentialTag = 7;
  static_assert(
      std::is_same_v<std::variant_alternative_t<kConfidentialTag, ts::Reply>, ts::Confidential>);
  return !result.empty() && result[0] == kConfidentialTag;
}

Result<ConfidentialTuples, std::string> tuples_of(const ts::Confidential& reply) {
  ConfidentialTuples out;
  out.space = reply.space;
  auto inner = codec::decode<ts::Reply>(reply.reply);
  if (!inner.ok()) return fail("the wrapped reply does not decode: " + inner.error());
  out.inner = std::move(*inner);
  if (const auto* found = std::get_if<ts::Found>(&out.inner)) {
    out.tuples.push_back(found->tuple);
  } else if (const auto* all = std::get_if<ts::FoundAll>(&out.inner)) {
    out.tuples = all->tuples;
  } else if (const auto* cas = std::get_if<ts::CasResult>(&out.inner); cas && !cas->inserted) {
    out.tuples.push_back(cas->existing);
  } else {
    return fail(std::string("the wrapped reply carries no tuples"));
  }
  return out;
}

std::optional<codec::Bytes> with_opened_shares(codec::ByteView result, const PvssSecretKey& key,
                                               std::uint32_t index, ShareCache* cache) {
  if (!is_confidential_result(result)) return std::nullopt;  // goes out as it is
  auto reply = codec::decode<ts::Reply>(result);
  if (!reply.ok()) return std::nullopt;
  auto carried = tuples_of(std::get<ts::Confidential>(*reply));
  if (!carried.ok()) return std::nullopt;
  ReplicaShares mine;
  mine.shares.reserve(carried->tuples.size());
  for (const ts::Tuple& t : carried->tuples) {
    codec::Digest id{};
    if (cache != nullptr) {
      id = ShareCache::key_of(carried->space, t);
      if (const OpenedShare* known = cache->find(id)) {
        mine.shares.push_back(*known);
        continue;
      }
    }
    auto stored = parse_stored(carried->space, t);
    if (!stored.ok() || index >= stored->envelope.sharing.shares.size()) return std::nullopt;
    mine.shares.push_back(open_share(key, index, *stored));
    if (cache != nullptr) cache->put(id, mine.shares.back(), 1);
  }
  codec::Bytes out(result.begin(), result.end());
  codec::encode_into(out, mine);
  return out;
}

std::optional<CommonPart> common_part(codec::ByteView result) {
  try {
    codec::BoundedInputArchive ar(result);
    CommonPart out;
    ar(out.reply);
    out.size = ar.position();
    return out;
  } catch (const codec::DecodeError&) {
    return std::nullopt;
  } catch (const cereal::Exception&) {
    return std::nullopt;
  }
}

std::optional<SplitResult> split(codec::ByteView result) {
  auto prefix = common_part(result);
  if (!prefix) return std::nullopt;
  SplitResult out;
  out.common.assign(result.begin(), result.begin() + static_cast<long>(prefix->size));
  if (prefix->size == result.size()) return out;
  auto shares = codec::decode<ReplicaShares>(result.subspan(prefix->size));
  if (!shares.ok()) return std::nullopt;
  out.shares = std::move(*shares);
  return out;
}

}  // namespace bastion::confidentiality
