// Policy scripts in the request path; see policy_layer.h.
#include "policy/policy_layer.h"

#include <algorithm>
#include <utility>

namespace bastion::policy {
namespace {

// The script a create or set-policy request installs, if any.
const std::string* installed_text(const ts::Request& request) {
  if (const auto* create = std::get_if<ts::SpaceCreate>(&request)) return &create->options.policy;
  if (const auto* set = std::get_if<ts::SpaceSetPolicy>(&request)) return &set->policy;
  return nullptr;
}

}  // namespace

PolicyLayer::Cached PolicyLayer::compile(const std::string& text) {
  ++counters_.compiled;
  Cached entry;
  entry.text = text;
  auto script = Script::compile(text, limits_);
  if (script) {
    entry.script = std::move(*script);
  } else {
    entry.error = std::move(script).error();
  }
  return entry;
}

PolicyLayer::Cached& PolicyLayer::remember(std::string_view space, Cached entry) {
  entry.last_use = ++uses_;
  auto it = cache_.find(space);
  if (it != cache_.end()) return it->second = std::move(entry);
  if (cache_.size() >= scripts_cached_max_) {
    cache_.erase(std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    }));
  }
  return cache_.emplace(std::string(space), std::move(entry)).first->second;
}

PolicyLayer::Cached& PolicyLayer::cached(std::string_view space, const std::string& text) {
  auto it = cache_.find(space);
  if (it == cache_.end() || it->second.text != text) return remember(space, compile(text));
  it->second.last_use = ++uses_;
  return it->second;
}

std::optional<ts::Error> PolicyLayer::decide(const ts::Context& ctx, const ts::Request& request) {
  if (!governed(request)) return std::nullopt;
  const std::string_view space = ts::space_of(request);
  const ts::SpaceOptions* options = engine_.space_options(space);
  if (options == nullptr || options->policy.empty()) return std::nullopt;
  auto quoted = [&] { return "space '" + std::string(space) + "'"; };
  Cached& entry = cached(space, options->policy);
  if (!entry.script) {
    ++counters_.failed;
    return ts::Error{ts::ErrorCode::kDenied,
                     "the policy of " + quoted() + " does not load, so it denies: " + entry.error};
  }
  const std::int64_t now = std::max(ctx.now_ms, engine_.now_ms());
  const EngineSpace view(engine_, space, now);
  const Decision d = entry.script->evaluate(
      Invocation{space, ctx.client, &principals_.groups_of(ctx.client), now, &request}, view);
  if (d.allowed) {
    ++counters_.allowed;
    return std::nullopt;
  }
  if (d.failed) {
    ++counters_.failed;
    return ts::Error{ts::ErrorCode::kDenied,
                     "the policy of " + quoted() + " failed, so it denies: " + d.reason};
  }
  ++counters_.denied;
  return ts::Error{ts::ErrorCode::kDenied, "denied by the policy of " + quoted() + ": " + d.reason};
}

ts::Outcome PolicyLayer::execute(const ts::Context& ctx, const ts::Request& request) {
  if (const std::string* text = installed_text(request); text != nullptr && !text->empty()) {
    Cached entry = compile(*text);
    if (!entry.script) {
      return ts::Outcome{
          ts::Error{ts::ErrorCode::kInvalidArgument, "the policy does not compile: " + entry.error},
          {}};
    }
    ts::Outcome outcome = next_.execute(ctx, request);
    if (ts::code_of(outcome.reply) == ts::ErrorCode::kOk) {
      remember(ts::space_of(request), std::move(entry));
    }
    return outcome;
  }
  if (auto refused = decide(ctx, request)) return ts::Outcome{std::move(*refused), {}};
  ts::Outcome outcome = next_.execute(ctx, request);
  // A deleted space, or a policy removed (set-policy with no text): its script goes.
  const bool drops = std::holds_alternative<ts::SpaceDelete>(request) ||
                     std::holds_alternative<ts::SpaceSetPolicy>(request);
  if (drops && ts::code_of(outcome.reply) == ts::ErrorCode::kOk) {
    if (auto it = cache_.find(ts::space_of(request)); it != cache_.end()) cache_.erase(it);
  }
  return outcome;
}

ts::Reply PolicyLayer::execute_read_only(const ts::Context& ctx, const ts::Request& request) {
  if (auto refused = decide(ctx, request)) return std::move(*refused);
  return next_.execute_read_only(ctx, request);
}

}  // namespace bastion::policy
