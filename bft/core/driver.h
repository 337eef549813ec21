// Carrying out a replica's outputs: the one loop that every driver of the core runs (bastiond,
// the simulator, the protocol tests' cluster, the fuzz target), over an environment that owns the
// disk, the network and the capture of checkpoint states (docs/protocol.md, "Driving the core").
//
// After each event given to the Replica, run() takes its output and
//   1. has the environment answer the checkpoint capture it asks for, if any (state_capture.h),
//      and takes what execution then produced into the same output (Output::append), as long as
//      captures are asked for and answered;
//   2. gives the output's records to the environment's disk; when the disk made them durable at
//      once it tells the replica (Replica::on_durable) and takes the sends that waited for them
//      into the output;
//   3. gives the output to the environment to carry out: messages, replies, executed batches.
// A disk that syncs later reports it with durable(); the next run() carries out what it released.
//
// Thread-safety: none; the replica's thread owns it.
#pragma once

#include <cstdint>
#include <vector>

#include "bft/core/replica.h"

namespace bastion::bft {

class DriverEnv {
 public:
  virtual ~DriverEnv() = default;

  // Answers `request` through the replica (on_checkpoint_captured() on the spot, or
  // on_checkpoint_capture_started() for a frozen image); false when it leaves the request
  // unanswered for now (a test holding captures): the output then goes out asking for it.
  virtual bool answer_capture(const CaptureRequest& request) = 0;

  enum class Appended : std::uint8_t {
    kDurable,  // durable on return (synced on the spot, or nothing to sync)
    kLater,    // made durable later, in order, and reported with Driver::durable() if `sync`
    kStopped,  // the replica is gone (a crash during the sync, a failed disk): nothing is sent
  };
  // Appends `records` after every earlier one; the first `records_end` records taken from the
  // replica end with them. `sync`: the output's sends wait for them to be durable.
  virtual Appended append(std::vector<PersistRecord>& records, bool sync,
                          std::uint64_t records_end) = 0;

  // Carries out the rest of the output: messages, replies, status reports, executed batches.
  virtual void carry_out(Output& out) = 0;
};

class Driver {
 public:
  // `check_invariants`: Replica::check_invariants() before each output is taken (the simulator
  // and the tests; it aborts on a violation).
  Driver(Replica& replica, DriverEnv& env, bool check_invariants = false)
      : replica_(replica), env_(env), check_invariants_(check_invariants) {}

  // Carries out everything the replica produced since the last call.
  void run();
  // The environment made the first `records` records taken from the replica durable.
  void durable(std::uint64_t records) { replica_.on_durable(records); }
  // Records taken from the replica's outputs so far.
  std::uint64_t records_taken() const { return records_taken_; }

 private:
  Replica& replica_;
  DriverEnv& env_;
  bool check_invariants_;
  std::uint64_t records_taken_ = 0;
};

}  // namespace bastion::bft
