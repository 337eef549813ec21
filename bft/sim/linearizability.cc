// Wing & Gong / Lowe linearizability search; see linearizability.h.
#include "bft/sim/linearizability.h"

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_set>

#include "codec/digest.h"

namespace bastion::bft::sim {
namespace {

constexpr TimeUs kNever = std::numeric_limits<TimeUs>::max();

struct Entry {
  bool call = false;
  std::size_t op = 0;  // index into the partition's ops
  TimeUs time_us = 0;
  std::size_t match = 0;  // index of the other entry of the op
  std::size_t prev = 0;
  std::size_t next = 0;
};

struct CacheKey {
  std::vector<std::uint64_t> linearized;
  SequentialModel::State state;
  friend bool operator==(const CacheKey&, const CacheKey&) = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& k) const {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::uint64_t w : k.linearized) h = (h ^ w) * 0x100000001b3ULL;
    for (std::uint8_t b : k.state) h = (h ^ b) * 0x100000001b3ULL;
    return static_cast<std::size_t>(h);
  }
};

class PartitionSearch {
 public:
  PartitionSearch(const SequentialModel& model, std::vector<const HistoryOp*> ops)
      : model_(model), ops_(std::move(ops)) {
    build_list();
  }

  LinearizabilityReport::Verdict run(std::uint64_t budget, std::uint64_t& steps) {
    SequentialModel::State state = model_.initial();
    CacheKey key{std::vector<std::uint64_t>((ops_.size() + 63) / 64, 0), {}};
    std::unordered_set<CacheKey, CacheKeyHash> cache;
    std::uint64_t cache_bytes = 0;
    struct Frame {
      std::size_t call_entry;
      SequentialModel::State state;
    };
    std::vector<Frame> stack;
    std::size_t e = entries_[kHead].next;
    std::uint64_t local_steps = 0;
    while (true) {
      if (++local_steps > budget || cache_bytes > kCacheBytesMax) {
        steps += local_steps;
        return LinearizabilityReport::Verdict::kBudgetExceeded;
      }
      if (e == kTail) break;  // everything linearized
      const Entry& en = entries_[e];
      if (en.call) {
        const HistoryOp& op = *ops_[en.op];
        const bool group_free = !op.group || group_used_[*op.group] == 0;
        std::optional<SequentialModel::State> next;
        if (group_free) next = model_.step_by(op.client, state, op.op, op.result);
        if (next) {
          set_bit(key.linearized, en.op, true);
          key.state = *next;
          if (cache.insert(key).second) {
            cache_bytes += key.linearized.size() * sizeof(std::uint64_t) + key.state.size();
            stack.push_back({e, state});
            if (stack.size() > best_.size()) record_best(stack);
            if (op.group) ++group_used_[*op.group];
            state = std::move(*next);
            lift(e);
            e = entries_[kHead].next;
            continue;
          }
          set_bit(key.linearized, en.op, false);
        }
        e = en.next;
        continue;
      }
      // A response of an operation not yet linearized.
      if (en.time_us == kNever) break;  // only pending operations remain
      if (stack.empty()) {
        steps += local_steps;
        return LinearizabilityReport::Verdict::kViolation;
      }
      Frame f = std::move(stack.back());
      stack.pop_back();
      const HistoryOp& undone = *ops_[entries_[f.call_entry].op];
      if (undone.group) --group_used_[*undone.group];
      set_bit(key.linearized, entries_[f.call_entry].op, false);
      state = std::move(f.state);
      unlift(f.call_entry);
      e = entries_[f.call_entry].next;
    }
    steps += local_steps;
    return LinearizabilityReport::Verdict::kOk;
  }

