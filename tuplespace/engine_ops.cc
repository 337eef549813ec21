// Engine: one handler per operation. The order of checks is part of the contract (clients and the
// reference model in the tests rely on it): space exists; arguments well-formed
// (invalid_argument); size limits (too_large); then the state (not_found, denied); then quotas
// (quota_exceeded). See docs/tuplespace.md.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "codec/codec.h"
#include "tuplespace/engine.h"

namespace bastion::ts {
namespace {

using detail::CompiledTemplate;
using detail::SlotId;
using MaybeError = std::optional<Error>;

std::string num(std::uint64_t n) { return std::to_string(n); }

Error invalid(std::string message) { return {ErrorCode::kInvalidArgument, std::move(message)}; }
Error too_large(std::string message) { return {ErrorCode::kTooLarge, std::move(message)}; }
Error quota(std::string message) { return {ErrorCode::kQuotaExceeded, std::move(message)}; }
Error no_space(const std::string& space) {
  return {ErrorCode::kNoSuchSpace, "no space named '" + space + "'"};
}
Error no_match(const std::string& space) {
  return {ErrorCode::kNotFound, "no tuple in space '" + space + "' matches the template"};
}
Error denied(const std::string& client) {
  return {ErrorCode::kDenied,
          "client '" + client + "' may not remove the oldest matching tuple it can read"};
}

MaybeError check_name(std::string_view what, const std::string& name) {
  if (name.empty()) return invalid(std::string(what) + " name is empty");
  if (name.size() > kNameBytesMax) {
    return invalid(std::string(what) + " name of " + num(name.size()) + " bytes exceeds " +
                   num(kNameBytesMax));
  }
  return std::nullopt;
}

MaybeError check_template(const SpaceOptions& o, const Template& tmpl) {
  if (tmpl.empty()) return invalid("template has no fields");
  if (!valid(tmpl)) return invalid("template has a non-finite float field");
  if (tmpl.size() > o.fields_max) {
    return too_large("template of " + num(tmpl.size()) + " fields exceeds the space limit of " +
                     num(o.fields_max));
  }
  // A template is never larger than the largest tuple it could match exactly.
  const std::size_t bytes = codec::encode(tmpl).size();
  if (bytes > o.tuple_bytes_max) {
    return too_large("template of " + num(bytes) + " bytes exceeds the space limit of " +
                     num(o.tuple_bytes_max));
  }
  return std::nullopt;
}

// A duration added to now must stay below kNever (which means "never"); 0 means "none".
bool fits_after(std::int64_t now, std::uint64_t duration_ms) {
  if (duration_ms == 0) return true;
  const std::int64_t room = kNever - 1 - now;
  return room >= 0 && duration_ms <= static_cast<std::uint64_t>(room);
}

MaybeError check_acl(std::string_view what, const std::vector<std::string>& names) {
  if (names.size() > kAclEntriesMax) {
    return invalid(std::string(what) + " list of " + num(names.size()) + " names exceeds " +
                   num(kAclEntriesMax));
  }
  for (const std::string& n : names) {
    if (auto e = check_name(what, n)) return e;
  }
  return std::nullopt;
}

MaybeError check_spec(const SpaceOptions& o, const TupleSpec& spec, std::int64_t now) {
  if (spec.tuple.empty()) return invalid("tuple has no fields");
  if (!valid(spec.tuple)) return invalid("tuple has a non-finite float field");
  if (auto e = check_acl("reader", spec.readers)) return e;
  if (auto e = check_acl("remover", spec.removers)) return e;
  if (!fits_after(now, spec.lease_ms)) {
    return invalid("lease of " + num(spec.lease_ms) + " ms is too long");
  }
  if (spec.tuple.size() > o.fields_max) {
    return too_large("tuple of " + num(spec.tuple.size()) + " fields exceeds the space limit of " +
                     num(o.fields_max));
  }
  const std::size_t bytes = encoded_size(spec.tuple);
  if (bytes > o.tuple_bytes_max) {
    return too_large("tuple of " + num(bytes) + " bytes exceeds the space limit of " +
                     num(o.tuple_bytes_max));
  }
  return std::nullopt;
}

bool may_remove(const detail::TupleStore::Slot& slot, std::string_view client) {
  return !slot.acl || slot.acl->may_remove(client);
}

bool visible(const detail::TupleStore::Slot& slot, std::int64_t now) {
  return slot.expiry_ms == kNever || now < slot.expiry_ms;
}

std::uint64_t tuples_of(const detail::UsageMap& usage, std::string_view client) {
  auto it = usage.find(client);
  return it != usage.end() ? it->second.tuples : 0;
}

}  // namespace

// ---- quotas -------------------------------------------------------------------------------------

namespace {

// Would `space_add` more tuples, `client_add` of them the client's, fit the space's quotas?
template <class SpaceT>
MaybeError check_quota(const SpaceT& s, std::string_view client, std::uint64_t space_add,
                       std::uint64_t client_add) {
  const std::uint64_t stored = s.store.size();
  if (stored + space_add > s.options.tuples_max) {
    return quota("space '" + s.name + "' holds " + num(stored) + " tuples; adding " +
                 num(space_add) + " exceeds its limit of " + num(s.options.tuples_max));
  }
  const std::uint64_t own = tuples_of(s.usage, client);
  if (own + client_add > s.options.tuples_per_client_max) {
    return quota("client '" + std::string(client) + "' holds " + num(own) + " tuples in space '" +
                 s.name + "'; adding " + num(client_add) + " exceeds the per-client limit of " +
                 num(s.options.tuples_per_client_max));
  }
  return std::nullopt;
}

}  // namespace

// ---- spaces -----------------------------------------------------------------------------------

Reply Engine::run(Call&, const SpaceCreate& op) {
  if (auto e = check_name("space", op.space)) return *e;
  SpaceOptions options = op.options;
  normalize(options.access);
  if (auto v = validate(options); !v) return v.error();
  if (find_space(op.space) != nullptr) {
    return Error{ErrorCode::kSpaceExists, "space '" + op.space + "' already exists"};
  }
  auto space = std::make_unique<Space>();
  space->name = op.space;
  space->options = std::move(options);
  spaces_.emplace(op.space, std::move(space));
  return Ack{};
}

Reply Engine::run(Call&, const SpaceSetPolicy& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  SpaceOptions options = s->options;
  options.policy = op.policy;
  if (auto v = validate(options); !v) return v.error();
  s->options.policy = op.policy;
  return Ack{};
}

Reply Engine::run(Call&, const SpaceSetAccess& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  const std::uint8_t all = kAccessInserters | kAccessReaders | kAccessRemovers;
  if (op.lists == 0 || (op.lists & ~all) != 0) {
    return invalid("set access names no list, or an unknown one (lists " + num(op.lists) + ")");
  }
  SpaceOptions options = s->options;
  SpaceAccess given = op.access;
  normalize(given);
  const std::pair<std::uint8_t, std::vector<std::string> SpaceAccess::*> lists[] = {
      {kAccessInserters, &SpaceAccess::inserters},
      {kAccessReaders, &SpaceAccess::readers},
      {kAccessRemovers, &SpaceAccess::removers}};
  for (const auto& [bit, list] : lists) {
    if ((op.lists & bit) != 0) {
      options.access.*list = std::move(given.*list);
    } else if (!(given.*list).empty()) {
      return invalid("set access gives a list it does not replace");
    }
  }
  if (auto v = validate(options); !v) return v.error();
  s->options = std::move(options);
  return Ack{};
}

Reply Engine::run(Call& call, const SpaceShow& op) { return show_space(call.now, op); }

Reply Engine::run(Call& call, const Repair& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (!s->options.confidential) return invalid("repair applies to confidential spaces only");
  if (auto e = check_name("writer", op.writer)) return *e;
  const Template exact(op.tuple.begin(), op.tuple.end());
  if (auto e = check_template(s->options, exact)) return *e;
  if (const auto id = first_readable(*s, CompiledTemplate(exact), call.ctx.client, call.now)) {
    remove_tuple(*s, *id);
  }
  if (s->blacklist.size() < kBlacklistMax) s->blacklist.insert(op.writer);
  return Ack{};
}

Reply Engine::show_space(std::int64_t now, const SpaceShow& op) const {
  const Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  return Spaces{{SpaceInfo{s->name, s->options, visible_count(*s, now), s->options.policy.size()}}};
}

std::uint64_t Engine::visible_count(const Space& s, std::int64_t now) const {
  // Tuples already expired but not yet purged (read-only execution) do not count.
  std::uint64_t due = 0;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->expiry_ms <= now; ++it) {
    due += it->space == &s ? 1 : 0;
  }
  return s.store.size() - due;
}

