// The server-side stack a tuple-space request goes through: access control, the space's policy,
// (later confidentiality), the engine. Each is a Layer that answers a request itself (a refusal)
// or hands it to the next one down; the engine is the bottom. DepSpace stacks its server layers
// the same way.
//
// execute() runs an ordered request at ctx.now_ms. execute_read_only() runs a read-only request
// (read_only(request)) on the current state, through the same checks, so that its answer is the
// one ordered execution would give at that time. A waiting rd/in is decided when it is executed;
// its later wake-up (an Outcome::completion) passes no layer and is not decided again.
//
// Thread-safety: none; the layers belong to the thread that owns the engine.
#pragma once

#include "tuplespace/engine.h"
#include "tuplespace/ops.h"

namespace bastion::ts {

class Layer {
 public:
  virtual ~Layer() = default;
  virtual Outcome execute(const Context& ctx, const Request& request) = 0;
  virtual Reply execute_read_only(const Context& ctx, const Request& request) = 0;
};

// The bottom of the stack.
class EngineLayer final : public Layer {
 public:
  explicit EngineLayer(Engine& engine) : engine_(engine) {}
  Outcome execute(const Context& ctx, const Request& request) override {
    return engine_.execute(ctx, request);
  }
  Reply execute_read_only(const Context& ctx, const Request& request) override {
    return engine_.execute_read_only(ctx, request).reply;
  }

 private:
  Engine& engine_;
};

}  // namespace bastion::ts
