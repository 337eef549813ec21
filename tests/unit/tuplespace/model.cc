// The naive reference model (see model.h): vectors and linear scans, written from the spec.
#include "tests/unit/tuplespace/model.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>
#include <variant>

namespace bastion::ts::testing {
namespace {

constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

Error err(ErrorCode code) { return Error{code, {}}; }  // messages are not compared

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool good_name(const std::string& name) { return !name.empty() && name.size() <= 255; }

// now + duration must stay strictly below the largest time value (which means "never").
bool fits(std::int64_t now, std::uint64_t duration) {
  if (duration == 0) return true;
  return duration < static_cast<std::uint64_t>(kMaxTime - now);
}

// An access list once sorted and deduplicated: at most 64 names of 1..255 bytes.
bool good_list(const std::vector<std::string>& list) {
  std::set<std::string> unique(list.begin(), list.end());
  return unique.size() <= 64 && std::all_of(unique.begin(), unique.end(), [](const auto& n) {
           return !n.empty() && n.size() <= 255;
         });
}

std::vector<std::string> canonical(const std::vector<std::string>& list) {
  std::set<std::string> unique(list.begin(), list.end());
  return {unique.begin(), unique.end()};
}

// Protection and a 32-byte fingerprint key for a confidential space, neither for another.
bool good_confidential(const SpaceOptions& o) {
  if (!o.confidential) return o.protection.empty() && o.fingerprint_key.empty();
  if (o.protection.empty() || o.protection.size() > 256 || o.fingerprint_key.size() != 32) {
    return false;
  }
  return std::all_of(o.protection.begin(), o.protection.end(),
                     [](std::uint8_t p) { return p <= 2; });
}

bool good_options(const SpaceOptions& o) {
  return o.tuple_bytes_max >= 1 && o.tuple_bytes_max <= (16u << 20) && o.fields_max >= 1 &&
         o.fields_max <= 256 && o.tuples_max >= 1 && o.tuples_max <= 0xFFFFFFFEull &&
         o.tuples_per_client_max >= 1 && o.tuples_per_client_max <= 0xFFFFFFFEull &&
         o.waiters_per_client_max <= (1u << 20) && o.policy.size() <= 256 * 1024 &&
         good_list(o.access.inserters) && good_list(o.access.readers) &&
         good_list(o.access.removers) && good_confidential(o);
}

std::optional<ErrorCode> template_problem(const SpaceOptions& o, const Template& t) {
  if (t.empty()) return ErrorCode::kInvalidArgument;
  for (const Pattern& p : t) {
    if (p.is_value() && !p.value().valid()) return ErrorCode::kInvalidArgument;
  }
  if (t.size() > o.fields_max) return ErrorCode::kTooLarge;
  // The template's encoding: the field count (LEB128), then per field a value's own encoding,
  // one byte for `*`, two for a typed wildcard.
  std::size_t bytes = 1;
  for (std::size_t n = t.size(); n >= 0x80; n >>= 7) ++bytes;
  for (const Pattern& p : t) bytes += p.is_value() ? p.value().encoded_size() : p.is_any() ? 1 : 2;
  if (bytes > o.tuple_bytes_max) return ErrorCode::kTooLarge;
  return std::nullopt;
}

bool good_acl(const std::vector<std::string>& names) {
  if (names.size() > 64) return false;
  return std::all_of(names.begin(), names.end(), good_name);
}

std::optional<ErrorCode> spec_problem(const SpaceOptions& o, const TupleSpec& s, std::int64_t now) {
  if (s.tuple.empty()) return ErrorCode::kInvalidArgument;
  for (const Value& v : s.tuple) {
    if (!v.valid()) return ErrorCode::kInvalidArgument;
  }
  if (!good_acl(s.readers) || !good_acl(s.removers)) return ErrorCode::kInvalidArgument;
  if (!fits(now, s.lease_ms)) return ErrorCode::kInvalidArgument;
  if (s.tuple.size() > o.fields_max) return ErrorCode::kTooLarge;
  if (encoded_size(s.tuple) > o.tuple_bytes_max) return ErrorCode::kTooLarge;
  return std::nullopt;
}

}  // namespace

Reply without_message(Reply reply) {
  if (auto* e = std::get_if<Error>(&reply)) e->message.clear();
  return reply;
}

Outcome without_messages(Outcome outcome) {
  outcome.reply = without_message(std::move(outcome.reply));
  for (Completion& c : outcome.completions) c.reply = without_message(std::move(c.reply));
  return outcome;
}

std::optional<std::size_t> Model::oldest(const Space& s, const Template& tmpl,
                                         const std::string& client, std::int64_t now,
                                         bool timed_only) {
  for (std::size_t i = 0; i < s.tuples.size(); ++i) {
    const StoredTuple& t = s.tuples[i];
    if (t.expiry_ms && *t.expiry_ms <= now) continue;
    if (timed_only && !t.expiry_ms) continue;
    if (!t.readers.empty() && !contains(t.readers, client)) continue;
    if (matches(tmpl, t.tuple)) return i;
  }
  return std::nullopt;
}

std::size_t Model::owned_by(const Space& s, const std::string& client) const {
  return static_cast<std::size_t>(std::count_if(
      s.tuples.begin(), s.tuples.end(), [&](const StoredTuple& t) { return t.owner == client; }));
}

std::size_t Model::waits_of(const std::string& space, const std::string& client) const {
  return static_cast<std::size_t>(std::count_if(waits_.begin(), waits_.end(), [&](const Wait& w) {
    return w.space == space && w.key.client == client;
  }));
}

void Model::put(const std::string& space, const std::string& client, std::int64_t now,
                const TupleSpec& spec, std::vector<Completion>& done) {
  StoredTuple t{spec.tuple, std::nullopt, spec.readers, spec.removers, client};
  if (spec.lease_ms > 0) t.expiry_ms = now + static_cast<std::int64_t>(spec.lease_ms);
  // Every waiting rd that may read it sees it, then the oldest waiting in that may take it.
  std::vector<std::size_t> woken;
  std::optional<std::size_t> taker;
  for (std::size_t i = 0; i < waits_.size(); ++i) {
    const Wait& w = waits_[i];
    if (w.space != space || !matches(w.tmpl, t.tuple) ||
        (!t.readers.empty() && !contains(t.readers, w.key.client))) {
      continue;
    }
    if (!w.takes) {
      woken.push_back(i);
    } else if (!taker && (t.removers.empty() || contains(t.removers, w.key.client))) {
      taker = i;
    }
  }
  if (taker) woken.push_back(*taker);
  for (std::size_t i : woken) done.push_back(Completion{waits_[i].key, Found{t.tuple}, space});
  std::sort(woken.begin(), woken.end(), std::greater<>());
  for (std::size_t i : woken) waits_.erase(waits_.begin() + static_cast<std::ptrdiff_t>(i));
  if (taker) return;
  spaces_.at(space).tuples.push_back(std::move(t));
}

std::vector<Completion> Model::advance(std::int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  for (auto& [name, s] : spaces_) {
    std::erase_if(s.tuples,
                  [&](const StoredTuple& t) { return t.expiry_ms && *t.expiry_ms <= now_ms_; });
  }
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < waits_.size(); ++i) {
    if (waits_[i].deadline_ms && *waits_[i].deadline_ms <= now_ms_) due.push_back(i);
  }
  std::stable_sort(due.begin(), due.end(), [&](std::size_t a, std::size_t b) {
    return *waits_[a].deadline_ms < *waits_[b].deadline_ms;
  });
  std::vector<Completion> done;
  for (std::size_t i : due)
    done.push_back(Completion{waits_[i].key, err(ErrorCode::kTimedOut), waits_[i].space});
  std::erase_if(waits_, [&](const Wait& w) { return w.deadline_ms && *w.deadline_ms <= now_ms_; });
  return done;
}