Reply Engine::run(Call& call, const SpaceDelete& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  delete_space(*s, call.completions);
  return Ack{};
}

Reply Engine::run(Call& call, const SpaceList&) { return list_spaces(call.now); }

Reply Engine::list_spaces(std::int64_t now) const {
  Spaces reply;
  for (const auto& [name, s] : spaces_) {
    SpaceInfo info{name, s->options, visible_count(*s, now), s->options.policy.size()};
    info.options.policy.clear();  // scripts can be large: space show gives one
    reply.spaces.push_back(std::move(info));
  }
  return reply;
}

// ---- insertions -------------------------------------------------------------------------------

Reply Engine::run(Call& call, const Out& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_spec(s->options, op.entry, call.now)) return *e;
  if (auto e = check_quota(*s, call.ctx.client, 1, 1)) return *e;
  if (auto e = check_bytes(call.ctx.client, charge_of(op.entry))) return *e;
  insert(*s, call.ctx.client, call.now, op.entry, call.completions);
  return Ack{};
}

Reply Engine::run(Call& call, const OutAll& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  for (std::size_t i = 0; i < op.entries.size(); ++i) {
    if (auto e = check_spec(s->options, op.entries[i], call.now)) {
      e->message = "entry " + num(i) + ": " + e->message;
      return *e;
    }
  }
  // All or nothing: the quotas are checked for every tuple before the first is inserted, even
  // though waiting in requests might take some of them.
  const std::uint64_t n = op.entries.size();
  if (auto e = check_quota(*s, call.ctx.client, n, n)) return *e;
  std::uint64_t bytes = 0;
  for (const TupleSpec& spec : op.entries) bytes += charge_of(spec);
  if (auto e = check_bytes(call.ctx.client, bytes)) return *e;
  for (const TupleSpec& spec : op.entries) {
    insert(*s, call.ctx.client, call.now, spec, call.completions);
  }
  return Ack{};
}

