// The tuple space's sequential model for the linearizability checker; see ts_model.h.
#include "sim/ts_model.h"

#include <cereal/types/optional.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "codec/codec.h"
#include "tuplespace/text.h"

namespace bastion::sim {
namespace {

enum LeaseClass : std::uint8_t { kNoLease = 0, kShortLease = 1, kLongLease = 2 };

std::uint8_t lease_class(std::uint64_t lease_ms) {
  if (lease_ms == 0) return kNoLease;
  return lease_ms >= kTsLongLeaseMs ? kLongLease : kShortLease;
}

std::vector<std::string> normalized(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// An empty access list names everyone.
bool listed(const std::vector<std::string>& names, const std::string& who) {
  return names.empty() || std::binary_search(names.begin(), names.end(), who);
}

struct ModelTuple {
  ts::Tuple tuple;
  std::uint8_t lease = kNoLease;  // LeaseClass
  bool vanishable = false;        // a pending operation may have removed it
  bool floating = false;          // inserted by a pending operation, not seen yet (ts_model.h)
  std::vector<std::string> readers;
  std::vector<std::string> removers;

  bool may_vanish() const { return lease == kShortLease || vanishable || floating; }
  template <class A>
  void serialize(A& ar) {
    ar(tuple, lease, vanishable, floating, readers, removers);
  }
};

// A pending `in` that may take any later insertion it matches, reads and may remove.
struct Taker {
  ts::Template tmpl;
  std::string client;
  template <class A>
  void serialize(A& ar) {
    ar(tmpl, client);
  }
};

struct PartitionState {
  bool exists = false;
  // The tuple inserted by the last step that changed the state, if it is still stored and only
  // reads came after it: a waiting `in` woken by that insertion may take it (see ts_model.h).
  std::optional<ts::Tuple> fresh;
  std::vector<ModelTuple> tuples;  // in insertion order
  std::vector<Taker> takers;
  template <class A>
  void serialize(A& ar) {
    ar(exists, fresh, tuples, takers);
  }
};

using MaybeReply = std::optional<ts::Reply>;

bool is_error(const ts::Reply& r, ts::ErrorCode code) { return ts::code_of(r) == code; }

const ts::Tuple* found(const ts::Reply& r) {
  const auto* f = std::get_if<ts::Found>(&r);
  return f != nullptr ? &f->tuple : nullptr;
}

// One step of one operation on a partition's state, for one invoker. Each handler returns false
// when the result could not have come from this state (or the operation is not modelled).
class Stepper {
 public:
  // `refused`: the space's policy denies this operation to `who` (ts_policy_allows).
  Stepper(PartitionState state, std::string who, bool refused)
      : st_(std::move(state)), who_(std::move(who)), refused_(refused) {}

  const PartitionState& state() const { return st_; }

  bool run(const ts::SpaceCreate&, const MaybeReply& r) {
    const bool admin = who_ == kTsAdminPrincipal;
    if (!r) {
      if (admin) st_.exists = true;
      return true;
    }
    if (!admin) return is_error(*r, ts::ErrorCode::kDenied);
    if (std::holds_alternative<ts::Ack>(*r)) {
      if (st_.exists) return false;
      st_.exists = true;
      return true;
    }
    return is_error(*r, ts::ErrorCode::kSpaceExists) && st_.exists;
  }

  bool run(const ts::Out& op, const MaybeReply& r) {
    return data_op(r, false, [&] {
      if (r && !std::holds_alternative<ts::Ack>(*r)) return false;
      insert(op.entry, !r);
      return true;
    });
  }

  bool run(const ts::Rdp& op, const MaybeReply& r) {
    return data_op(r, true, [&] {
      if (!r) return true;
      if (const ts::Tuple* x = found(*r)) return oldest_is(op.tmpl, *x, false).has_value();
      return is_error(*r, ts::ErrorCode::kNotFound) && none_visible(op.tmpl, false);
    });
  }

  bool run(const ts::Rd& op, const MaybeReply& r) {
    return data_op(r, true, [&] {
      if (!r) return true;
      if (const ts::Tuple* x = found(*r)) return oldest_is(op.tmpl, *x, false).has_value();
      return gave_up(*r) && none_visible(op.tmpl, false);
    });
  }

  bool run(const ts::Inp& op, const MaybeReply& r) {
    return data_op(r, false, [&] {
      if (!r) {
        maybe_removed(op.tmpl, false);
        return true;
      }
      if (const ts::Tuple* x = found(*r)) return take_oldest(op.tmpl, *x);
      return removal_failed(*r, op.tmpl);
    });
  }

  bool run(const ts::In& op, const MaybeReply& r) {
    // The insertion that woke this `in` may be the step just before it (read before the reset).
    const std::optional<ts::Tuple> fresh = st_.fresh;
    return data_op(r, false, [&] {
      if (!r) {
        maybe_removed(op.tmpl, false);
        st_.takers.push_back(Taker{op.tmpl, who_});
        return true;
      }
      if (const ts::Tuple* x = found(*r)) {
        if (fresh && *fresh == *x) return take_woken(op.tmpl, *x);
        return take_oldest(op.tmpl, *x);
      }
      if (gave_up(*r)) return none_visible(op.tmpl, false);
      return is_error(*r, ts::ErrorCode::kDenied) && denied_by(op.tmpl, false);
    });
  }

  bool run(const ts::Cas& op, const MaybeReply& r) {
    const auto* cas = r ? std::get_if<ts::CasResult>(&*r) : nullptr;
    const bool read = cas != nullptr && !cas->inserted;
    return data_op(r, read, [&] {
      if (!r) {
        for (const ModelTuple& t : st_.tuples) {
          // A match that cannot have vanished certainly stops the insertion.
          if (sees(t, op.tmpl, false) && !t.may_vanish()) return true;
        }
        insert(op.entry, true);
        return true;
      }
      if (cas == nullptr) return false;
      if (!cas->inserted) return oldest_is(op.tmpl, cas->existing, false).has_value();
      if (!cas->existing.empty() || !none_visible(op.tmpl, false)) return false;
      insert(op.entry, false);
      return true;
    });
  }

  bool run(const ts::Replace& op, const MaybeReply& r) {
    return data_op(r, false, [&] {
      if (!r) {
        if (maybe_removed(op.tmpl, false)) insert(op.entry, true);
        return true;
      }
      if (const ts::Tuple* x = found(*r)) {
        if (!take_oldest(op.tmpl, *x)) return false;
        insert(op.entry, false);
        return true;
      }
      return removal_failed(*r, op.tmpl);
    });
  }

  bool run(const ts::Renew& op, const MaybeReply& r) {
    const std::uint8_t lease = lease_class(op.lease_ms);
    return data_op(r, false, [&] {
      if (!r) {
        // Whichever tuple it renewed may now expire early; a long renewal only restricts.
        if (lease == kShortLease) {
          for (ModelTuple* t : candidates(op.tmpl, true)) {
            if (may_remove(*t)) t->lease = kShortLease;
          }
        }
        return true;
      }
      if (const ts::Tuple* x = found(*r)) {
        auto i = oldest_is(op.tmpl, *x, true);
        if (!i || !may_remove(st_.tuples[*i])) return false;
        st_.tuples[*i].lease = lease;
        return true;
      }
      if (is_error(*r, ts::ErrorCode::kNotFound)) return none_visible(op.tmpl, true);
      return is_error(*r, ts::ErrorCode::kDenied) && denied_by(op.tmpl, true);
    });
  }

  bool run(const ts::RdAll& op, const MaybeReply& r) {
    return data_op(r, true, [&] {
      if (!r) return true;
      const auto* all = std::get_if<ts::FoundAll>(&*r);
      return all != nullptr && bulk(op.tmpl, op.max, all->tuples, false);
    });
  }

  bool run(const ts::InAll& op, const MaybeReply& r) {
    return data_op(r, false, [&] {
      if (!r) {
        for (std::size_t i = 0; i < st_.tuples.size();) {
          ModelTuple& t = st_.tuples[i];
          if (sees(t, op.tmpl, false) && may_remove(t)) {
            // Without a bound it takes every one of them (that was inserted already); with one,
            // which depends on expiries.
            if (op.max == 0 && !t.floating) {
              st_.tuples.erase(st_.tuples.begin() + static_cast<std::ptrdiff_t>(i));
              continue;
            }
            t.vanishable = true;
          }
          ++i;
        }
        return true;
      }
      const auto* all = std::get_if<ts::FoundAll>(&*r);
      return all != nullptr && bulk(op.tmpl, op.max, all->tuples, true);
    });
  }

  // Not issued by the workload: no result of them is explained.
  template <class Op>
  bool run(const Op&, const MaybeReply&) {
    return false;
  }

 private:
  // The common frame of data operations: no_such_space only before the space was seen; any other
  // result (or an effect of a pending operation) shows that it exists. An operation the space's
  // policy refuses is `denied` and has no effect (pending, none at all: the policy decides before
  // the engine sees it). A step that is not a read ends the window in which the last insertion
  // counts as fresh.
  template <class Body>
  bool data_op(const MaybeReply& r, bool read, Body body) {
    if (r && is_error(*r, ts::ErrorCode::kNoSuchSpace)) return !st_.exists;
    if (refused_) {
      if (!r) return true;
      st_.exists = true;
      return is_error(*r, ts::ErrorCode::kDenied);
    }
    st_.exists = true;
    if (!read) st_.fresh.reset();
    return body();
  }

  bool sees(const ModelTuple& t, const ts::Template& tmpl, bool leased_only) const {
    if (leased_only && t.lease == kNoLease) return false;
    return listed(t.readers, who_) && ts::matches(tmpl, t.tuple);
  }
  bool may_remove(const ModelTuple& t) const { return listed(t.removers, who_); }

  static bool gave_up(const ts::Reply& r) {
    return is_error(r, ts::ErrorCode::kTimedOut) || is_error(r, ts::ErrorCode::kCancelled);
  }

  // What a result that shows `t` absent makes of it: a floating tuple was not inserted yet (it
  // stays, unconstrained), one that may vanish is gone, any other makes the result impossible.
  enum class Absent { kNotYet, kGone, kImpossible };
  static Absent absent(const ModelTuple& t) {
    if (t.floating) return Absent::kNotYet;
    return t.may_vanish() ? Absent::kGone : Absent::kImpossible;
  }

  void erase(const std::vector<std::size_t>& ascending) {
    for (auto it = ascending.rbegin(); it != ascending.rend(); ++it) {
      st_.tuples.erase(st_.tuples.begin() + static_cast<std::ptrdiff_t>(*it));
    }
  }

  // No visible match: every one there expired (or was taken by a pending operation).
  bool none_visible(const ts::Template& tmpl, bool leased_only) {
    std::vector<std::size_t> gone;
    for (std::size_t i = 0; i < st_.tuples.size(); ++i) {
      const ModelTuple& t = st_.tuples[i];
      if (!sees(t, tmpl, leased_only)) continue;
      const Absent a = absent(t);
      if (a == Absent::kImpossible) return false;
      if (a == Absent::kGone) gone.push_back(i);
    }
    erase(gone);
    return true;
  }

  // `x` is the oldest visible match: the older ones are gone. Its index afterwards.
  std::optional<std::size_t> oldest_is(const ts::Template& tmpl, const ts::Tuple& x,
                                       bool leased_only) {
    std::vector<std::size_t> gone;
    for (std::size_t i = 0; i < st_.tuples.size(); ++i) {
      ModelTuple& t = st_.tuples[i];
      if (!sees(t, tmpl, leased_only)) continue;
      if (t.tuple == x) {
        t.floating = false;
        erase(gone);
        return i - gone.size();
      }
      const Absent a = absent(t);
      if (a == Absent::kImpossible) return std::nullopt;
      if (a == Absent::kGone) gone.push_back(i);
    }
    return std::nullopt;
  }

  bool take_oldest(const ts::Template& tmpl, const ts::Tuple& x) {
    auto i = oldest_is(tmpl, x, false);
    if (!i || !may_remove(st_.tuples[*i])) return false;
    st_.tuples.erase(st_.tuples.begin() + static_cast<std::ptrdiff_t>(*i));
    return true;
  }

  // A waiting `in` woken by the insertion of `x` (the newest tuple): the older visible matches
  // it may remove expired (it would have taken them); the ones it may not remove were skipped.
  bool take_woken(const ts::Template& tmpl, const ts::Tuple& x) {
    if (st_.tuples.empty() || st_.tuples.back().tuple != x) return false;
    const ModelTuple& newest = st_.tuples.back();
    if (!sees(newest, tmpl, false) || !may_remove(newest)) return false;
    std::vector<std::size_t> gone;
    for (std::size_t i = 0; i + 1 < st_.tuples.size(); ++i) {
      const ModelTuple& t = st_.tuples[i];
      if (!sees(t, tmpl, false) || !may_remove(t)) continue;
      const Absent a = absent(t);
      if (a == Absent::kImpossible) return false;
      if (a == Absent::kGone) gone.push_back(i);
    }
    gone.push_back(st_.tuples.size() - 1);
    erase(gone);
    return true;
  }

  // The oldest visible match is one the client may not remove: the older ones are gone.
  bool denied_by(const ts::Template& tmpl, bool leased_only) {
    std::vector<std::size_t> gone;
    for (std::size_t i = 0; i < st_.tuples.size(); ++i) {
      ModelTuple& t = st_.tuples[i];
      if (!sees(t, tmpl, leased_only)) continue;
      if (!may_remove(t)) {
        t.floating = false;
        erase(gone);
        return true;
      }
      const Absent a = absent(t);
      if (a == Absent::kImpossible) return false;
      if (a == Absent::kGone) gone.push_back(i);
    }
    return false;
  }

  // not_found or denied of inp and replace.
  bool removal_failed(const ts::Reply& r, const ts::Template& tmpl) {
    if (is_error(r, ts::ErrorCode::kNotFound)) return none_visible(tmpl, false);
    return is_error(r, ts::ErrorCode::kDenied) && denied_by(tmpl, false);
  }

  // The tuples a single-tuple operation may have chosen: the visible matches up to and including
  // the first one that cannot have vanished.
  std::vector<ModelTuple*> candidates(const ts::Template& tmpl, bool leased_only) {
    std::vector<ModelTuple*> out;
    for (ModelTuple& t : st_.tuples) {
      if (!sees(t, tmpl, leased_only)) continue;
      out.push_back(&t);
      if (!t.may_vanish()) break;
    }
    return out;
  }

  // A pending removal: each candidate it may remove may be gone. True if there is one.
  bool maybe_removed(const ts::Template& tmpl, bool leased_only) {
    bool any = false;
    for (ModelTuple* t : candidates(tmpl, leased_only)) {
      if (!may_remove(*t)) continue;
      t->vanishable = true;
      any = true;
    }
    return any;
  }

  // rdAll (take = false) and inAll (take = true): `list` is the oldest `max` (0: all) visible
  // matches, for inAll only those the client may remove (the others stay, unconstrained).
  bool bulk(const ts::Template& tmpl, std::uint64_t max, const std::vector<ts::Tuple>& list,
            bool take) {
    if (max != 0 && list.size() > max) return false;
    std::vector<std::size_t> gone;
    std::size_t next = 0;
    for (std::size_t i = 0; i < st_.tuples.size(); ++i) {
      ModelTuple& t = st_.tuples[i];
      if (!sees(t, tmpl, false)) continue;
      if (take && !may_remove(t)) continue;
      if (next < list.size() && t.tuple == list[next]) {
        ++next;
        t.floating = false;
        if (take) gone.push_back(i);
        continue;
      }
      if (max != 0 && next == max) break;  // beyond the window: unconstrained
      const Absent a = absent(t);
      if (a == Absent::kImpossible) return false;
      if (a == Absent::kGone) gone.push_back(i);
    }
    if (next != list.size()) return false;
    erase(gone);
    return true;
  }

  // `pending`: by an operation that may not have taken effect yet (or ever) at this point.
  void insert(const ts::TupleSpec& spec, bool pending) {
    ModelTuple t{spec.tuple, lease_class(spec.lease_ms), false,
                 pending,    normalized(spec.readers),   normalized(spec.removers)};
    for (const Taker& k : st_.takers) {
      if (ts::matches(k.tmpl, t.tuple) && listed(t.readers, k.client) &&
          listed(t.removers, k.client)) {
        t.vanishable = true;
      }
    }
    st_.fresh = t.tuple;
    st_.tuples.push_back(std::move(t));
  }

  PartitionState st_;
  std::string who_;
  bool refused_;
};

std::optional<PartitionState> decode_state(const SequentialModel::State& s) {
  auto r = codec::decode<PartitionState>(s);
  if (!r) return std::nullopt;
  return std::move(r).value();
}

std::string first_field(const ts::Template& tmpl) {
  if (tmpl.empty()) return "()";
  return tmpl.front().is_value() ? ts::to_text(tmpl.front().value()) : ts::to_text(tmpl.front());
}

std::string first_field(const ts::Tuple& tuple) {
  return tuple.empty() ? "()" : ts::to_text(tuple.front());
}

std::string describe_spec(const ts::TupleSpec& spec) {
  std::string s = ts::to_text(spec.tuple);
  if (spec.lease_ms != 0) s += " lease=" + std::to_string(spec.lease_ms) + "ms";
  auto names = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
    return out + "]";
  };
  if (!spec.readers.empty()) s += " readers=" + names(spec.readers);
  if (!spec.removers.empty()) s += " removers=" + names(spec.removers);
  return s;
}

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// The parity of n for an invoker named "client-<n>" (Lua's "^client%-(%d+)$"): true if odd;
// nullopt for a stranger. The last digit decides, as n % 2 does for the integers tonumber gives.
std::optional<bool> client_odd(std::string_view invoker) {
  constexpr std::string_view kPrefix = "client-";
  if (!invoker.starts_with(kPrefix) || invoker.size() == kPrefix.size()) return std::nullopt;
  const std::string_view digits = invoker.substr(kPrefix.size());
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return (digits.back() - '0') % 2 == 1;
}

// What kTsPolicy reads of a request: req.template, req.tuple, req.max, and whether it reads.
struct PolicyArgs {
  bool governed = true;
  bool reads = false;
  const ts::Template* tmpl = nullptr;
  const ts::Tuple* tuple = nullptr;
  std::uint64_t max = 0;  // rdAll, inAll
};

PolicyArgs policy_args(const ts::Request& request) {
  PolicyArgs a;
  std::visit(Overloaded{
                 [&](const ts::Out& o) { a.tuple = &o.entry.tuple; },
                 [&](const ts::OutAll&) {},
                 [&](const ts::Rdp& o) {
                   a.tmpl = &o.tmpl;
                   a.reads = true;
                 },
                 [&](const ts::Rd& o) {
                   a.tmpl = &o.tmpl;
                   a.reads = true;
                 },
                 [&](const ts::RdAll& o) {
                   a.tmpl = &o.tmpl;
                   a.reads = true;
                   a.max = o.max;
                 },
                 [&](const ts::Inp& o) { a.tmpl = &o.tmpl; },
                 [&](const ts::In& o) { a.tmpl = &o.tmpl; },
                 [&](const ts::Renew& o) { a.tmpl = &o.tmpl; },
                 [&](const ts::InAll& o) {
                   a.tmpl = &o.tmpl;
                   a.max = o.max;
                 },
                 [&](const ts::Cas& o) {
                   a.tmpl = &o.tmpl;
                   a.tuple = &o.entry.tuple;
                 },
                 [&](const ts::Replace& o) {
                   a.tmpl = &o.tmpl;
                   a.tuple = &o.entry.tuple;
                 },
                 [&](const auto&) { a.governed = false; },
             },
             request);
  return a;
}

bool is_k0(const ts::Value& v) { return v.is(ts::Type::kString) && v.as_string() == "k0"; }

}  // namespace

std::string ts_sim_principal(std::uint32_t index) { return "client-" + std::to_string(index); }

std::string ts_sim_principal(std::uint32_t index, std::uint32_t correct_clients) {
  if (index < correct_clients) return ts_sim_principal(index);
  return "client-byz-" + std::to_string(index - correct_clients);
}

// Keep ts_policy_allows() in step with this text (and the summary in ts_model.h).
const std::string_view kTsPolicy = R"lua(
-- The simulator's policy (sim/ts_model.h; ts_policy_allows() there is its mirror).
function decide(req)
  local n = tonumber(string.match(req.invoker, "^client%-(%d+)$"))
  local reads = req.op == "rdp" or req.op == "rd" or req.op == "rdAll"
  if n == nil then
    if reads then return true end
    return false, "strangers only read"
  end
  local odd = n % 2 == 1
  local fields = req.template or req.tuple or {}
  if odd and not reads and fields[1] == "k0" then
    return false, "k0 is changed by even clients only"
  end
  if odd and req.op == "rdAll" and req.max == 0 then
    return false, "odd clients read with a bound"
  end
  local t = req.tuple
  if t ~= nil and math.type(t[2]) == "integer" and t[2] % 7 == 0 then
    return false, "no multiples of 7"
  end
  return true
end
)lua";