std::vector<Completion> Model::cancel_session(const std::string& client, std::uint64_t session) {
  std::vector<Completion> done;
  for (const Wait& w : waits_) {
    if (w.key.client == client && w.key.session == session) {
      done.push_back(Completion{w.key, err(ErrorCode::kCancelled), w.space});
    }
  }
  std::erase_if(waits_,
                [&](const Wait& w) { return w.key.client == client && w.key.session == session; });
  return done;
}

std::optional<std::int64_t> Model::next_deadline() const {
  std::optional<std::int64_t> next;
  auto consider = [&](const std::optional<std::int64_t>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& [name, s] : spaces_) {
    for (const StoredTuple& t : s.tuples) consider(t.expiry_ms);
  }
  for (const Wait& w : waits_) consider(w.deadline_ms);
  return next;
}

Outcome Model::execute(const Context& ctx, const Request& request) {
  Outcome o;
  o.completions = advance(ctx.now_ms);
  o.reply = apply(ctx, now_ms_, request, o.completions);
  return o;
}

Outcome Model::execute_read_only(const Context& ctx, const Request& request) const {
  return Outcome{read(ctx, std::max(ctx.now_ms, now_ms_), request), {}};
}

Reply Model::read(const Context& ctx, std::int64_t now, const Request& request) const {
  if (std::holds_alternative<SpaceList>(request) || std::holds_alternative<SpaceShow>(request)) {
    Spaces list;
    for (const auto& [name, s] : spaces_) {
      const auto n = std::count_if(s.tuples.begin(), s.tuples.end(), [&](const StoredTuple& t) {
        return !t.expiry_ms || now < *t.expiry_ms;
      });
      SpaceInfo info{name, s.options, static_cast<std::uint64_t>(n), s.options.policy.size()};
      info.options.policy.clear();
      list.spaces.push_back(std::move(info));
    }
    if (const auto* show = std::get_if<SpaceShow>(&request)) {
      for (SpaceInfo& info : list.spaces) {
        if (info.name != show->space) continue;
        info.options.policy = spaces_.at(info.name).options.policy;
        return Spaces{{std::move(info)}};
      }
      return err(ErrorCode::kNoSuchSpace);
    }
    return list;
  }
  const bool all = std::holds_alternative<RdAll>(request);
  const std::string& name = all ? std::get<RdAll>(request).space : std::get<Rdp>(request).space;
  const Template& tmpl = all ? std::get<RdAll>(request).tmpl : std::get<Rdp>(request).tmpl;
  auto it = spaces_.find(name);
  if (it == spaces_.end()) return err(ErrorCode::kNoSuchSpace);
  if (auto p = template_problem(it->second.options, tmpl)) return err(*p);
  if (!all) {
    auto i = oldest(it->second, tmpl, ctx.client, now);
    if (!i) return err(ErrorCode::kNotFound);
    return Found{it->second.tuples[*i].tuple};
  }
  const std::uint64_t max = std::get<RdAll>(request).max;
  FoundAll result;
  for (const StoredTuple& t : it->second.tuples) {
    if (max != 0 && result.tuples.size() >= max) break;
    if (t.expiry_ms && *t.expiry_ms <= now) continue;
    if (!t.readers.empty() && !contains(t.readers, ctx.client)) continue;
    if (matches(tmpl, t.tuple)) result.tuples.push_back(t.tuple);
  }
  return result;
}

