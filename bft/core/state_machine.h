// The replicated application, as the replication core sees it.
//
// The core executes committed batches in sequence order: for each batch it calls begin_batch()
// with the batch's agreed time, then execute() for each request in batch order. Everything the
// application does must be a pure function of its state and these calls (no clock, no randomness,
// no iteration order of hash containers), so that every correct replica computes the same results
// and the same digest.
//
// A request may complete later (a blocking read woken by a later insertion, or timed out by a later
// batch's time): execute() then reports it as pending, and a later call reports it in
// `completions`, addressed by (client, number). The core caches every result in its client table
// and sends replies; the application never talks to clients.
//
// Thread-safety: called from the one thread that owns the replica.
#pragma once

#include <optional>
#include <vector>

#include "bft/core/state_bytes.h"
#include "bft/core/types.h"

namespace bastion::bft {

// A result of a request that completes now or later.
struct Completion {
  ClientKey client;
  std::uint64_t number = 0;
  Bytes result;
};

struct ExecuteResult {
  // The request's own result, or nullopt if it waits (it will appear in a later `completions`).
  std::optional<Bytes> result;
  // Earlier pending requests that this call completed (e.g. waiters woken by an insertion).
  std::vector<Completion> completions;
};

class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // Start of a batch with agreed time `now_us` (non-decreasing from batch to batch). Returns the
  // pending requests whose deadline has passed (timeouts), in a deterministic order.
  virtual std::vector<Completion> begin_batch(TimeUs now_us) = 0;

  // Executes one ordered request. `request.client.principal` is authenticated.
  virtual ExecuteResult execute(const Request& request) = 0;

  // Executes a request marked read-only without ordering, against the current state, as of the
  // last agreed time. Must not change the state. Returns nullopt if the payload is not a read-only
  // operation (the client then retries it ordered).
  virtual std::optional<Bytes> execute_read_only(const Request& request) = 0;

  // Earliest agreed time at which something time-dependent happens (a lease expires, a waiter
  // times out), or nullopt. The primary proposes an empty batch when it is due, so time advances
  // while the service is idle.
  virtual std::optional<TimeUs> next_deadline_us() const = 0;

  // A client session was evicted from the client table: drop whatever waits on its behalf
  // (no completion is sent for it).
  virtual void session_evicted(const ClientKey& client) = 0;

  // Canonical encoding of the whole state; digest() is BLAKE2b of exactly these bytes.
  virtual Bytes snapshot() const = 0;
  // Appends snapshot()'s bytes to `out` as shared pieces that never change once made (another
  // thread may hash them while execution goes on). A checkpoint takes the whole state: a state
  // machine with a large state overrides this to hand out the encodings it keeps of the parts that
  // did not change since the previous call, rather than encode and copy all of it each time.
  virtual void snapshot_pieces(StateBytes& out) const {
    out.append(std::make_shared<const Bytes>(snapshot()));
  }
  virtual Digest digest() const = 0;
  // Replaces the state with a snapshot (hostile input: validate). False if malformed.
  virtual bool restore(ByteView snapshot) = 0;
};

}  // namespace bastion::bft
