// The client side of confidential spaces; see confidential.h.
#include "client/confidential.h"

#include <sodium.h>

#include <type_traits>
#include <variant>

#include "codec/codec.h"
#include "confidentiality/reply.h"
#include "config/confidential_keys.h"
#include "config/names.h"

namespace bastion::client_detail {
namespace {

using confidentiality::ProtectionVector;

Error invalid(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }
Error protocol(std::string message) { return Error{Errc::kProtocol, std::move(message)}; }

// The vector the bytes give; empty when one is not a protection (from the replicas: hostile).
ProtectionVector protection_of(const std::vector<std::uint8_t>& bytes) {
  return confidentiality::protection_of_bytes(bytes).value_or(ProtectionVector{});
}

}  // namespace

// ---- SpaceCache ---------------------------------------------------------------------------------

std::optional<SpaceState> SpaceCache::find(std::string_view space) const {
  MutexLock lock(mu_);
  auto it = spaces_.find(space);
  if (it == spaces_.end()) return std::nullopt;
  return it->second;
}

bool SpaceCache::knows(std::string_view space) const {
  MutexLock lock(mu_);
  return spaces_.contains(space);
}

void SpaceCache::learn(const ts::SpaceInfo& info) {
  SpaceState state;
  state.confidential = info.options.confidential;
  state.protection = protection_of(info.options.protection);
  state.fingerprint_key = info.options.fingerprint_key;
  MutexLock lock(mu_);
  spaces_[info.name] = std::move(state);
}

void SpaceCache::forget(const std::string& space) {
  MutexLock lock(mu_);
  spaces_.erase(space);
}

// ---- ClientConfidentiality ----------------------------------------------------------------------

ClientConfidentiality::ClientConfidentiality(confidentiality::Pvss pvss,
                                             std::optional<Secret> secret, std::string writer,
                                             std::filesystem::path identity_dir)
    : pvss_(std::move(pvss)),
      secret_(secret),
      writer_(std::move(writer)),
      identity_dir_(std::move(identity_dir)),
      invalid_shares_(pvss_.n(), 0) {}

ClientConfidentiality::~ClientConfidentiality() {
  if (secret_) sodium_memzero(secret_->data(), secret_->size());
}

Expected<std::shared_ptr<const confidentiality::SpaceKeys>> ClientConfidentiality::keys(
    const std::string& space, const std::string& expected) const {
  MutexLock lock(mu_);
  auto& slot = keys_[space];
  if (!slot) {
    const std::filesystem::path own = identity_dir_ / "space-keys" / (space + ".key");
    std::error_code ec;
    std::optional<Secret> secret = secret_;
    if (config::is_valid_client_name(space) && std::filesystem::exists(own, ec)) {
      auto loaded = config::load_fingerprint_secret(own);
      if (!loaded) return fail(Error{Errc::kConfig, loaded.error().message});
      secret = *loaded;
    }
    if (!secret) {
      keys_.erase(space);
      return fail(Error{Errc::kConfig,
                        "this identity has no fingerprint.key, which confidential spaces need "
                        "(see docs/confidentiality.md, \"Keys\")"});
    }
    slot = std::make_shared<const confidentiality::SpaceKeys>(
        pvss_, confidentiality::FingerprintKey::derive(*secret, space, 0), space, writer_);
    sodium_memzero(secret->data(), secret->size());
  }
  const auto& mine = slot->fingerprints().public_key().bytes();
  if (!expected.empty() && std::string(mine.begin(), mine.end()) != expected) {
    return fail(
        Error{Errc::kConfig, "this identity does not hold the fingerprint key of space '" + space +
                                 "' (docs/confidentiality.md, \"Keys\": bastion space key)"});
  }
  return slot;
}

codec::Bytes ClientConfidentiality::split_common(const codec::Bytes& result) const {
  if (!confidentiality::is_confidential_result(result)) return result;
  auto common = confidentiality::common_part(result);
  // Undecodable: voted on whole (it matches nothing a correct replica sends).
  if (!common) return result;
  return codec::Bytes(result.begin(), result.begin() + static_cast<long>(common->size));
}

bool ClientConfidentiality::verify_shares(bft::ReplicaId replica,
                                          const codec::Bytes& result) const {
  if (!confidentiality::is_confidential_result(result)) return true;
  if (shares_valid(replica, result)) return true;
  MutexLock lock(mu_);
  if (replica < invalid_shares_.size()) ++invalid_shares_[replica];
  return false;
}

std::vector<std::uint64_t> ClientConfidentiality::invalid_shares() const {
  MutexLock lock(mu_);
  return invalid_shares_;
}

bool ClientConfidentiality::shares_valid(bft::ReplicaId replica, const codec::Bytes& result) const {
  auto common = confidentiality::common_part(result);
  if (!common) return false;
  auto carried = confidentiality::tuples_of(std::get<ts::Confidential>(common->reply));
  if (!carried.ok()) return false;
  const bool all_opened = [&] {
    MutexLock lock(mu_);
    for (const ts::Tuple& t : carried->tuples) {
      if (opened_.find(OpenedTuples::key_of(carried->space, t)) == nullptr) return false;
    }
    return true;
  }();
  if (all_opened) return true;  // its shares would not be used: not even decoded
  if (common->size == result.size()) return false;  // no shares
  auto shares =
      codec::decode<confidentiality::ReplicaShares>(codec::ByteView(result).subspan(common->size));
  if (!shares.ok() || carried->tuples.size() != shares->shares.size()) return false;
  for (std::size_t i = 0; i < carried->tuples.size(); ++i) {
    const confidentiality::OpenedShare& share = shares->shares[i];
    auto stored = confidentiality::parse_stored(carried->space, carried->tuples[i]);
    if (!stored.ok() || share.index != replica ||
        replica >= stored->envelope.sharing.shares.size() ||
        !pvss_.verify_opened(stored->envelope.sharing.shares[replica], share, stored->context)) {
      return false;
    }
  }
  return true;
}

Expected<Done> ClientConfidentiality::prepare_create(ts::SpaceCreate& create) const {
  ts::SpaceOptions& o = create.options;
  if (o.protection.empty()) o.protection = {ts::kProtectionComparable};
  if (o.fingerprint_key.empty()) {
    auto k = keys(create.space);
    if (!k) return fail(std::move(k).error());
    const auto& pub = (*k)->fingerprints().public_key().bytes();
    o.fingerprint_key.assign(pub.begin(), pub.end());
  }
  return Done{};
}

Expected<ts::Request> ClientConfidentiality::seal(
    const ts::Request& request, const SpaceState& space,
    const std::vector<std::uint8_t>& protection) const {
  if (!ts::is_tuple_op(request)) return request;
  auto k = keys(std::string(ts::space_of(request)), space.fingerprint_key);
  if (!k) return fail(std::move(k).error());
  const confidentiality::SpaceKeys& keys = **k;
  const ProtectionVector vector = protection.empty() ? space.protection : protection_of(protection);
  if (vector.empty()) {
    return fail(invalid(protection.empty() ? "the space has no valid protection vector"
                                           : "a protection entry is not public, comparable or "
                                             "private (0, 1, 2)"));
  }

  std::optional<Error> error;
  auto seal_tuple = [&](ts::Tuple& tuple) {
    if (error) return;
    auto sealed = keys.seal(tuple, vector);
    if (!sealed) {
      error = invalid("cannot seal the tuple: " + sealed.error());
      return;
    }
    tuple = std::move(*sealed);
  };
  auto fingerprint = [&](ts::Template& tmpl) {
    if (error) return;
    auto sent = keys.fingerprint(tmpl, vector);
    if (!sent) {
      error = invalid("template of a confidential space: " + sent.error());
      return;
    }
    tmpl = std::move(*sent);
  };
  ts::Request out = request;
  std::visit(
      [&](auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, ts::Out>) {
          seal_tuple(op.entry.tuple);
        } else if constexpr (std::is_same_v<T, ts::OutAll>) {
          for (ts::TupleSpec& entry : op.entries) seal_tuple(entry.tuple);
        } else if constexpr (std::is_same_v<T, ts::Cas> || std::is_same_v<T, ts::Replace>) {
          fingerprint(op.tmpl);
          seal_tuple(op.entry.tuple);
        } else if constexpr (requires { op.tmpl; }) {
          fingerprint(op.tmpl);
        }
      },
      out);
  if (error) return fail(std::move(*error));
  return out;
}

