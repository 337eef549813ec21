// The operations bastion-bench sends: which request each bench client issues next, what it
// preloads, and whether a reply is the one the operation expects.
//
// Every tuple the tool writes is ("bench", client, key, <payload bytes>): client is the bench
// client's index, key an integer unique within that client. Keys below kReadKeys are the read
// set, preloaded for rdp and mix and never removed; keys from kReadKeys up are written by out,
// cas, inp's stock and refills, each exactly once.
//
//   out   out(("bench", c, k, payload)) with a fresh k.
//   rdp   rdp(("bench", c, k, *)) cycling over the client's read set (a tuple that exists).
//   inp   inp(("bench", c, k, *)) of the oldest tuple in the client's stock. The stock is
//         preloaded (kStockInitial per client); when it falls below kStockLow the client's next
//         step is a refill (one out_all of kRefillTuples fresh tuples, not counted as an op), so
//         inp never runs dry.
//   cas   cas(("bench", c, k, *), ("bench", c, k, payload)) with a fresh k: nothing matches, so
//         every cas takes the insertion path (the one that changes the state).
//   mix   a fixed cycle of 10 steps: out rdp out inp out rdp out inp out rdp (50% out, 30% rdp,
//         20% inp); inp removes the client's oldest stocked tuple (out adds to the stock, which
//         is preloaded with kStockInitialMix so it never runs dry; a refill covers the rest).
//
// Only the thread that owns a ClientState may use it (one driver thread per client); Workload
// itself is immutable after construction and may be shared.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "tuplespace/ops.h"

namespace bastion::bench {

enum class Op : std::uint8_t { kOut, kRdp, kInp, kCas, kMix };
// The kinds of single steps; kRefill is bookkeeping, never reported as an op.
enum class StepKind : std::uint8_t { kOut, kRdp, kInp, kCas, kRefill };
inline constexpr std::size_t kStepKinds = 5;

std::optional<Op> parse_op(std::string_view name);
std::string_view op_name(Op op);
std::string_view step_name(StepKind kind);

inline constexpr std::int64_t kReadKeys = 16;
inline constexpr std::size_t kStockInitial = 512;
inline constexpr std::size_t kStockInitialMix = 64;
inline constexpr std::size_t kStockLow = 32;
inline constexpr std::size_t kRefillTuples = 256;

struct Step {
  StepKind kind = StepKind::kOut;
  std::int64_t key = 0;    // the tuple the step reads, removes or writes (first key of a refill)
  std::size_t tuples = 1;  // tuples written by a refill
  ts::Request request;
};

// What a completed step amounts to: ok, or the name of an error ("unavailable", "not_found",
// ... from errc_name, or "unexpected_reply" for a reply of the wrong kind or content).
struct StepResult {
  bool ok = false;
  std::string error;
};

class Workload {
 public:
  Workload(Op op, std::string space, std::size_t payload_bytes);

  Op op() const { return op_; }
  const std::string& space() const { return space_; }

  ts::Tuple tuple(std::int64_t client, std::int64_t key) const;
  ts::Template key_template(std::int64_t client, std::int64_t key) const;
  // out_all requests that write keys [first, first + count) of a client, in chunks that stay
  // well inside a client frame.
  std::vector<ts::Request> writes(std::int64_t client, std::int64_t first, std::size_t count) const;
  std::size_t tuples_per_write() const { return tuples_per_write_; }

 private:
  Op op_;
  std::string space_;
  std::string payload_;
  std::size_t tuples_per_write_;
};

// One bench client's position in its workload.
class ClientState {
 public:
  ClientState(const Workload& workload, std::int64_t client);

  // The preload: out_all requests for the read set and the initial stock. Call once, before the
  // first next(); the state assumes they all succeed (the caller aborts otherwise).
  std::vector<ts::Request> preload();

  Step next();
  // Checks the reply against what the step expects and updates the stock.
  StepResult finish(const Step& step, const Expected<ts::Reply>& reply);

  std::int64_t client() const { return client_; }

 private:
  Step out_step(StepKind kind);
  Step rdp_step();
  Step inp_or_refill_step();
  StepResult check(const Step& step, const ts::Reply& reply) const;

  const Workload* workload_;
  std::int64_t client_;
  std::int64_t next_key_ = kReadKeys;  // the next fresh key
  std::uint64_t steps_ = 0;
  std::int64_t next_read_ = 0;
  std::deque<std::int64_t> stock_;  // keys known to exist and not yet claimed by an inp
};

}  // namespace bastion::bench
