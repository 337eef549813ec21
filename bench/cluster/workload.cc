// The bench operations; see workload.h.
#include "bench/cluster/workload.h"

#include <algorithm>
#include <array>
#include <utility>
#include <variant>

namespace bastion::bench {
namespace {

// Bytes of one written tuple besides its payload (tags, lengths, "bench", two ints), rounded up,
// and what one out_all may carry: far below the default 1 MiB client frame.
constexpr std::size_t kTupleOverheadBytes = 48;
constexpr std::size_t kWriteBytesMax = 256 * 1024;
constexpr std::size_t kWriteTuplesMax = 256;

constexpr std::array<StepKind, 10> kMixCycle = {
    StepKind::kOut, StepKind::kRdp, StepKind::kOut, StepKind::kInp, StepKind::kOut,
    StepKind::kRdp, StepKind::kOut, StepKind::kInp, StepKind::kOut, StepKind::kRdp};

ts::TupleSpec spec_of(ts::Tuple tuple) {
  ts::TupleSpec spec;
  spec.tuple = std::move(tuple);
  return spec;
}

std::optional<std::int64_t> key_of(const ts::Tuple& tuple) {
  if (tuple.size() != 4 || tuple[2].type() != ts::Type::kInt) return std::nullopt;
  return tuple[2].as_int();
}

}  // namespace

std::optional<Op> parse_op(std::string_view name) {
  if (name == "out") return Op::kOut;
  if (name == "rdp") return Op::kRdp;
  if (name == "inp") return Op::kInp;
  if (name == "cas") return Op::kCas;
  if (name == "mix") return Op::kMix;
  return std::nullopt;
}

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kOut:
      return "out";
    case Op::kRdp:
      return "rdp";
    case Op::kInp:
      return "inp";
    case Op::kCas:
      return "cas";
    case Op::kMix:
      return "mix";
  }
  return "?";
}

std::string_view step_name(StepKind kind) {
  switch (kind) {
    case StepKind::kOut:
      return "out";
    case StepKind::kRdp:
      return "rdp";
    case StepKind::kInp:
      return "inp";
    case StepKind::kCas:
      return "cas";
    case StepKind::kRefill:
      return "refill";
  }
  return "?";
}

Workload::Workload(Op op, std::string space, std::size_t payload_bytes)
    : op_(op),
      space_(std::move(space)),
      payload_(payload_bytes, '\0'),
      tuples_per_write_(std::clamp<std::size_t>(
          kWriteBytesMax / (payload_bytes + kTupleOverheadBytes), 1, kWriteTuplesMax)) {
  // Varied bytes: nothing in the path compresses, but a constant payload would hide a bug that
  // mixes up tuples of equal size.
  for (std::size_t i = 0; i < payload_.size(); ++i) {
    payload_[i] = static_cast<char>((i * 131 + 7) & 0xFF);
  }
}

ts::Tuple Workload::tuple(std::int64_t client, std::int64_t key) const {
  return ts::Tuple{ts::Value("bench"), ts::Value(client), ts::Value(key),
                   ts::Value(ts::Blob{payload_})};
}

ts::Template Workload::key_template(std::int64_t client, std::int64_t key) const {
  return ts::Template{ts::Pattern(ts::Value("bench")), ts::Pattern(ts::Value(client)),
                      ts::Pattern(ts::Value(key)), ts::Pattern::any()};
}

std::vector<ts::Request> Workload::writes(std::int64_t client, std::int64_t first,
                                          std::size_t count) const {
  std::vector<ts::Request> requests;
  for (std::size_t done = 0; done < count;) {
    const std::size_t chunk = std::min(tuples_per_write_, count - done);
    ts::OutAll write{space_, {}};
    write.entries.reserve(chunk);
    for (std::size_t i = 0; i < chunk; ++i) {
      write.entries.push_back(spec_of(tuple(client, first + static_cast<std::int64_t>(done + i))));
    }
    requests.emplace_back(std::move(write));
    done += chunk;
  }
  return requests;
}

ClientState::ClientState(const Workload& workload, std::int64_t client)
    : workload_(&workload), client_(client) {}