  std::string explain(const std::string& partition) const {
    std::ostringstream s;
    s << "partition '" << partition << "': " << ops_.size() << " operations\n";
    std::vector<std::size_t> order(ops_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return ops_[a]->invoke_us < ops_[b]->invoke_us;
    });
    for (std::size_t i : order) {
      const HistoryOp& op = *ops_[i];
      s << "  #" << i << " client " << op.client << " [" << op.invoke_us << ", ";
      if (op.response_us) {
        s << *op.response_us << "] " << model_.describe_op(op.op) << " -> "
          << model_.describe_result(*op.result);
      } else {
        s << "pending] " << model_.describe_op(op.op);
      }
      if (op.group) s << " (alternative of group " << *op.group << ")";
      s << "\n";
    }
    s << "  longest linearizable prefix:";
    for (std::size_t i : best_) s << " #" << i;
    s << "\n";
    return s.str();
  }

 private:
  static constexpr std::size_t kHead = 0;
  static constexpr std::size_t kTail = 1;

  void build_list() {
    entries_.resize(2);
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      const HistoryOp& op = *ops_[i];
      Entry call{true, i, op.invoke_us, 0, 0, 0};
      Entry ret{false, i, op.response_us ? *op.response_us : kNever, 0, 0, 0};
      const std::size_t c = entries_.size();
      call.match = c + 1;
      ret.match = c;
      entries_.push_back(call);
      entries_.push_back(ret);
      idx.push_back(c);
      idx.push_back(c + 1);
    }
    // Time order; at equal times calls come first (concurrent), then by op for determinism.
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      const Entry& x = entries_[a];
      const Entry& y = entries_[b];
      if (x.time_us != y.time_us) return x.time_us < y.time_us;
      if (x.call != y.call) return x.call;
      return x.op < y.op;
    });
    std::size_t prev = kHead;
    for (std::size_t i : idx) {
      entries_[prev].next = i;
      entries_[i].prev = prev;
      prev = i;
    }
    entries_[prev].next = kTail;
    entries_[kTail].prev = prev;
  }

  void unlink(std::size_t i) {
    entries_[entries_[i].prev].next = entries_[i].next;
    entries_[entries_[i].next].prev = entries_[i].prev;
  }
  void relink(std::size_t i) {
    entries_[entries_[i].prev].next = i;
    entries_[entries_[i].next].prev = i;
  }
  void lift(std::size_t call) {
    unlink(call);
    unlink(entries_[call].match);
  }
  void unlift(std::size_t call) {
    relink(entries_[call].match);
    relink(call);
  }

  static void set_bit(std::vector<std::uint64_t>& bits, std::size_t i, bool on) {
    if (on) {
      bits[i / 64] |= std::uint64_t{1} << (i % 64);
    } else {
      bits[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
  }

  template <class Stack>
  void record_best(const Stack& stack) {
    best_.clear();
    for (const auto& f : stack) best_.push_back(entries_[f.call_entry].op);
  }

  const SequentialModel& model_;
  std::vector<const HistoryOp*> ops_;
  std::vector<Entry> entries_;
  std::map<std::uint64_t, std::uint32_t> group_used_;
  std::vector<std::size_t> best_;
};

}  // namespace

LinearizabilityReport check_linearizable(const SequentialModel& model,
                                         const std::vector<HistoryOp>& history,
                                         std::uint64_t budget) {
  std::map<std::string, std::vector<const HistoryOp*>> partitions;
  for (const HistoryOp& op : history) {
    if (!op.response_us && (model.is_read(op.op) || op.took_no_effect)) continue;
    partitions[model.partition(op.op)].push_back(&op);
  }
  LinearizabilityReport report;
  for (auto& [name, ops] : partitions) {
    PartitionSearch search(model, std::move(ops));
    std::uint64_t steps = 0;
    const auto verdict = search.run(budget, steps);
    report.steps += steps;
    report.steps_max = std::max(report.steps_max, steps);
    if (verdict != LinearizabilityReport::Verdict::kOk) {
      report.verdict = verdict;
      report.partition = name;
      report.explanation = search.explain(name);
      return report;
    }
  }
  return report;
}

}  // namespace bastion::bft::sim
