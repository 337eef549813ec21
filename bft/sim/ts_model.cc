// The tuple space's sequential model for the linearizability checker; see ts_model.h.
#include "bft/sim/ts_model.h"

#include <cereal/types/optional.hpp>

#include <algorithm>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "codec/codec.h"
#include "tuplespace/text.h"

namespace bastion::bft::sim {
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
  Stepper(PartitionState state, std::string who) : st_(std::move(state)), who_(std::move(who)) {}

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
  // result (or an effect of a pending operation) shows that it exists. A step that is not a
  // read ends the window in which the last insertion counts as fresh.
  template <class Body>
  bool data_op(const MaybeReply& r, bool read, Body body) {
    if (r && is_error(*r, ts::ErrorCode::kNoSuchSpace)) return !st_.exists;
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

}  // namespace

std::string ts_sim_principal(std::uint32_t index) { return "client-" + std::to_string(index); }

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
  // Principal names are 1..255 bytes, so the empty name is in no access list and no admin.
  return step_as(std::string(), s, op, result);
}

std::optional<SequentialModel::State> TsModel::step_by(std::uint32_t client, const State& s,
                                                       const Bytes& op,
                                                       const std::optional<Bytes>& result) const {
  return step_as(ts_sim_principal(client), s, op, result);
}

std::optional<SequentialModel::State> TsModel::step_as(const std::string& principal, const State& s,
                                                       const Bytes& op_bytes,
                                                       const std::optional<Bytes>& result) const {
  auto op = ts::decode_request(op_bytes);
  if (!op) return std::nullopt;
  MaybeReply reply;
  if (result) {
    auto r = codec::decode<ts::Reply>(*result);
    if (!r) return std::nullopt;
    reply = std::move(r).value();
  }
  auto state = decode_state(s);
  if (!state) return std::nullopt;
  Stepper stepper(std::move(*state), principal);
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

}  // namespace bastion::bft::sim
