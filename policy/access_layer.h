// The first layer of the stack (tuplespace/layer.h): who may do what.
//
//   - Space administration (create, delete, set-policy, set-access) is reserved to the cluster's
//     admins. Access lists given at create or set-access may name groups ("@ops") only if the
//     cluster file defines them.
//   - A tuple operation needs the rights the space's access lists (ts::SpaceAccess) give its
//     caller: out and outAll insert; rdp, rd, rdAll read; inp, in, inAll read and remove; cas
//     reads and inserts; replace reads, removes and inserts; renew reads and removes.
// A refusal is `denied` with a message that names the rule. Per-tuple access lists stay the
// engine's business.
//
// Thread-safety: none (see tuplespace/layer.h).
#pragma once

#include <optional>

#include "policy/principals.h"
#include "tuplespace/layer.h"

namespace bastion::policy {

class AccessLayer final : public ts::Layer {
 public:
  AccessLayer(const ts::Engine& engine, const Principals& principals, ts::Layer& next)
      : engine_(engine), principals_(principals), next_(next) {}

  ts::Outcome execute(const ts::Context& ctx, const ts::Request& request) override;
  ts::Reply execute_read_only(const ts::Context& ctx, const ts::Request& request) override;

 private:
  std::optional<ts::Error> refuse(const ts::Context& ctx, const ts::Request& request) const;
  std::optional<ts::Error> check_groups(const ts::SpaceAccess& access) const;

  const ts::Engine& engine_;
  const Principals& principals_;
  ts::Layer& next_;
};

}  // namespace bastion::policy
