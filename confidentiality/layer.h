// The confidentiality layer of the server-side stack (tuplespace/layer.h), between the policy and
// the engine.
//
//   - space create with `confidential` is refused (unsupported) when the cluster has no PVSS keys,
//     and (invalid_argument) when the space's fingerprint key is not a valid group element;
//   - every tuple inserted into a confidential space (out, outAll, cas, replace) must be a sealed
//     tuple (envelope.h) sealed by the inserting principal, whose sharing verifies against the
//     cluster's PVSS keys: otherwise the request is refused (invalid_argument, with the reason)
//     and nothing is stored;
//   - a repair must carry evidence that shows the tuple invalid (check_repair) and name the
//     writer its envelope names; a false claim is refused (invalid_argument) and changes nothing.
// The check is deterministic (public keys and the request only), so every correct replica decides
// alike. Reads pass through: a replica adds its own opened share to a reply when it sends it,
// outside the replicated state.
//
// Thread-safety: none (see tuplespace/layer.h).
#pragma once

#include <cstdint>
#include <optional>

#include "confidentiality/pvss.h"
#include "tuplespace/layer.h"

namespace bastion::confidentiality {

class ConfidentialityLayer final : public ts::Layer {
 public:
  struct Counters {
    std::uint64_t verified = 0;       // sealed tuples whose sharing verified
    std::uint64_t refused = 0;        // sealed tuples refused (shape or sharing)
    std::uint64_t repairs = 0;        // repair claims whose evidence held
    std::uint64_t false_repairs = 0;  // repair claims refused
  };

  // `pvss`: the cluster's PVSS parameters; nullopt when the replicas have no PVSS keys.
  ConfidentialityLayer(const ts::Engine& engine, std::optional<Pvss> pvss, ts::Layer& next)
      : engine_(engine), pvss_(std::move(pvss)), next_(next) {}

  ts::Outcome execute(const ts::Context& ctx, const ts::Request& request) override;
  ts::Reply execute_read_only(const ts::Context& ctx, const ts::Request& request) override {
    return next_.execute_read_only(ctx, request);
  }

  const Counters& counters() const { return counters_; }

 private:
  // An error when `request` may not reach the engine.
  std::optional<ts::Error> check(const ts::Context& ctx, const ts::Request& request);
  std::optional<ts::Error> check_tuple(const std::string& client, const std::string& space,
                                       const ts::Tuple& tuple);
  std::optional<ts::Error> check_repair_claim(const ts::Repair& repair);

  const ts::Engine& engine_;
  std::optional<Pvss> pvss_;
  ts::Layer& next_;
  Counters counters_;
};

}  // namespace bastion::confidentiality
