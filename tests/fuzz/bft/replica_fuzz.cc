// Fuzz target driving a running replica (replica 1 of 4) with arbitrary events. It must never
// crash, hang or grow without bound, whatever it is fed.
//
// Input: a sequence of events, each: kind (1 byte), arg (1 byte), length (2 bytes, little
// endian), then `length` bytes:
//   kind % 4 == 0: a message from replica arg % 4 (bytes as received)
//   kind % 4 == 1: a message from client "c<arg % 8>"
//   kind % 4 == 2: a tick, time advancing by arg milliseconds
//   kind % 4 == 3: a message from replica arg % 4, then a tick of 1 ms
// The verifier accepts every signature, so the fuzzer reaches states a single faulty replica
// could not (all peers forging): robustness is checked, not safety.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "bft/core/driver.h"
#include "bft/core/replica.h"
#include "codec/digest.h"

namespace {

using namespace bastion::bft;

class AcceptAllVerifier final : public Verifier {
 public:
  bool verify(ReplicaId, SignDomain, ByteView, const Signature&) override { return true; }
};

class NullSigner final : public Signer {
 public:
  Signature sign(SignDomain, ByteView) override { return Signature{}; }
};

// A counter of executed payload bytes: small, deterministic, with a restore that validates.
class CountingApp final : public StateMachine {
 public:
  std::vector<Completion> begin_batch(TimeUs now_us) override {
    now_us_ = now_us;
    return {};
  }
  ExecuteResult execute(const Request& r) override {
    total_ += r.payload.size();
    ExecuteResult out;
    if (!r.payload.empty() && r.payload[0] == 'w') return out;  // waits forever
    out.result = Bytes{static_cast<std::uint8_t>(total_)};
    return out;
  }
  std::optional<Bytes> execute_read_only(const Request& r) override {
    if (r.payload.empty()) return std::nullopt;
    return Bytes{static_cast<std::uint8_t>(total_)};
  }
  std::optional<TimeUs> next_deadline_us() const override {
    return total_ % 3 == 0 ? std::optional<TimeUs>(now_us_ + 1000) : std::nullopt;
  }
  void session_evicted(const ClientKey&) override {}
  Bytes snapshot() const override {
    Bytes b(8);
    for (int i = 0; i < 8; ++i)
      b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total_ >> (8 * i));
    return b;
  }
  Digest digest() const override { return bastion::codec::blake2b(snapshot()); }
  bool restore(ByteView s) override {
    if (s.size() != 8) return false;
    total_ = 0;
    for (int i = 0; i < 8; ++i) total_ |= std::uint64_t{s[static_cast<std::size_t>(i)]} << (8 * i);
    return true;
  }

 private:
  std::uint64_t total_ = 0;
  TimeUs now_us_ = 0;
};

// The disk syncs at once and checkpoint states are captured on the spot; sends go nowhere.
class FuzzEnv final : public DriverEnv {
 public:
  FuzzEnv(Replica& replica, const TimeUs& now) : replica_(replica), now_(now) {}
  bool answer_capture(const CaptureRequest& request) override {
    replica_.on_checkpoint_captured(request.id, CapturedState::of(replica_.checkpoint_state()),
                                    now_);
    return true;
  }
  Appended append(std::vector<PersistRecord>& /*records*/, bool /*sync*/,
                  std::uint64_t /*records_end*/) override {
    return Appended::kDurable;
  }
  void carry_out(Output& /*out*/) override {}

 private:
  Replica& replica_;
  const TimeUs& now_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Config config;
  config.self = 1;
  config.checkpoint_interval = 4;
  config.log_window = 8;
  config.pending_requests_per_replica_max = 64;
  config.pending_bytes_per_principal_max = 1 << 16;
  CountingApp app;
  NullSigner signer;
  AcceptAllVerifier verifier;
  Replica replica(config, app, signer, verifier);
  TimeUs now = 1'000'000;
  FuzzEnv env(replica, now);
  Driver driver(replica, env);
  replica.start(now);
  std::size_t pos = 0;
  while (pos + 4 <= size) {
    const std::uint8_t kind = data[pos];
    const std::uint8_t arg = data[pos + 1];
    const std::size_t len = data[pos + 2] | (std::size_t{data[pos + 3]} << 8);
    pos += 4;
    const std::size_t take = std::min(len, size - pos);
    const ByteView bytes(data + pos, take);
    pos += take;
    now += 100;
    switch (kind % 4) {
      case 0:
        replica.on_replica_message(arg % 4, bytes, now);
        break;
      case 1:
        replica.on_client_message("c" + std::to_string(arg % 8), bytes, now);
        break;
      case 2:
        now += TimeUs{arg} * 1000;
        replica.on_tick(now);
        break;
      default:
        replica.on_replica_message(arg % 4, bytes, now);
        now += 1000;
        replica.on_tick(now);
        break;
    }
    driver.run();
  }
  // Whatever happened, what the replica holds stays within its configured bounds.
  const auto sizes = replica.debug_sizes();
  if (sizes.at("log.entries") > config.log_window) std::abort();
  if (sizes.at("view_change.buffered") > config.n) std::abort();
  if (sizes.at("checkpoint.votes") > config.n * (config.log_window / config.checkpoint_interval)) {
    std::abort();
  }
  return 0;
}