Reply Engine::run(Call& call, const Cas& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  if (auto e = check_spec(s->options, op.entry, call.now)) return *e;
  const CompiledTemplate t(op.tmpl);
  if (auto id = first_readable(*s, t, call.ctx.client, call.now)) {
    return CasResult{false, detail::decode_stored(s->store.at(*id).encoding())};
  }
  if (auto e = check_quota(*s, call.ctx.client, 1, 1)) return *e;
  if (auto e = check_bytes(call.ctx.client, charge_of(op.entry))) return *e;
  insert(*s, call.ctx.client, call.now, op.entry, call.completions);
  return CasResult{true, {}};
}

Reply Engine::run(Call& call, const Replace& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  if (auto e = check_spec(s->options, op.entry, call.now)) return *e;
  const CompiledTemplate t(op.tmpl);
  const auto id = first_readable(*s, t, call.ctx.client, call.now);
  if (!id) return no_match(op.space);
  const auto& slot = s->store.at(*id);
  if (!may_remove(slot, call.ctx.client)) return denied(call.ctx.client);
  // The space's count does not change; the client's does unless it owned the removed tuple.
  const std::uint64_t freed = slot.owner->first == call.ctx.client ? 1 : 0;
  const std::uint64_t own = tuples_of(s->usage, call.ctx.client) - freed;
  if (own + 1 > s->options.tuples_per_client_max) {
    return quota("client '" + call.ctx.client + "' holds " + num(own) + " tuples in space '" +
                 s->name + "'; adding 1 exceeds the per-client limit of " +
                 num(s->options.tuples_per_client_max));
  }
  // The removed tuple's charge is credited to its owner first.
  const std::uint64_t credit = freed == 1 ? charge_of(slot) : 0;
  const std::uint64_t debit = charge_of(op.entry);
  if (debit > credit) {
    if (auto e = check_bytes(call.ctx.client, debit - credit)) return *e;
  }
  Tuple removed = detail::decode_stored(slot.encoding());
  remove_tuple(*s, *id);
  insert(*s, call.ctx.client, call.now, op.entry, call.completions);
  return Found{std::move(removed)};
}