Reply Model::apply(const Context& ctx, std::int64_t now, const Request& request,
                   std::vector<Completion>& done) {
  const std::string& me = ctx.client;
  auto removable = [&](const StoredTuple& t) {
    return t.removers.empty() || contains(t.removers, me);
  };

  if (const auto* op = std::get_if<SpaceCreate>(&request)) {
    if (!good_name(op->space) || !good_options(op->options))
      return err(ErrorCode::kInvalidArgument);
    if (spaces_.count(op->space) != 0) return err(ErrorCode::kSpaceExists);
    SpaceOptions o = op->options;
    for (auto* list : {&o.access.inserters, &o.access.readers, &o.access.removers}) {
      *list = canonical(*list);
    }
    spaces_[op->space] = Space{std::move(o), {}};
    return Ack{};
  }
  if (const auto* op = std::get_if<SpaceSetPolicy>(&request)) {
    auto it = spaces_.find(op->space);
    if (it == spaces_.end()) return err(ErrorCode::kNoSuchSpace);
    if (op->policy.size() > 256 * 1024) return err(ErrorCode::kInvalidArgument);
    it->second.options.policy = op->policy;
    return Ack{};
  }
  if (const auto* op = std::get_if<SpaceSetAccess>(&request)) {
    auto it = spaces_.find(op->space);
    if (it == spaces_.end()) return err(ErrorCode::kNoSuchSpace);
    if (op->lists == 0 || op->lists > 7) return err(ErrorCode::kInvalidArgument);
    SpaceAccess next = it->second.options.access;
    const std::pair<std::uint8_t, std::vector<std::string> SpaceAccess::*> lists[] = {
        {kAccessInserters, &SpaceAccess::inserters},
        {kAccessReaders, &SpaceAccess::readers},
        {kAccessRemovers, &SpaceAccess::removers}};
    for (const auto& [bit, list] : lists) {
      if ((op->lists & bit) == 0) {
        if (!(op->access.*list).empty()) return err(ErrorCode::kInvalidArgument);
        continue;
      }
      if (!good_list(op->access.*list)) return err(ErrorCode::kInvalidArgument);
      next.*list = canonical(op->access.*list);
    }
    it->second.options.access = std::move(next);
    return Ack{};
  }
  if (const auto* op = std::get_if<SpaceDelete>(&request)) {
    if (spaces_.count(op->space) == 0) return err(ErrorCode::kNoSuchSpace);
    for (const Wait& w : waits_) {
      if (w.space == op->space)
        done.push_back(Completion{w.key, err(ErrorCode::kNoSuchSpace), w.space});
    }
    std::erase_if(waits_, [&](const Wait& w) { return w.space == op->space; });
    spaces_.erase(op->space);
    return Ack{};
  }
  if (read_only(request)) return read(ctx, now, request);
  if (const auto* op = std::get_if<Cancel>(&request)) {
    const WaiterKey key{me, ctx.session, op->request};
    auto it =
        std::find_if(waits_.begin(), waits_.end(), [&](const Wait& w) { return w.key == key; });
    if (it == waits_.end()) return err(ErrorCode::kNotFound);
    done.push_back(Completion{key, err(ErrorCode::kCancelled), it->space});
    waits_.erase(it);
    return Ack{};
  }

  // Every other operation names a space.
  const std::string& name = std::visit(
      [](const auto& o) -> const std::string& {
        if constexpr (requires { o.space; }) {
          return o.space;
        } else {
          static const std::string none;
          return none;
        }
      },
      request);
  auto found_space = spaces_.find(name);
  if (found_space == spaces_.end()) return err(ErrorCode::kNoSuchSpace);
  Space& s = found_space->second;
  const SpaceOptions& o = s.options;
  auto quota_problem = [&](std::size_t n) -> std::optional<ErrorCode> {
    if (s.tuples.size() + n > o.tuples_max) return ErrorCode::kQuotaExceeded;
    if (owned_by(s, me) + n > o.tuples_per_client_max) return ErrorCode::kQuotaExceeded;
    return std::nullopt;
  };
  auto take = [&](std::size_t i) {
    Tuple t = s.tuples[i].tuple;
    s.tuples.erase(s.tuples.begin() + static_cast<std::ptrdiff_t>(i));
    return t;
  };

  if (const auto* op = std::get_if<Out>(&request)) {
    if (auto p = spec_problem(o, op->entry, now)) return err(*p);
    if (auto p = quota_problem(1)) return err(*p);
    put(name, me, now, op->entry, done);
    return Ack{};
  }
  if (const auto* op = std::get_if<OutAll>(&request)) {
    for (const TupleSpec& e : op->entries) {
      if (auto p = spec_problem(o, e, now)) return err(*p);
    }
    if (auto p = quota_problem(op->entries.size())) return err(*p);
    for (const TupleSpec& e : op->entries) put(name, me, now, e, done);
    return Ack{};
  }
  if (const auto* op = std::get_if<Inp>(&request)) {
    if (auto p = template_problem(o, op->tmpl)) return err(*p);
    auto i = oldest(s, op->tmpl, me, now);
    if (!i) return err(ErrorCode::kNotFound);
    if (!removable(s.tuples[*i])) return err(ErrorCode::kDenied);
    return Found{take(*i)};
  }
  if (std::holds_alternative<Rd>(request) || std::holds_alternative<In>(request)) {
    const bool takes = std::holds_alternative<In>(request);
    const Template& tmpl = takes ? std::get<In>(request).tmpl : std::get<Rd>(request).tmpl;
    const std::uint64_t timeout =
        takes ? std::get<In>(request).timeout_ms : std::get<Rd>(request).timeout_ms;
    if (auto p = template_problem(o, tmpl)) return err(*p);
    if (!fits(now, timeout)) return err(ErrorCode::kInvalidArgument);
    if (auto i = oldest(s, tmpl, me, now)) {
      if (!takes) return Found{s.tuples[*i].tuple};
      if (!removable(s.tuples[*i])) return err(ErrorCode::kDenied);
      return Found{take(*i)};
    }
    const WaiterKey key = ctx.key();
    if (std::any_of(waits_.begin(), waits_.end(), [&](const Wait& w) { return w.key == key; })) {
      return err(ErrorCode::kInvalidArgument);
    }
    if (waits_of(name, me) >= o.waiters_per_client_max) return err(ErrorCode::kQuotaExceeded);
    std::optional<std::int64_t> deadline;
    if (timeout > 0) deadline = now + static_cast<std::int64_t>(timeout);
    waits_.push_back(Wait{name, key, takes, tmpl, deadline});
    return Pending{};
  }
  if (const auto* op = std::get_if<Cas>(&request)) {
    if (auto p = template_problem(o, op->tmpl)) return err(*p);
    if (auto p = spec_problem(o, op->entry, now)) return err(*p);
    if (auto i = oldest(s, op->tmpl, me, now)) return CasResult{false, s.tuples[*i].tuple};
    if (auto p = quota_problem(1)) return err(*p);
    put(name, me, now, op->entry, done);
    return CasResult{true, {}};
  }
  if (const auto* op = std::get_if<Replace>(&request)) {
    if (auto p = template_problem(o, op->tmpl)) return err(*p);
    if (auto p = spec_problem(o, op->entry, now)) return err(*p);
    auto i = oldest(s, op->tmpl, me, now);
    if (!i) return err(ErrorCode::kNotFound);
    if (!removable(s.tuples[*i])) return err(ErrorCode::kDenied);
    const std::size_t mine = owned_by(s, me) - (s.tuples[*i].owner == me ? 1 : 0);
    if (mine + 1 > o.tuples_per_client_max) return err(ErrorCode::kQuotaExceeded);
    Tuple old = take(*i);
    put(name, me, now, op->entry, done);
    return Found{std::move(old)};
  }
  if (const auto* op = std::get_if<Renew>(&request)) {
    if (auto p = template_problem(o, op->tmpl)) return err(*p);
    if (op->lease_ms == 0 || !fits(now, op->lease_ms)) return err(ErrorCode::kInvalidArgument);
    auto i = oldest(s, op->tmpl, me, now, true);
    if (!i) return err(ErrorCode::kNotFound);
    if (!removable(s.tuples[*i])) return err(ErrorCode::kDenied);
    s.tuples[*i].expiry_ms = now + static_cast<std::int64_t>(op->lease_ms);
    return Found{s.tuples[*i].tuple};
  }
  const auto& op = std::get<InAll>(request);
  if (auto p = template_problem(o, op.tmpl)) return err(*p);
  FoundAll result;
  for (std::size_t i = 0; i < s.tuples.size();) {
    const StoredTuple& t = s.tuples[i];
    const bool hit = (!t.expiry_ms || now < *t.expiry_ms) &&
                     (t.readers.empty() || contains(t.readers, me)) && removable(t) &&
                     matches(op.tmpl, t.tuple);
    if (hit && (op.max == 0 || result.tuples.size() < op.max)) {
      result.tuples.push_back(take(i));
    } else {
      ++i;
    }
  }
  return result;
}

}  // namespace bastion::ts::testing
