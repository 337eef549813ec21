#include "confidentiality/layer.h"

#include <type_traits>
#include <variant>

#include "codec/codec.h"
#include "confidentiality/envelope.h"

namespace bastion::confidentiality {

ts::Outcome ConfidentialityLayer::execute(const ts::Context& ctx, const ts::Request& request) {
  if (auto refused = check(ctx, request)) return ts::Outcome{*refused, {}};
  return next_.execute(ctx, request);
}

std::optional<ts::Error> ConfidentialityLayer::check(const ts::Context& ctx,
                                                     const ts::Request& request) {
  return std::visit(
      [this, &ctx](const auto& op) -> std::optional<ts::Error> {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, ts::SpaceCreate>) {
          if (!op.options.confidential) return std::nullopt;
          if (!pvss_) {
            return ts::Error{ts::ErrorCode::kUnsupported,
                             "confidential spaces need PVSS keys for the replicas in the cluster "
                             "file, and this cluster has none (docs/confidentiality.md, \"Keys\")"};
          }
          const auto key = Point::from_bytes(
              ByteView(reinterpret_cast<const std::uint8_t*>(op.options.fingerprint_key.data()),
                       op.options.fingerprint_key.size()));
          if (!key || key->is_identity()) {
            return ts::Error{ts::ErrorCode::kInvalidArgument,
                             "the space's fingerprint key is not a valid public key"};
          }
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ts::Out> || std::is_same_v<T, ts::Cas> ||
                             std::is_same_v<T, ts::Replace>) {
          return check_tuple(ctx.client, op.space, op.entry.tuple);
        } else if constexpr (std::is_same_v<T, ts::OutAll>) {
          for (const ts::TupleSpec& entry : op.entries) {
            if (auto e = check_tuple(ctx.client, op.space, entry.tuple)) return e;
          }
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ts::Repair>) {
          return check_repair_claim(op);
        } else {
          return std::nullopt;
        }
      },
      request);
}

std::optional<ts::Error> ConfidentialityLayer::check_repair_claim(const ts::Repair& repair) {
  const ts::SpaceOptions* options = engine_.space_options(repair.space);
  if (options == nullptr || !options->confidential) return std::nullopt;  // the engine answers
  if (!pvss_) return ts::Error{ts::ErrorCode::kUnsupported, "this replica has no PVSS keys"};
  auto refuse = [this](const std::string& why) {
    ++counters_.false_repairs;
    return ts::Error{ts::ErrorCode::kInvalidArgument, "repair refused: " + why};
  };
  auto stored = parse_stored(repair.space, repair.tuple);
  if (!stored.ok()) return refuse("the tuple is not a sealed tuple: " + stored.error());
  if (stored->envelope.writer != repair.writer) {
    return refuse("the tuple was sealed by '" + stored->envelope.writer + "', not '" +
                  repair.writer + "'");
  }
  auto evidence = codec::decode<RepairEvidence>(repair.evidence);
  if (!evidence.ok()) return refuse("the evidence does not decode: " + evidence.error());
  const auto key = Point::from_bytes(
      ByteView(reinterpret_cast<const std::uint8_t*>(options->fingerprint_key.data()),
               options->fingerprint_key.size()));
  std::string reason;
  if (!key || !check_repair(*pvss_, *key, *stored, *evidence, &reason)) {
    return refuse("the evidence does not show that the tuple is invalid");
  }
  ++counters_.repairs;
  return std::nullopt;
}

std::optional<ts::Error> ConfidentialityLayer::check_tuple(const std::string& client,
                                                           const std::string& space,
                                                           const ts::Tuple& tuple) {
  const ts::SpaceOptions* options = engine_.space_options(space);
  if (options == nullptr || !options->confidential) return std::nullopt;
  if (!pvss_) {
    // A confidential space restored from another replica's state by a replica without keys.
    return ts::Error{ts::ErrorCode::kUnsupported, "this replica has no PVSS keys"};
  }
  auto verified = verify_stored(*pvss_, space, client, tuple);
  if (!verified.ok()) {
    ++counters_.refused;
    return ts::Error{ts::ErrorCode::kInvalidArgument,
                     "not a valid sealed tuple for confidential space '" + space +
                         "': " + verified.error() + "; nothing was stored"};
  }
  ++counters_.verified;
  return std::nullopt;
}

}  // namespace bastion::confidentiality