// ---- single reads and removals -----------------------------------------------------------------

Reply Engine::run(Call& call, const Rdp& op) { return read_one(call.ctx, call.now, op); }

Reply Engine::read_one(const Context& ctx, std::int64_t now, const Rdp& op) const {
  const Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  const auto id = first_readable(*s, CompiledTemplate(op.tmpl), ctx.client, now);
  if (!id) return no_match(op.space);
  return Found{detail::decode_stored(s->store.at(*id).encoding())};
}

Reply Engine::run(Call& call, const Inp& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  const auto id = first_readable(*s, CompiledTemplate(op.tmpl), call.ctx.client, call.now);
  if (!id) return no_match(op.space);
  if (!may_remove(s->store.at(*id), call.ctx.client)) return denied(call.ctx.client);
  Tuple t = detail::decode_stored(s->store.at(*id).encoding());
  remove_tuple(*s, *id);
  return Found{std::move(t)};
}

Reply Engine::run(Call& call, const Rd& op) {
  return wait_or_take(call, op.space, op.tmpl, op.timeout_ms, false);
}

Reply Engine::run(Call& call, const In& op) {
  return wait_or_take(call, op.space, op.tmpl, op.timeout_ms, true);
}

Reply Engine::wait_or_take(Call& call, const std::string& space, const Template& tmpl,
                           std::uint64_t timeout_ms, bool removes) {
  Space* s = find_space(space);
  if (s == nullptr) return no_space(space);
  if (auto e = check_template(s->options, tmpl)) return *e;
  if (!fits_after(call.now, timeout_ms)) {
    return invalid("timeout of " + num(timeout_ms) + " ms is too long");
  }
  CompiledTemplate t(tmpl);
  if (const auto id = first_readable(*s, t, call.ctx.client, call.now)) {
    if (!removes) return Found{detail::decode_stored(s->store.at(*id).encoding())};
    if (!may_remove(s->store.at(*id), call.ctx.client)) return denied(call.ctx.client);
    Tuple found = detail::decode_stored(s->store.at(*id).encoding());
    remove_tuple(*s, *id);
    return Found{std::move(found)};
  }
  if (waiters_by_key_.contains(call.ctx.key())) {
    return invalid("request " + num(call.ctx.request) + " of this session is already waiting");
  }
  auto usage = s->usage.find(call.ctx.client);
  const std::uint32_t waiting = usage != s->usage.end() ? usage->second.waiters : 0;
  if (waiting >= s->options.waiters_per_client_max) {
    return quota("client '" + call.ctx.client + "' has " + num(waiting) +
                 " waiting requests in space '" + s->name + "'; the limit is " +
                 num(s->options.waiters_per_client_max));
  }
  if (auto e = check_bytes(call.ctx.client, codec::encode(tmpl).size() + kEntryOverheadBytes)) {
    return *e;
  }
  Waiter w;
  w.arrival = next_arrival_++;
  w.key = call.ctx.key();
  w.removes = removes;
  w.tmpl = tmpl;
  w.compiled = std::move(t);
  w.deadline_ms = timeout_ms == 0 ? kNever : call.now + static_cast<std::int64_t>(timeout_ms);
  add_waiter(*s, std::move(w));
  return Pending{};
}

