// The key-value test application; see kv_app.h.
#include "bft/sim/kv_app.h"

#include <algorithm>
#include <string>
#include <utility>

#include "codec/codec.h"

namespace bastion::bft::sim {
namespace {

bool valid(const KvOp& op) {
  if (op.key.empty() || op.key.size() > kKvKeyBytesMax) return false;
  if (op.value.size() > kKvValueBytesMax) return false;
  if (op.expected && op.expected->size() > kKvValueBytesMax) return false;
  if (op.timeout_us < 0 || op.timeout_us > kKvTimeoutUsMax) return false;
  return true;
}

Bytes encode_result(KvStatus status, std::optional<std::string> value) {
  return codec::encode(KvResult{status, std::move(value)});
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& m,
                                  const std::string& key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

// The snapshot layout: a canonical, versionless encoding of the whole state.
struct KvSnapshot {
  TimeUs now_us = 0;
  std::uint64_t next_order = 0;
  std::vector<std::pair<std::string, std::string>> data;
  std::vector<std::pair<std::uint64_t, KvStateMachine::Waiter>> waiters;
  template <class A>
  void serialize(A& ar) {
    ar(now_us, next_order, data, waiters);
  }
};

}  // namespace

Bytes kv_put(const std::string& key, const std::string& value) {
  return codec::encode(KvOp{KvKind::kPut, key, value, std::nullopt, 0});
}
Bytes kv_get(const std::string& key) {
  return codec::encode(KvOp{KvKind::kGet, key, {}, std::nullopt, 0});
}
Bytes kv_cas(const std::string& key, std::optional<std::string> expected,
             const std::string& value) {
  return codec::encode(KvOp{KvKind::kCas, key, value, std::move(expected), 0});
}
Bytes kv_wait(const std::string& key, const std::string& value, TimeUs timeout_us) {
  return codec::encode(KvOp{KvKind::kWait, key, value, std::nullopt, timeout_us});
}

std::optional<KvOp> decode_kv_op(ByteView payload) {
  auto r = codec::decode<KvOp>(payload);
  if (!r || !valid(*r)) return std::nullopt;
  return std::move(r).value();
}

std::optional<KvResult> decode_kv_result(ByteView result) {
  auto r = codec::decode<KvResult>(result);
  if (!r) return std::nullopt;
  return std::move(r).value();
}

// ---- KvStateMachine -----------------------------------------------------------------------------

std::vector<Completion> KvStateMachine::begin_batch(TimeUs now_us) {
  now_us_ = std::max(now_us_, now_us);
  // Timed-out waiters complete in (deadline, registration order) order.
  std::vector<std::pair<std::pair<TimeUs, std::uint64_t>, std::uint64_t>> due;
  for (const auto& [order, w] : waiters_) {
    if (w.deadline_us <= now_us_) due.push_back({{w.deadline_us, order}, order});
  }
  std::sort(due.begin(), due.end());
  std::vector<Completion> out;
  out.reserve(due.size());
  for (const auto& d : due) {
    auto it = waiters_.find(d.second);
    Waiter& w = it->second;
    out.push_back(
        Completion{w.client, w.number, encode_result(KvStatus::kTimeout, lookup(data_, w.key))});
    waiters_.erase(it);
  }
  return out;
}

std::vector<Completion> KvStateMachine::wake(const std::string& key, const std::string& value) {
  std::vector<Completion> out;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.key == key && it->second.value == value) {
      out.push_back(
          Completion{it->second.client, it->second.number, encode_result(KvStatus::kOk, value)});
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

ExecuteResult KvStateMachine::execute(const Request& request) {
  ExecuteResult r;
  auto op = decode_kv_op(request.payload);
  if (!op) {
    r.result = encode_result(KvStatus::kBadRequest, std::nullopt);
    return r;
  }
  auto current = lookup(data_, op->key);
  switch (op->kind) {
    case KvKind::kPut:
      data_[op->key] = op->value;
      r.result = encode_result(KvStatus::kOk, current);
      r.completions = wake(op->key, op->value);
      break;
    case KvKind::kGet:
      r.result = encode_result(KvStatus::kOk, current);
      break;
    case KvKind::kCas:
      if (current == op->expected) {
        data_[op->key] = op->value;
        r.result = encode_result(KvStatus::kOk, current);
        r.completions = wake(op->key, op->value);
      } else {
        r.result = encode_result(KvStatus::kCasFailed, current);
      }
      break;
    case KvKind::kWait:
      if (current == op->value) {
        r.result = encode_result(KvStatus::kOk, current);
      } else {
        waiters_[next_order_++] =
            Waiter{request.client, request.number, op->key, op->value, now_us_ + op->timeout_us};
      }
      break;
  }
  return r;
}

std::optional<Bytes> KvStateMachine::execute_read_only(const Request& request) {
  auto op = decode_kv_op(request.payload);
  if (!op || op->kind != KvKind::kGet) return std::nullopt;
  return encode_result(KvStatus::kOk, lookup(data_, op->key));
}

std::optional<TimeUs> KvStateMachine::next_deadline_us() const {
  std::optional<TimeUs> earliest;
  for (const auto& [order, w] : waiters_) {
    if (!earliest || w.deadline_us < *earliest) earliest = w.deadline_us;
  }
  return earliest;
}

void KvStateMachine::session_evicted(const ClientKey& client) {
  std::erase_if(waiters_, [&](const auto& e) { return e.second.client == client; });
}

Bytes KvStateMachine::snapshot() const {
  KvSnapshot s;
  s.now_us = now_us_;
  s.next_order = next_order_;
  s.data.assign(data_.begin(), data_.end());
  s.waiters.assign(waiters_.begin(), waiters_.end());
  return codec::encode(s);
}

Digest KvStateMachine::digest() const { return codec::blake2b(snapshot()); }

bool KvStateMachine::restore(ByteView snapshot) {
  auto r = codec::decode<KvSnapshot>(snapshot);
  if (!r) return false;
  const KvSnapshot& s = *r;
  for (std::size_t i = 0; i < s.data.size(); ++i) {
    const auto& [k, v] = s.data[i];
    if (k.empty() || k.size() > kKvKeyBytesMax || v.size() > kKvValueBytesMax) return false;
    if (i > 0 && !(s.data[i - 1].first < k)) return false;
  }
  for (std::size_t i = 0; i < s.waiters.size(); ++i) {
    const auto& [order, w] = s.waiters[i];
    if (order >= s.next_order) return false;
    if (i > 0 && !(s.waiters[i - 1].first < order)) return false;
    if (w.key.empty() || w.key.size() > kKvKeyBytesMax || w.value.size() > kKvValueBytesMax)
      return false;
  }
  now_us_ = s.now_us;
  next_order_ = s.next_order;
  data_ = std::map<std::string, std::string>(s.data.begin(), s.data.end());
  waiters_ = std::map<std::uint64_t, Waiter>(s.waiters.begin(), s.waiters.end());
  return true;
}

// ---- KvModel ------------------------------------------------------------------------------------
// A key's state: empty bytes = absent; otherwise 0x01 followed by the value.

namespace {

SequentialModel::State state_of(const std::optional<std::string>& v) {
  if (!v) return {};
  SequentialModel::State s;
  s.reserve(v->size() + 1);
  s.push_back(1);
  s.insert(s.end(), v->begin(), v->end());
  return s;
}

std::optional<std::string> value_of(const SequentialModel::State& s) {
  if (s.empty()) return std::nullopt;
  return std::string(s.begin() + 1, s.end());
}

std::string show(const std::optional<std::string>& v) { return v ? *v : std::string("<none>"); }

}  // namespace

SequentialModel::State KvModel::initial() const { return {}; }

std::string KvModel::partition(const Bytes& op) const {
  auto o = decode_kv_op(op);
  return o ? o->key : std::string();
}

std::optional<SequentialModel::State> KvModel::step(const State& s, const Bytes& op_bytes,
                                                    const std::optional<Bytes>& result) const {
  auto op = decode_kv_op(op_bytes);
  if (!op) return std::nullopt;
  const auto cur = value_of(s);
  std::optional<KvResult> res;
  if (result) {
    res = decode_kv_result(*result);
    if (!res) return std::nullopt;
  }
  switch (op->kind) {
    case KvKind::kPut:
      if (res && !(res->status == KvStatus::kOk && res->value == cur)) return std::nullopt;
      return state_of(op->value);
    case KvKind::kGet:
      if (res && !(res->status == KvStatus::kOk && res->value == cur)) return std::nullopt;
      return s;
    case KvKind::kCas:
      if (cur == op->expected) {
        if (res && !(res->status == KvStatus::kOk && res->value == cur)) return std::nullopt;
        return state_of(op->value);
      }
      if (res && !(res->status == KvStatus::kCasFailed && res->value == cur)) return std::nullopt;
      return s;
    case KvKind::kWait:
      if (!res) return s;
      if (res->status == KvStatus::kOk) {
        if (cur != op->value || res->value != cur) return std::nullopt;
        return s;
      }
      // A timeout reports the value at the moment agreed time passed the deadline; the key did
      // not hold the awaited value then.
      if (res->status == KvStatus::kTimeout && res->value == cur && cur != op->value) return s;
      return std::nullopt;
  }
  return std::nullopt;
}

bool KvModel::is_read(const Bytes& op) const {
  auto o = decode_kv_op(op);
  return o && (o->kind == KvKind::kGet || o->kind == KvKind::kWait);
}

std::string KvModel::describe_op(const Bytes& op_bytes) const {
  auto op = decode_kv_op(op_bytes);
  if (!op) return "<malformed>";
  switch (op->kind) {
    case KvKind::kPut:
      return "put(" + op->key + ", " + op->value + ")";
    case KvKind::kGet:
      return "get(" + op->key + ")";
    case KvKind::kCas:
      return "cas(" + op->key + ", " + show(op->expected) + ", " + op->value + ")";
    case KvKind::kWait:
      return "wait(" + op->key + ", " + op->value + ", " + std::to_string(op->timeout_us) + "us)";
  }
  return "<?>";
}

std::string KvModel::describe_result(const Bytes& result) const {
  auto r = decode_kv_result(result);
  if (!r) return "<malformed result>";
  static const char* const names[] = {"ok", "cas_failed", "timeout", "bad_request"};
  return std::string(names[static_cast<int>(r->status)]) + "(" + show(r->value) + ")";
}

std::string KvModel::describe_state(const State& s) const { return show(value_of(s)); }

// ---- KvWorkload ---------------------------------------------------------------------------------

KvWorkload::KvWorkload(Rng rng, std::uint32_t clients)
    : rng_(rng), last_seen_(clients + 1), counters_(clients + 1, 0) {
  const std::size_t key_count = 2 + rng_.index(4);
  for (std::size_t i = 0; i < key_count; ++i) keys_.push_back("k" + std::to_string(i));
}

std::string KvWorkload::fresh_value(std::uint32_t client) {
  if (client >= counters_.size()) counters_.resize(client + 1, 0);
  return "c" + std::to_string(client) + "." + std::to_string(++counters_[client]);
}

std::optional<std::string> KvWorkload::seen(std::uint32_t client, const std::string& key) {
  if (client >= last_seen_.size()) last_seen_.resize(client + 1);
  auto it = last_seen_[client].find(key);
  return it == last_seen_[client].end() ? std::nullopt : it->second;
}

WorkloadOp KvWorkload::next_op(std::uint32_t client) {
  const std::string& key = rng_.pick(keys_);
  const auto roll = rng_.index(100);
  if (roll < 25) return {kv_put(key, fresh_value(client)), false};
  if (roll < 40) return {kv_get(key), false};
  if (roll < 60) return {kv_get(key), true};
  if (roll < 85) {
    std::optional<std::string> expected = seen(client, key);
    const auto& w = written_[key];
    if (rng_.chance(0.2))
      expected = w.empty() || rng_.chance(0.3) ? std::nullopt : std::optional(rng_.pick(w));
    return {kv_cas(key, expected, fresh_value(client)), false};
  }
  // Wait for a value that was written or will be (sometimes one nobody writes: a timeout).
  const auto& w = written_[key];
  std::string awaited = w.empty() || rng_.chance(0.3) ? "c0.1" : rng_.pick(w);
  if (rng_.chance(0.3))
    awaited = "c" + std::to_string(rng_.index(counters_.size())) + "." +
              std::to_string(1 + rng_.index(8));
  const TimeUs timeout_us = static_cast<TimeUs>(rng_.uniform(20'000, 800'000));
  return {kv_wait(key, awaited, timeout_us), false};
}

void KvWorkload::observe(std::uint32_t client, const WorkloadOp& op, const Bytes& result) {
  auto o = decode_kv_op(op.payload);
  auto r = decode_kv_result(result);
  if (!o || !r) return;
  if (client >= last_seen_.size()) last_seen_.resize(client + 1);
  auto& seen_map = last_seen_[client];
  switch (o->kind) {
    case KvKind::kPut:
      seen_map[o->key] = o->value;
      written_[o->key].push_back(o->value);
      break;
    case KvKind::kCas:
      if (r->status == KvStatus::kOk) {
        seen_map[o->key] = o->value;
        written_[o->key].push_back(o->value);
      } else {
        seen_map[o->key] = r->value;
      }
      break;
    case KvKind::kGet:
    case KvKind::kWait:
      seen_map[o->key] = r->value;
      break;
  }
  auto& w = written_[o->key];
  if (w.size() > 16) w.erase(w.begin());
}

std::vector<Bytes> KvWorkload::equivocation(std::uint32_t client) {
  const std::string& key = rng_.pick(keys_);
  if (rng_.chance(0.5)) return {kv_put(key, fresh_value(client)), kv_put(key, fresh_value(client))};
  return {kv_cas(key, seen(client, key), fresh_value(client)), kv_put(key, fresh_value(client))};
}

WorkloadOp KvWorkload::harmless(std::uint32_t /*client*/, bool blocking) {
  const std::string& key = rng_.pick(keys_);
  if (!blocking) return {kv_get(key), false};
  // A value nobody writes: the waiter stays until its timeout, beyond most runs.
  const TimeUs timeout_us = static_cast<TimeUs>(rng_.uniform(5'000'000, kKvTimeoutUsMax));
  return {kv_wait(key, "byz.never", timeout_us), false};
}

AppPlugin kv_app_plugin() {
  AppPlugin p;
  p.name = "kv";
  p.make_state_machine = [] { return std::make_unique<KvStateMachine>(); };
  p.make_workload = [](Rng rng, std::uint32_t clients) {
    return std::make_unique<KvWorkload>(rng, clients);
  };
  p.make_model = [] { return std::make_unique<KvModel>(); };
  return p;
}

}  // namespace bastion::bft::sim
