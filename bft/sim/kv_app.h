// The simulator's test application: a replicated key-value map with put, get, compare-and-set
// and a blocking "wait until key has value v, with a timeout" (which exercises pending
// completions and agreed time), plus its wire encoding and its sequential model.
//
// Operations and results (canonical codec encodings, hostile on decode):
//   put(k, v)          -> ok, value = previous value of k (absent: none)
//   get(k)             -> ok, value = current value (also as a read-only request)
//   cas(k, expected, v)-> ok with the previous value if k held `expected` (none = absent) and now
//                         holds v; else cas_failed with the current value
//   wait(k, v, t)      -> ok with v as soon as k holds v (at once if it does); else timeout with
//                         the value k holds when agreed time passes (start + t)
// Malformed or out-of-bounds operations get bad_request and change nothing.
//
// KvStateMachine invariants: state = (agreed time, map, waiters, next waiter order); waiters
// complete in a deterministic order (deadline, then registration order); the snapshot is the
// canonical encoding of the state and restore() accepts only canonical snapshots (keys sorted
// and unique, waiter orders increasing), so equal states have equal digests.
//
// Thread-safety: none; one thread owns a KvStateMachine.
#pragma once

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bft/core/state_machine.h"
#include "bft/sim/app.h"
#include "codec/archive.h"

namespace bastion::bft::sim {

inline constexpr std::size_t kKvKeyBytesMax = 64;
inline constexpr std::size_t kKvValueBytesMax = 256;
inline constexpr TimeUs kKvTimeoutUsMax = 60'000'000;

enum class KvKind : std::uint8_t { kPut = 1, kGet = 2, kCas = 3, kWait = 4 };
enum class KvStatus : std::uint8_t { kOk = 0, kCasFailed = 1, kTimeout = 2, kBadRequest = 3 };

struct KvOp {
  KvKind kind = KvKind::kGet;
  std::string key;
  std::string value;                    // put, cas (new value), wait (awaited value)
  std::optional<std::string> expected;  // cas
  TimeUs timeout_us = 0;                // wait

  template <class A>
  void save(A& ar) const {
    ar(static_cast<std::uint8_t>(kind), key, value, expected, timeout_us);
  }
  template <class A>
  void load(A& ar) {
    std::uint8_t k = 0;
    ar(k, key, value, expected, timeout_us);
    if (k < 1 || k > 4) throw codec::DecodeError("kv: unknown operation");
    kind = static_cast<KvKind>(k);
  }
};

struct KvResult {
  KvStatus status = KvStatus::kOk;
  std::optional<std::string> value;

  friend bool operator==(const KvResult&, const KvResult&) = default;
  template <class A>
  void save(A& ar) const {
    ar(static_cast<std::uint8_t>(status), value);
  }
  template <class A>
  void load(A& ar) {
    std::uint8_t s = 0;
    ar(s, value);
    if (s > 3) throw codec::DecodeError("kv: unknown status");
    status = static_cast<KvStatus>(s);
  }
};

Bytes kv_put(const std::string& key, const std::string& value);
Bytes kv_get(const std::string& key);
Bytes kv_cas(const std::string& key, std::optional<std::string> expected, const std::string& value);
Bytes kv_wait(const std::string& key, const std::string& value, TimeUs timeout_us);
std::optional<KvOp> decode_kv_op(ByteView payload);
std::optional<KvResult> decode_kv_result(ByteView result);

class KvStateMachine final : public StateMachine {
 public:
  std::vector<Completion> begin_batch(TimeUs now_us) override;
  ExecuteResult execute(const Request& request) override;
  std::optional<Bytes> execute_read_only(const Request& request) override;
  std::optional<TimeUs> next_deadline_us() const override;
  void session_evicted(const ClientKey& client) override;
  Bytes snapshot() const override;
  Digest digest() const override;
  bool restore(ByteView snapshot) override;

  // For tests.
  const std::map<std::string, std::string>& data() const { return data_; }
  std::size_t waiters() const { return waiters_.size(); }

  struct Waiter {
    ClientKey client;
    std::uint64_t number = 0;
    std::string key;
    std::string value;
    TimeUs deadline_us = 0;
    template <class A>
    void serialize(A& ar) {
      ar(client, number, key, value, deadline_us);
    }
  };

 private:
  std::vector<Completion> wake(const std::string& key, const std::string& value);

  TimeUs now_us_ = 0;
  std::map<std::string, std::string> data_;
  std::map<std::uint64_t, Waiter> waiters_;  // by registration order
  std::uint64_t next_order_ = 0;
};

class KvModel final : public SequentialModel {
 public:
  State initial() const override;
  std::string partition(const Bytes& op) const override;
  std::optional<State> step(const State& s, const Bytes& op,
                            const std::optional<Bytes>& result) const override;
  bool is_read(const Bytes& op) const override;
  std::string describe_op(const Bytes& op) const override;
  std::string describe_result(const Bytes& result) const override;
  std::string describe_state(const State& s) const override;
};

// Random operations over a few keys, with unique written values (which keeps the checker's
// search small) and cas/wait arguments drawn from values seen. The flooding Byzantine client's
// requests (harmless()) are gets, and waits of 5..60 s for a value nobody writes.
class KvWorkload final : public Workload {
 public:
  KvWorkload(Rng rng, std::uint32_t clients);
  WorkloadOp next_op(std::uint32_t client) override;
  void observe(std::uint32_t client, const WorkloadOp& op, const Bytes& result) override;
  std::vector<Bytes> equivocation(std::uint32_t client) override;
  WorkloadOp harmless(std::uint32_t client, bool blocking) override;

 private:
  std::string fresh_value(std::uint32_t client);
  std::optional<std::string> seen(std::uint32_t client, const std::string& key);

  Rng rng_;
  std::vector<std::string> keys_;
  std::vector<std::map<std::string, std::optional<std::string>>> last_seen_;  // per client
  std::map<std::string, std::vector<std::string>> written_;                   // per key
  std::vector<std::uint64_t> counters_;
};

AppPlugin kv_app_plugin();

}  // namespace bastion::bft::sim