Reply Engine::run(Call& call, const Renew& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  if (op.lease_ms == 0) return invalid("a renewed lease must be at least 1 ms");
  if (!fits_after(call.now, op.lease_ms)) {
    return invalid("lease of " + num(op.lease_ms) + " ms is too long");
  }
  const auto id = first_readable(*s, CompiledTemplate(op.tmpl), call.ctx.client, call.now, true);
  if (!id) {
    return Error{ErrorCode::kNotFound,
                 "no tuple with a lease in space '" + op.space + "' matches the template"};
  }
  if (!may_remove(s->store.at(*id), call.ctx.client)) return denied(call.ctx.client);
  set_expiry(*s, *id, call.now + static_cast<std::int64_t>(op.lease_ms));
  return Found{detail::decode_stored(s->store.at(*id).encoding())};
}

// ---- bulk reads and removals -------------------------------------------------------------------

Reply Engine::run(Call& call, const RdAll& op) { return read_all(call.ctx, call.now, op); }

Reply Engine::read_all(const Context& ctx, std::int64_t now, const RdAll& op) const {
  const Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  const CompiledTemplate t(op.tmpl);
  FoundAll reply;
  s->store.scan(t, [&](SlotId, const detail::TupleStore::Slot& slot) {
    if (!visible(slot, now) || (slot.acl && !slot.acl->may_read(ctx.client)) ||
        !t.matches(slot.encoding())) {
      return true;
    }
    reply.tuples.push_back(detail::decode_stored(slot.encoding()));
    return op.max == 0 || reply.tuples.size() < op.max;
  });
  return reply;
}

Reply Engine::run(Call& call, const InAll& op) {
  Space* s = find_space(op.space);
  if (s == nullptr) return no_space(op.space);
  if (auto e = check_template(s->options, op.tmpl)) return *e;
  const CompiledTemplate t(op.tmpl);
  const std::string& client = call.ctx.client;
  std::vector<SlotId> taken;
  s->store.scan(t, [&](SlotId id, const detail::TupleStore::Slot& slot) {
    // Readable matches the client may not remove are skipped, not an error.
    if (!visible(slot, call.now) || (slot.acl && !slot.acl->may_read(client)) ||
        !may_remove(slot, client) || !t.matches(slot.encoding())) {
      return true;
    }
    taken.push_back(id);
    return op.max == 0 || taken.size() < op.max;
  });
  FoundAll reply;
  reply.tuples.reserve(taken.size());
  for (SlotId id : taken) {
    reply.tuples.push_back(detail::decode_stored(s->store.at(id).encoding()));
    remove_tuple(*s, id);
  }
  return reply;
}

// ---- cancellation ------------------------------------------------------------------------------

Reply Engine::run(Call& call, const Cancel& op) {
  auto it = waiters_by_key_.find(WaiterKey{call.ctx.client, call.ctx.session, op.request});
  if (it == waiters_by_key_.end()) {
    return Error{ErrorCode::kNotFound,
                 "no waiting request " + num(op.request) + " in this session"};
  }
  const WaiterRef ref = it->second;
  finish_waiter(*ref.space, ref.arrival,
                make_error(ErrorCode::kCancelled, "cancelled by the client"), call.completions);
  return Ack{};
}

}  // namespace bastion::ts