bool ts_policy_allows(const ts::Request& request, std::string_view invoker) {
  const PolicyArgs a = policy_args(request);
  if (!a.governed) return true;
  const std::optional<bool> odd = client_odd(invoker);
  if (!odd) return a.reads;
  if (*odd && !a.reads) {
    // fields[1] == "k0": only a string equals a string in Lua (not ANY, FORMAL or bytes).
    const bool k0 =
        a.tmpl != nullptr
            ? !a.tmpl->empty() && a.tmpl->front().is_value() && is_k0(a.tmpl->front().value())
            : a.tuple != nullptr && !a.tuple->empty() && is_k0(a.tuple->front());
    if (k0) return false;
  }
  if (*odd && std::holds_alternative<ts::RdAll>(request) && a.max == 0) return false;
  if (a.tuple != nullptr && a.tuple->size() >= 2 && (*a.tuple)[1].is(ts::Type::kInt) &&
      (*a.tuple)[1].as_int() % 7 == 0) {
    return false;
  }
  return true;
}

bool ts_policy_space(std::string_view space) { return space.starts_with('p'); }

std::string ts_policy_space_name(std::size_t index, std::uint32_t correct_clients) {
  return "p" + std::to_string(index) + "-c" + std::to_string(correct_clients);
}

std::optional<std::uint32_t> ts_policy_space_clients(std::string_view space) {
  if (!ts_policy_space(space)) return std::nullopt;
  const auto at = space.rfind("-c");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view digits = space.substr(at + 2);
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

std::string ts_partition(const ts::Request& request) {
  return std::visit(
      Overloaded{
          [](const ts::SpaceCreate& op) { return "space " + op.space; },
          [](const ts::SpaceDelete& op) { return "space " + op.space; },
          [](const ts::Out& op) { return op.space + "/" + first_field(op.entry.tuple); },
          [](const ts::Rdp& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::Inp& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::Rd& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::In& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::Cas& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::Replace& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::Renew& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::RdAll& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const ts::InAll& op) { return op.space + "/" + first_field(op.tmpl); },
          [](const auto&) { return std::string("other"); },
      },
      request);
}

SequentialModel::State TsModel::initial() const { return codec::encode(PartitionState{}); }

std::string TsModel::partition(const Bytes& op) const {
  auto request = ts::decode_request(op);
  return request ? ts_partition(*request) : std::string("malformed");
}

std::optional<SequentialModel::State> TsModel::step(const State& s, const Bytes& op,
                                                    const std::optional<Bytes>& result) const {
  // Principal names are 1..255 bytes, so the empty name is in no access list and no admin (and a
  // stranger to the policy).
  return step_as(std::nullopt, s, op, result);
}

std::optional<SequentialModel::State> TsModel::step_by(std::uint32_t client, const State& s,
                                                       const Bytes& op,
                                                       const std::optional<Bytes>& result) const {
  return step_as(client, s, op, result);
}

std::optional<SequentialModel::State> TsModel::step_as(std::optional<std::uint32_t> client,
                                                       const State& s, const Bytes& op_bytes,
                                                       const std::optional<Bytes>& result) const {
  auto op = ts::decode_request(op_bytes);
  if (!op) return std::nullopt;
  const std::string_view space = ts::space_of(*op);
  std::string principal;
  if (client) {
    const std::optional<std::uint32_t> correct = ts_policy_space_clients(space);
    principal = correct ? ts_sim_principal(*client, *correct) : ts_sim_principal(*client);
  }
  const bool refused = ts_policy_space(space) && !ts_policy_allows(*op, principal);
  MaybeReply reply;
  if (result) {
    auto r = codec::decode<ts::Reply>(*result);
    if (!r) return std::nullopt;
    reply = std::move(r).value();
  }
  auto state = decode_state(s);
  if (!state) return std::nullopt;
  Stepper stepper(std::move(*state), std::move(principal), refused);
  if (!std::visit([&](const auto& o) { return stepper.run(o, reply); }, *op)) return std::nullopt;
  return codec::encode(stepper.state());
}

bool TsModel::is_read(const Bytes& op) const {
  auto r = ts::decode_request(op);
  return r && (std::holds_alternative<ts::Rdp>(*r) || std::holds_alternative<ts::Rd>(*r) ||
               std::holds_alternative<ts::RdAll>(*r) || std::holds_alternative<ts::SpaceList>(*r));
}

std::string TsModel::describe_op(const Bytes& op_bytes) const {
  auto op = ts::decode_request(op_bytes);
  if (!op) return "<malformed>";
  const std::string name(ts::op_name(*op));
  return std::visit(
      Overloaded{
          [&](const ts::SpaceCreate& o) { return name + "(" + o.space + ")"; },
          [&](const ts::Out& o) {
            return name + "(" + o.space + ", " + describe_spec(o.entry) + ")";
          },
          [&](const ts::Rdp& o) { return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ")"; },
          [&](const ts::Inp& o) { return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ")"; },
          [&](const ts::Rd& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", " +
                   std::to_string(o.timeout_ms) + "ms)";
          },
          [&](const ts::In& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", " +
                   std::to_string(o.timeout_ms) + "ms)";
          },
          [&](const ts::Cas& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", " +
                   describe_spec(o.entry) + ")";
          },
          [&](const ts::Replace& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", " +
                   describe_spec(o.entry) + ")";
          },
          [&](const ts::Renew& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", " +
                   std::to_string(o.lease_ms) + "ms)";
          },
          [&](const ts::RdAll& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", max " +
                   std::to_string(o.max) + ")";
          },
          [&](const ts::InAll& o) {
            return name + "(" + o.space + ", " + ts::to_text(o.tmpl) + ", max " +
                   std::to_string(o.max) + ")";
          },
          [&](const auto&) { return name; },
      },
      *op);
}

std::string TsModel::describe_result(const Bytes& result) const {
  auto r = codec::decode<ts::Reply>(result);
  if (!r) return "<malformed result>";
  return std::visit(
      Overloaded{
          [](const ts::Error& e) { return "error " + std::string(ts::error_code_name(e.code)); },
          [](const ts::Ack&) { return std::string("ack"); },
          [](const ts::Pending&) { return std::string("pending"); },
          [](const ts::Found& f) { return "found " + ts::to_text(f.tuple); },
          [](const ts::FoundAll& f) {
            std::string s = "found [";
            for (std::size_t i = 0; i < f.tuples.size(); ++i) {
              s += (i ? ", " : "") + ts::to_text(f.tuples[i]);
            }
            return s + "]";
          },
          [](const ts::CasResult& c) {
            return c.inserted ? std::string("cas inserted")
                              : "cas existing " + ts::to_text(c.existing);
          },
          [](const ts::Spaces&) { return std::string("spaces"); },
          [](const ts::Confidential& c) { return "confidential reply of space " + c.space; },
      },
      *r);
}

std::string TsModel::describe_state(const State& s) const {
  auto st = decode_state(s);
  if (!st) return "<malformed state>";
  std::ostringstream out;
  out << (st->exists ? "exists" : "no space") << "; tuples:";
  for (const ModelTuple& t : st->tuples) {
    out << " " << ts::to_text(t.tuple);
    if (t.lease == kShortLease) out << "{short lease}";
    if (t.lease == kLongLease) out << "{long lease}";
    if (t.vanishable) out << "{vanishable}";
    if (t.floating) out << "{floating}";
    if (!t.readers.empty() || !t.removers.empty()) out << "{acl}";
  }
  if (!st->takers.empty()) out << "; pending takers: " << st->takers.size();
  return out.str();
}

}  // namespace bastion::sim