std::vector<ts::Request> ClientState::preload() {
  std::vector<ts::Request> requests;
  auto add = [&requests](std::vector<ts::Request> more) {
    for (ts::Request& r : more) requests.push_back(std::move(r));
  };
  const Op op = workload_->op();
  if (op == Op::kRdp || op == Op::kMix) add(workload_->writes(client_, 0, kReadKeys));
  const std::size_t stock = op == Op::kInp ? kStockInitial : op == Op::kMix ? kStockInitialMix : 0;
  if (stock > 0) {
    add(workload_->writes(client_, next_key_, stock));
    for (std::size_t i = 0; i < stock; ++i) stock_.push_back(next_key_++);
  }
  return requests;
}

Step ClientState::next() {
  const std::uint64_t step = steps_++;
  switch (workload_->op()) {
    case Op::kOut:
      return out_step(StepKind::kOut);
    case Op::kRdp:
      return rdp_step();
    case Op::kInp:
      return inp_or_refill_step();
    case Op::kCas:
      return out_step(StepKind::kCas);
    case Op::kMix:
      switch (kMixCycle[step % kMixCycle.size()]) {
        case StepKind::kRdp:
          return rdp_step();
        case StepKind::kInp:
          return inp_or_refill_step();
        default:
          return out_step(StepKind::kOut);
      }
  }
  return out_step(StepKind::kOut);
}

Step ClientState::out_step(StepKind kind) {
  Step step;
  step.kind = kind;
  step.key = next_key_++;
  ts::TupleSpec entry = spec_of(workload_->tuple(client_, step.key));
  if (kind == StepKind::kCas) {
    step.request =
        ts::Cas{workload_->space(), workload_->key_template(client_, step.key), std::move(entry)};
  } else {
    step.request = ts::Out{workload_->space(), std::move(entry)};
  }
  return step;
}

Step ClientState::rdp_step() {
  Step step;
  step.kind = StepKind::kRdp;
  step.key = next_read_;
  next_read_ = (next_read_ + 1) % kReadKeys;
  step.request = ts::Rdp{workload_->space(), workload_->key_template(client_, step.key)};
  return step;
}

Step ClientState::inp_or_refill_step() {
  Step step;
  if (stock_.size() < kStockLow) {
    // A refill takes this client's turn: the client has one request outstanding at a time, so
    // its stock cannot be claimed while the refill is on its way.
    step.kind = StepKind::kRefill;
    step.key = next_key_;
    step.tuples = std::min(kRefillTuples, workload_->tuples_per_write());
    next_key_ += static_cast<std::int64_t>(step.tuples);
    step.request = std::move(workload_->writes(client_, step.key, step.tuples).front());
    return step;
  }
  step.kind = StepKind::kInp;
  step.key = stock_.front();
  stock_.pop_front();  // claimed: even a failed inp may have removed it
  step.request = ts::Inp{workload_->space(), workload_->key_template(client_, step.key)};
  return step;
}

StepResult ClientState::finish(const Step& step, const Expected<ts::Reply>& reply) {
  if (!reply) return StepResult{false, std::string(errc_name(reply.error().code))};
  StepResult result = check(step, *reply);
  if (!result.ok) return result;
  if (step.kind == StepKind::kRefill) {
    for (std::size_t i = 0; i < step.tuples; ++i) {
      stock_.push_back(step.key + static_cast<std::int64_t>(i));
    }
  } else if (step.kind == StepKind::kOut && workload_->op() == Op::kMix) {
    stock_.push_back(step.key);
  }
  return result;
}

StepResult ClientState::check(const Step& step, const ts::Reply& reply) const {
  const StepResult unexpected{false, "unexpected_reply"};
  switch (step.kind) {
    case StepKind::kOut:
    case StepKind::kRefill:
      return std::holds_alternative<ts::Ack>(reply) ? StepResult{true, {}} : unexpected;
    case StepKind::kRdp:
    case StepKind::kInp: {
      const auto* found = std::get_if<ts::Found>(&reply);
      if (found == nullptr || key_of(found->tuple) != step.key) return unexpected;
      return StepResult{true, {}};
    }
    case StepKind::kCas: {
      const auto* cas = std::get_if<ts::CasResult>(&reply);
      if (cas == nullptr || !cas->inserted) return unexpected;
      return StepResult{true, {}};
    }
  }
  return unexpected;
}

}  // namespace bastion::bench
