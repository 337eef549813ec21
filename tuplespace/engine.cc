// Engine: time, waiters, and the state primitives the operation handlers are built from.
// Every primitive keeps the indexes in step: expiries_ holds exactly the stored tuples with a
// lease, deadlines_ exactly the waiters with a timeout, waiters_by_key_ exactly the waiters, and
// each space's usage map exactly the clients with stored tuples or waiters there.
#include "tuplespace/engine.h"

#include <algorithm>
#include <utility>

#include "codec/check.h"
#include "codec/codec.h"

namespace bastion::ts {

using detail::SlotId;

namespace {

// What a tuple is charged (EngineLimits): its encoding, its access lists' names, and the fixed
// overhead of an entry.
std::uint64_t tuple_charge(std::size_t encoded_bytes, const std::vector<std::string>& readers,
                           const std::vector<std::string>& removers) {
  std::uint64_t bytes = encoded_bytes + kEntryOverheadBytes;
  for (const auto* list : {&readers, &removers}) {
    for (const std::string& name : *list) bytes += name.size();
  }
  return bytes;
}

std::uint64_t tuple_charge(std::size_t encoded_bytes, const detail::Acl* acl) {
  static const std::vector<std::string> kNone;
  return acl == nullptr ? tuple_charge(encoded_bytes, kNone, kNone)
                        : tuple_charge(encoded_bytes, acl->readers, acl->removers);
}

}  // namespace

std::uint64_t Engine::charge_of(const detail::TupleStore::Slot& slot) {
  return tuple_charge(slot.encoded_bytes, slot.acl.get());
}

std::uint64_t Engine::charge_of(const TupleSpec& spec) {
  return tuple_charge(encoded_size(spec.tuple), spec.readers, spec.removers);
}

Engine::Engine() = default;
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

Outcome Engine::execute(const Context& ctx, const Request& request) {
  Outcome outcome;
  outcome.completions = advance(ctx.now_ms);
  Call call{ctx, now_ms_, outcome.completions};
  if (auto refused = refuse_blacklisted(ctx, request)) {
    outcome.reply = std::move(*refused);
    return outcome;
  }
  outcome.reply = std::visit([&](const auto& op) { return run(call, op); }, request);
  return outcome;
}

Outcome Engine::execute_read_only(const Context& ctx, const Request& request) const {
  BASTION_CHECK(read_only(request));
  const std::int64_t now = std::max(ctx.now_ms, now_ms_);
  Outcome outcome;
  if (auto refused = refuse_blacklisted(ctx, request)) {
    outcome.reply = std::move(*refused);
  } else if (const auto* rdp = std::get_if<Rdp>(&request)) {
    outcome.reply = read_one(ctx, now, *rdp);
  } else if (const auto* rd_all = std::get_if<RdAll>(&request)) {
    outcome.reply = read_all(ctx, now, *rd_all);
  } else if (const auto* show = std::get_if<SpaceShow>(&request)) {
    outcome.reply = show_space(now, *show);
  } else {
    outcome.reply = list_spaces(now);
  }
  return outcome;
}

std::vector<Completion> Engine::advance(std::int64_t now_ms) {
  std::vector<Completion> out;
  now_ms_ = std::max(now_ms_, now_ms);
  while (!expiries_.empty() && expiries_.begin()->expiry_ms <= now_ms_) {
    const ExpiryEntry e = *expiries_.begin();
    remove_tuple(*e.space, e.slot);  // also erases the entry
  }
  while (!deadlines_.empty() && deadlines_.begin()->deadline_ms <= now_ms_) {
    const DeadlineEntry d = *deadlines_.begin();
    finish_waiter(*d.space, d.arrival,
                  make_error(ErrorCode::kTimedOut,
                             "no matching tuple appeared before the timeout (deadline " +
                                 std::to_string(d.deadline_ms) + " ms)"),
                  out);
  }
  return out;
}

std::vector<Completion> Engine::cancel_session(std::string_view client, std::uint64_t session) {
  std::vector<WaiterRef> refs;
  for (auto it = waiters_by_key_.lower_bound(WaiterKey{std::string(client), session, 0});
       it != waiters_by_key_.end() && it->first.client == client && it->first.session == session;
       ++it) {
    refs.push_back(it->second);
  }
  std::sort(refs.begin(), refs.end(),
            [](const WaiterRef& a, const WaiterRef& b) { return a.arrival < b.arrival; });
  std::vector<Completion> out;
  for (const WaiterRef& r : refs) {
    finish_waiter(*r.space, r.arrival,
                  make_error(ErrorCode::kCancelled, "the client's session was closed"), out);
  }
  return out;
}

std::optional<std::int64_t> Engine::next_deadline() const {
  std::optional<std::int64_t> next;
  if (!expiries_.empty()) next = expiries_.begin()->expiry_ms;
  if (!deadlines_.empty()) {
    const std::int64_t d = deadlines_.begin()->deadline_ms;
    next = next ? std::min(*next, d) : d;
  }
  return next;
}

bool Engine::blacklisted(std::string_view space, std::string_view client) const {
  const Space* s = find_space(space);
  return s != nullptr && s->blacklist.contains(client);
}

std::optional<Error> Engine::refuse_blacklisted(const Context& ctx, const Request& request) const {
  if (!is_tuple_op(request) && !std::holds_alternative<Repair>(request)) return std::nullopt;
  const std::string_view space = space_of(request);
  if (!blacklisted(space, ctx.client)) return std::nullopt;
  return Error{ErrorCode::kDenied, "client '" + ctx.client + "' is denied in space '" +
                                       std::string(space) +
                                       "': a repair showed that it inserted an invalid tuple"};
}

const SpaceOptions* Engine::space_options(std::string_view space) const {
  const Space* s = find_space(space);
  return s != nullptr ? &s->options : nullptr;
}

bool Engine::has_confidential_spaces() const {
  return std::any_of(spaces_.begin(), spaces_.end(),
                     [](const auto& entry) { return entry.second->options.confidential; });
}

std::size_t Engine::tuple_count(std::string_view space) const {
  const Space* s = find_space(space);
  return s != nullptr ? s->store.size() : 0;
}

std::size_t Engine::waiter_count(std::string_view space) const {
  const Space* s = find_space(space);
  return s != nullptr ? s->waiters.size() : 0;
}

Engine::Probe Engine::probe(std::string_view space, const Template& tmpl, std::int64_t now,
                            std::uint64_t match_max, std::uint64_t examine_max,
                            bool want_first) const {
  Probe result;
  const Space* s = find_space(space);
  if (s == nullptr || match_max == 0) return result;
  const detail::CompiledTemplate t(tmpl);
  s->store.scan(t, [&](SlotId, const detail::TupleStore::Slot& slot) {
    if (result.examined == examine_max) {
      result.complete = false;
      return false;
    }
    ++result.examined;
    if (slot.expiry_ms != kNever && slot.expiry_ms <= now) return true;
    if (!t.matches(slot.encoding())) return true;
    if (++result.matches == 1 && want_first) {
      result.first = detail::decode_stored(slot.encoding());
    }
    return result.matches < match_max;
  });
  return result;
}

// ---- state primitives ------------------------------------------------------------------------

Engine::Space* Engine::find_space(std::string_view name) {
  auto it = spaces_.find(name);
  return it != spaces_.end() ? it->second.get() : nullptr;
}

const Engine::Space* Engine::find_space(std::string_view name) const {
  auto it = spaces_.find(name);
  return it != spaces_.end() ? it->second.get() : nullptr;
}

std::optional<SlotId> Engine::first_readable(const Space& s, const detail::CompiledTemplate& t,
                                             std::string_view client, std::int64_t now,
                                             bool timed_only) const {
  std::optional<SlotId> found;
  s.store.scan(t, [&](SlotId id, const detail::TupleStore::Slot& slot) {
    // Expired but not yet purged happens in read-only execution.
    if (slot.expiry_ms != kNever && slot.expiry_ms <= now) return true;
    if (timed_only && slot.expiry_ms == kNever) return true;
    if (slot.acl && !slot.acl->may_read(client)) return true;
    if (!t.matches(slot.encoding())) return true;
    found = id;
    return false;
  });
  return found;
}

bool Engine::offer_to_waiters(Space& s, const Tuple& tuple, codec::ByteView encoding,
                              const detail::Acl* acl, std::vector<Completion>& out) {
  // Every waiting rd that may read the tuple sees it first; then the oldest waiting in that may
  // take it does (docs/tuplespace.md, "Woken by an insertion").
  std::vector<std::uint64_t> readers;
  std::optional<std::uint64_t> taker;
  for (const auto& [arrival, w] : s.waiters) {
    if (!w.compiled.matches(encoding)) continue;
    if (acl != nullptr && !acl->may_read(w.key.client)) continue;
    if (!w.removes) {
      readers.push_back(arrival);
    } else if (!taker && (acl == nullptr || acl->may_remove(w.key.client))) {
      taker = arrival;
    }
  }
  for (std::uint64_t arrival : readers) finish_waiter(s, arrival, Found{tuple}, out);
  if (taker) finish_waiter(s, *taker, Found{tuple}, out);
  return taker.has_value();
}

void Engine::insert(Space& s, std::string_view client, std::int64_t now, const TupleSpec& spec,
                    std::vector<Completion>& out) {
  std::unique_ptr<detail::Acl> acl;
  if (!spec.readers.empty() || !spec.removers.empty()) {
    acl = std::make_unique<detail::Acl>();
    acl->readers = spec.readers;
    acl->removers = spec.removers;
    for (auto* list : {&acl->readers, &acl->removers}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
  }
  const codec::Bytes encoding = codec::encode(spec.tuple);
  if (offer_to_waiters(s, spec.tuple, encoding, acl.get(), out)) return;
  const std::int64_t expiry =
      spec.lease_ms == 0 ? kNever : now + static_cast<std::int64_t>(spec.lease_ms);
  store_tuple(s, next_seq_++, encoding, expiry, client, std::move(acl));
}

SlotId Engine::store_tuple(Space& s, std::uint64_t seq, codec::ByteView encoding,
                           std::int64_t expiry_ms, std::string_view owner,
                           std::unique_ptr<detail::Acl> acl) {
  charge(owner, tuple_charge(encoding.size(), acl.get()));
  page_changed(s, seq);
  const SlotId id = s.store.insert(seq, encoding);
  detail::TupleStore::Slot& slot = s.store.at(id);
  slot.expiry_ms = expiry_ms;
  slot.acl = std::move(acl);
  slot.owner = acquire(s, owner);
  ++slot.owner->second.tuples;
  if (expiry_ms != kNever) expiries_.insert({expiry_ms, seq, &s, id});
  return id;
}

void Engine::remove_tuple(Space& s, SlotId id) {
  detail::TupleStore::Slot& slot = s.store.at(id);
  page_changed(s, slot.seq);
  if (slot.expiry_ms != kNever) expiries_.erase({slot.expiry_ms, slot.seq, &s, id});
  detail::Owner* owner = slot.owner;
  uncharge(owner->first, charge_of(slot));
  --owner->second.tuples;
  s.store.erase(id);
  release(s, owner);
}

void Engine::set_expiry(Space& s, SlotId id, std::int64_t expiry_ms) {
  detail::TupleStore::Slot& slot = s.store.at(id);
  page_changed(s, slot.seq);
  if (slot.expiry_ms != kNever) expiries_.erase({slot.expiry_ms, slot.seq, &s, id});
  slot.expiry_ms = expiry_ms;
  if (expiry_ms != kNever) expiries_.insert({expiry_ms, slot.seq, &s, id});
}

void Engine::page_changed(Space& s, std::uint64_t seq) {
  auto it = s.pages.upper_bound(seq);
  if (it == s.pages.begin()) return;
  --it;  // the last page that starts at or before seq
  if (seq <= it->second.last_seq) {
    // A page that ended for size before this one's first tuple depends on that tuple too.
    if (seq == it->first && it != s.pages.begin() && !std::prev(it)->second.boundary) {
      s.pages.erase(std::prev(it));
    }
    s.pages.erase(it);
  } else if (!it->second.boundary) {
    s.pages.erase(it);  // seq is (or was) the tuple after it, or a new one past the space's end
  }
}

void Engine::add_waiter(Space& s, Waiter waiter) {
  const std::uint64_t arrival = waiter.arrival;
  waiters_by_key_.emplace(waiter.key, WaiterRef{&s, arrival});
  if (waiter.deadline_ms != kNever) deadlines_.insert({waiter.deadline_ms, arrival, &s});
  ++acquire(s, waiter.key.client)->second.waiters;
  waiter.charge = codec::encode(waiter.tmpl).size() + kEntryOverheadBytes;
  charge(waiter.key.client, waiter.charge);
  s.waiters.emplace(arrival, std::move(waiter));
}

void Engine::finish_waiter(Space& s, std::uint64_t arrival, Reply reply,
                           std::vector<Completion>& out) {
  auto it = s.waiters.find(arrival);
  BASTION_CHECK(it != s.waiters.end());
  Waiter& w = it->second;
  if (w.deadline_ms != kNever) deadlines_.erase({w.deadline_ms, arrival, &s});
  waiters_by_key_.erase(w.key);
  uncharge(w.key.client, w.charge);
  detail::Owner* owner = acquire(s, w.key.client);
  --owner->second.waiters;
  release(s, owner);
  out.push_back(Completion{std::move(w.key), std::move(reply), s.name});
  s.waiters.erase(it);
}

void Engine::delete_space(Space& s, std::vector<Completion>& out) {
  while (!s.waiters.empty()) {
    finish_waiter(s, s.waiters.begin()->first,
                  make_error(ErrorCode::kNoSuchSpace, "space '" + s.name + "' was deleted"), out);
  }
  for (SlotId id : s.store.slots_by_seq()) {
    const auto& slot = s.store.at(id);
    if (slot.expiry_ms != kNever) expiries_.erase({slot.expiry_ms, slot.seq, &s, id});
    uncharge(slot.owner->first, charge_of(slot));
  }
  const std::string name = s.name;
  spaces_.erase(name);  // destroys s
}

std::uint64_t Engine::bytes_of(std::string_view principal) const {
  auto it = bytes_by_principal_.find(principal);
  return it != bytes_by_principal_.end() ? it->second : 0;
}

std::optional<Error> Engine::check_bytes(std::string_view client, std::uint64_t bytes) const {
  const std::uint64_t own = bytes_of(client);
  if (own + bytes > limits_.bytes_per_principal_max) {
    return make_error(ErrorCode::kQuotaExceeded,
                      "client '" + std::string(client) + "' holds " + std::to_string(own) +
                          " bytes of tuples and waiting requests; adding " + std::to_string(bytes) +
                          " exceeds the per-client limit of " +
                          std::to_string(limits_.bytes_per_principal_max));
  }
  if (state_bytes_ + bytes > limits_.state_bytes_max) {
    return make_error(ErrorCode::kQuotaExceeded,
                      "the tuple space holds " + std::to_string(state_bytes_) + " bytes; adding " +
                          std::to_string(bytes) + " exceeds its limit of " +
                          std::to_string(limits_.state_bytes_max));
  }
  return std::nullopt;
}

void Engine::charge(std::string_view client, std::uint64_t bytes) {
  auto it = bytes_by_principal_.find(client);
  if (it == bytes_by_principal_.end())
    it = bytes_by_principal_.emplace(std::string(client), 0).first;
  it->second += bytes;
  state_bytes_ += bytes;
}

void Engine::uncharge(std::string_view client, std::uint64_t bytes) {
  auto it = bytes_by_principal_.find(client);
  BASTION_CHECK(it != bytes_by_principal_.end() && it->second >= bytes);
  it->second -= bytes;
  if (it->second == 0) bytes_by_principal_.erase(it);
  state_bytes_ -= bytes;
}

detail::Owner* Engine::acquire(Space& s, std::string_view client) {
  auto it = s.usage.find(client);
  if (it == s.usage.end()) it = s.usage.emplace(std::string(client), detail::Usage{}).first;
  return &*it;
}

void Engine::release(Space& s, detail::Owner* owner) {
  if (owner->second.tuples == 0 && owner->second.waiters == 0) {
    s.usage.erase(s.usage.find(owner->first));
  }
}

}  // namespace bastion::ts