Expected<ClientConfidentiality::Opened> ClientConfidentiality::open(
    const ts::Confidential& reply, const std::string& space,
    const std::vector<std::pair<bft::ReplicaId, codec::Bytes>>& replies,
    const std::string& fingerprint_key) const {
  auto carried = confidentiality::tuples_of(reply);
  if (!carried) return fail(protocol("a confidential reply: " + carried.error()));
  if (carried->space != space) {
    return fail(protocol("the replicas answered with tuples of space '" + carried->space +
                         "' to a call on '" + space + "'"));
  }
  auto k = keys(space, fingerprint_key);
  if (!k) return fail(std::move(k).error());
  // Tuples opened lately need no shares.
  std::vector<std::optional<ts::Tuple>> known(carried->tuples.size());
  bool all_known = true;
  {
    MutexLock lock(mu_);
    for (std::size_t i = 0; i < carried->tuples.size(); ++i) {
      if (const ts::Tuple* t = opened_.find(OpenedTuples::key_of(space, carried->tuples[i])))
        known[i] = *t;
      all_known = all_known && known[i].has_value();
    }
  }
  // Every accepted reply's shares were verified; the first t of them open each tuple.
  std::vector<confidentiality::ReplicaShares> shares;
  for (const auto& [replica, full] : replies) {
    if (all_known || shares.size() == pvss_.threshold()) break;
    auto parts = confidentiality::split(full);
    if (parts && parts->shares && parts->shares->shares.size() == carried->tuples.size()) {
      shares.push_back(std::move(*parts->shares));
    }
  }
  if (!all_known && shares.size() < pvss_.threshold()) {
    return fail(protocol("a confidential reply with " + std::to_string(shares.size()) +
                         " replicas' shares, " + std::to_string(pvss_.threshold()) +
                         " are needed"));
  }
  Opened out;
  std::vector<ts::Tuple> opened;
  opened.reserve(carried->tuples.size());
  for (std::size_t i = 0; i < carried->tuples.size(); ++i) {
    if (known[i]) {
      opened.push_back(std::move(*known[i]));
      continue;
    }
    auto stored = confidentiality::parse_stored(space, carried->tuples[i]);
    if (!stored) return fail(protocol("a stored confidential tuple: " + stored.error()));
    std::vector<confidentiality::OpenedShare> mine;
    for (const confidentiality::ReplicaShares& s : shares) mine.push_back(s.shares[i]);
    auto plain = confidentiality::open(**k, *stored, mine);
    if (plain) {
      MutexLock lock(mu_);
      opened_.put(OpenedTuples::key_of(space, carried->tuples[i]), *plain,
                  codec::encode(carried->tuples[i]).size());
      opened.push_back(std::move(*plain));
      continue;
    }
    if (plain.error().kind == confidentiality::OpenFailure::Kind::kBadShares) {
      return fail(protocol("verified shares do not combine: " + plain.error().message));
    }
    const confidentiality::RepairEvidence evidence =
        confidentiality::evidence_of(**k, *stored, mine, plain.error());
    out.repairs.push_back(
        ts::Repair{space, carried->tuples[i], stored->envelope.writer, codec::encode(evidence)});
  }
  out.reply = std::move(carried->inner);
  if (auto* all = std::get_if<ts::FoundAll>(&out.reply)) {
    all->tuples = std::move(opened);
  } else if (opened.empty()) {
    // The one tuple was invalid: the caller repairs and decides what the call returns.
  } else if (auto* found = std::get_if<ts::Found>(&out.reply)) {
    found->tuple = std::move(opened.front());
  } else if (auto* cas = std::get_if<ts::CasResult>(&out.reply)) {
    cas->existing = std::move(opened.front());
  }
  return out;
}

}  // namespace bastion::client_detail
