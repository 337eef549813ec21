// Engine: the replicated tuple-space state machine (spaces, tuples, leases, waiting rd/in).
//
// Pure and deterministic: no I/O, clock, threads or randomness. Time is the agreed time passed in
// with every call; results never depend on memory addresses, hash-table iteration or anything but
// the sequence of calls. Every replica fed the same calls returns the same Outcomes and has the
// same snapshot() bytes and digest().
//
// Time: the engine keeps the latest agreed time it was given (now_ms(), starting at 0); a call
// carrying an earlier time is executed at the latest time instead, so time never runs backwards.
// Every call first advances to its time: tuples whose expiry is <= now are removed (in order of
// (expiry, seq)) and waiters whose deadline is <= now are answered timed_out (in order of
// (deadline, arrival)), then the operation runs.
//
// Waiting: rd/in that find nothing reply Pending and stay in the state; later calls answer them
// through Outcome::completions (see ops.h). The semantics of every operation, the order of checks
// and the snapshot format are documented in docs/tuplespace.md.
//
// Read-only execution: execute_read_only() runs rdp, rdAll, space list and space show without
// changing the state and without purging; tuples with expiry <= now are treated as absent, so the
// reply is the one ordered execution at the same time would give.
//
// Thread-safety: none. One thread owns an Engine; const methods may run concurrently with each
// other but not with a non-const one, except snapshot(), snapshot_pieces(), digest() and
// hash_snapshot(), which bring the cache of snapshot pages up to date. The pieces
// snapshot_pieces() hands out never change: other threads may read them while the engine goes on.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/archive.h"
#include "codec/digest.h"
#include "codec/result.h"
#include "tuplespace/encoded.h"
#include "tuplespace/error.h"
#include "tuplespace/ops.h"
#include "tuplespace/tuple_store.h"

namespace bastion::ts {

// The snapshot format this build writes (the snapshot's first byte). It also reads versions 1 to 4
// (docs/tuplespace.md, "Snapshot format").
inline constexpr std::uint8_t kSnapshotVersion = 5;
// A snapshot page holds consecutive tuples of one space whose encodings add up to at most this
// (or one larger tuple), and ends early after a tuple whose seq is a page boundary.
inline constexpr std::uint64_t kSnapshotPageBytes = 64 << 10;
// Whether a page ends after the tuple `seq` (about one seq in 64).
bool snapshot_page_boundary(std::uint64_t seq);

// Most principals a space denies after repairs (a bound for decoding; each needs a repair with
// evidence, so a real space stays far below it).
inline constexpr std::size_t kBlacklistMax = 4096;

// "No lease" / "no deadline" in snapshots and in the state.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// Bounds on the whole state, beyond each space's own options (set from the cluster file; part of
// the execution settings every replica must share). A stored tuple is charged its encoding, its
// access-list names and kEntryOverheadBytes to the principal that inserted it; a waiting rd/in its
// template's encoding and kEntryOverheadBytes to the principal waiting.
struct EngineLimits {
  // One principal's charge over every space.
  std::uint64_t bytes_per_principal_max = std::uint64_t{256} << 20;
  // Everyone's charge: keeps the snapshot below what state transfer carries (the replication
  // layer's snapshot_bytes_max, 4 GiB by default), with room for the encoding's own overhead.
  std::uint64_t state_bytes_max = std::uint64_t{3} << 30;
  friend bool operator==(const EngineLimits&, const EngineLimits&) = default;
};
inline constexpr std::uint64_t kEntryOverheadBytes = 64;

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Executes one ordered request at ctx.now_ms.
  Outcome execute(const Context& ctx, const Request& request);

  // Executes a read-only request (read_only(request) must hold) without changing anything.
  // Outcome::completions is always empty.
  Outcome execute_read_only(const Context& ctx, const Request& request) const;

  // Advances time: purges expired tuples, answers waiters whose timeout passed.
  std::vector<Completion> advance(std::int64_t now_ms);

  // Answers cancelled to every waiter of (client, session), in arrival order.
  std::vector<Completion> cancel_session(std::string_view client, std::uint64_t session);

  // The earliest lease expiry or waiter deadline, if any: the replication layer must execute
  // something (an empty batch) at that time for the expiry or timeout to happen.
  std::optional<std::int64_t> next_deadline() const;

  // Canonical, versioned encoding of the whole state; restore() of it gives an equal Engine. The
  // tuples are encoded in pages that are kept while none of their tuples changes, so a snapshot
  // re-encodes what changed since the previous one and copies the rest.
  codec::Bytes snapshot() const;
  // snapshot()'s bytes as pieces to `emit`, in order: a header encoded now, then the pages, shared
  // (only those that changed since the previous snapshot are encoded again, no page is copied).
  using Piece = std::shared_ptr<const codec::Bytes>;
  void snapshot_pieces(const std::function<void(Piece)>& emit) const;
  // Rebuilds an Engine from a snapshot, validating everything (code malformed on failure).
  static Result<Engine, Error> restore(codec::ByteView bytes);
  // BLAKE2b-256 of snapshot(), computed without building it.
  codec::Digest digest() const;
  // Feeds snapshot()'s bytes to `hasher` without building them (a digest over a header and them).
  void hash_snapshot(codec::Blake2b& hasher) const;

  // What a policy script may learn of a space (policy/): the tuples matching `tmpl` that are
  // visible at `now`, whatever their access lists, oldest first. Counts matches up to
  // `match_max` and examines at most `examine_max` stored tuples (the indexes decide which, the
  // same way on every replica); `complete` is false when it stopped for lack of examinations.
  // The template must be valid (non-empty, finite floats); a missing space has no tuples.
  struct Probe {
    std::uint64_t matches = 0;
    std::uint64_t examined = 0;
    bool complete = true;
    std::optional<Tuple> first;  // the oldest match, when want_first
  };
  Probe probe(std::string_view space, const Template& tmpl, std::int64_t now,
              std::uint64_t match_max, std::uint64_t examine_max, bool want_first) const;

  // Replaces the limits; what is already stored stays (a restored state is never refused for
  // them), only further inserts and waits are checked.
  void set_limits(const EngineLimits& limits) { limits_ = limits; }
  const EngineLimits& limits() const { return limits_; }

  // ---- introspection (not part of the replicated interface) ----
  std::int64_t now_ms() const { return now_ms_; }
  std::uint64_t state_bytes() const { return state_bytes_; }
  std::uint64_t bytes_of(std::string_view principal) const;
  const SpaceOptions* space_options(std::string_view space) const;
  std::size_t tuple_count(std::string_view space) const;  // stored, including not yet purged
  std::size_t waiter_count(std::string_view space) const;
  std::size_t space_count() const { return spaces_.size(); }
  bool has_confidential_spaces() const;
  // True when a repair found that `client` wrote an invalid tuple into `space` (it is denied
  // every operation on the space from then on).
  bool blacklisted(std::string_view space, std::string_view client) const;

 private:
  struct Waiter {
    std::uint64_t arrival = 0;
    WaiterKey key;
    bool removes = false;  // in (true) or rd (false)
    Template tmpl;
    detail::CompiledTemplate compiled;
    std::int64_t deadline_ms = kNever;
    std::uint64_t charge = 0;  // bytes charged to key.client (EngineLimits)
  };
  // A page of the snapshot, kept from one snapshot to the next while it stays what the current
  // tuples would encode to (invariant of Space::pages, kept by page_changed()).
  struct Page {
    std::uint64_t last_seq = 0;
    detail::SlotId last_slot = detail::kNoSlot;
    // Ended after its last tuple because that tuple's seq is a page boundary; otherwise it ended
    // because the next tuple did not fit or the space ended, and depends on that next tuple too.
    bool boundary = false;
    std::shared_ptr<const codec::Bytes> bytes;  // never null, never changed
  };
  struct Space {
    std::string name;
    SpaceOptions options;
    detail::TupleStore store;
    detail::UsageMap usage;
    std::map<std::uint64_t, Waiter> waiters;       // by arrival
    std::set<std::string, std::less<>> blacklist;  // writers caught by a repair (Repair)
    // Snapshot pages by first seq: those that no change touched since the last snapshot (which
    // left every tuple on one), the rest re-encoded by the next snapshot.
    std::map<std::uint64_t, Page> pages;
  };
  // Ordered by (expiry, seq): seqs are unique across spaces, so the order is total.
  struct ExpiryEntry {
    std::int64_t expiry_ms;
    std::uint64_t seq;
    Space* space;
    detail::SlotId slot;
    bool operator<(const ExpiryEntry& o) const {
      return expiry_ms != o.expiry_ms ? expiry_ms < o.expiry_ms : seq < o.seq;
    }
  };
  // Ordered by (deadline, arrival): arrivals are unique across spaces.
  struct DeadlineEntry {
    std::int64_t deadline_ms;
    std::uint64_t arrival;
    Space* space;
    bool operator<(const DeadlineEntry& o) const {
      return deadline_ms != o.deadline_ms ? deadline_ms < o.deadline_ms : arrival < o.arrival;
    }
  };
  struct WaiterRef {
    Space* space;
    std::uint64_t arrival;
  };
  // One execute(): who asks, the effective time, where wake-ups and timeouts are reported.
  struct Call {
    const Context& ctx;
    std::int64_t now;
    std::vector<Completion>& completions;
  };

  // Operation handlers (engine_ops.cc).
  Reply run(Call& call, const SpaceCreate& op);
  Reply run(Call& call, const SpaceDelete& op);
  Reply run(Call& call, const SpaceList& op);
  Reply run(Call& call, const Out& op);
  Reply run(Call& call, const OutAll& op);
  Reply run(Call& call, const Rdp& op);
  Reply run(Call& call, const Inp& op);
  Reply run(Call& call, const Rd& op);
  Reply run(Call& call, const In& op);
  Reply run(Call& call, const Cas& op);
  Reply run(Call& call, const Replace& op);
  Reply run(Call& call, const Renew& op);
  Reply run(Call& call, const RdAll& op);
  Reply run(Call& call, const InAll& op);
  Reply run(Call& call, const Cancel& op);
  Reply run(Call& call, const SpaceSetPolicy& op);
  Reply run(Call& call, const SpaceSetAccess& op);
  Reply run(Call& call, const SpaceShow& op);
  Reply run(Call& call, const Repair& op);
  // The error for a tuple operation or repair by a blacklisted client, if it is one.
  std::optional<Error> refuse_blacklisted(const Context& ctx, const Request& request) const;
  Reply wait_or_take(Call& call, const std::string& space, const Template& tmpl,
                     std::uint64_t timeout_ms, bool removes);

  // Read-only queries (engine_ops.cc), shared by ordered and read-only execution.
  Reply list_spaces(std::int64_t now) const;
  Reply show_space(std::int64_t now, const SpaceShow& op) const;
  // Unexpired tuples of s at now (stored ones minus those expired but not yet purged).
  std::uint64_t visible_count(const Space& s, std::int64_t now) const;
  Reply read_one(const Context& ctx, std::int64_t now, const Rdp& op) const;
  Reply read_all(const Context& ctx, std::int64_t now, const RdAll& op) const;

  // State primitives (engine.cc).
  Space* find_space(std::string_view name);
  const Space* find_space(std::string_view name) const;
  // Oldest tuple that matches, is visible at `now` and readable by `client` (and, if timed_only,
  // has a lease).
  std::optional<detail::SlotId> first_readable(const Space& s, const detail::CompiledTemplate& t,
                                               std::string_view client, std::int64_t now,
                                               bool timed_only = false) const;
  // Offers a new tuple to the space's waiters; true if a waiting in took it.
  bool offer_to_waiters(Space& s, const Tuple& tuple, codec::ByteView encoding,
                        const detail::Acl* acl, std::vector<Completion>& out);
  // Stores a validated tuple (after offering it to waiters) at time now; quotas already checked.
  void insert(Space& s, std::string_view client, std::int64_t now, const TupleSpec& spec,
              std::vector<Completion>& out);
  // Stores a tuple with a given seq and expiry, without waking anyone (insert, restore).
  detail::SlotId store_tuple(Space& s, std::uint64_t seq, codec::ByteView encoding,
                             std::int64_t expiry_ms, std::string_view owner,
                             std::unique_ptr<detail::Acl> acl);
  void remove_tuple(Space& s, detail::SlotId slot);
  void set_expiry(Space& s, detail::SlotId slot, std::int64_t expiry_ms);
  // The tuple `seq` of `s` was stored, removed or changed: drops the snapshot pages that may
  // encode differently now.
  static void page_changed(Space& s, std::uint64_t seq);
  void add_waiter(Space& s, Waiter waiter);
  // Removes a waiter and reports `reply` to it.
  void finish_waiter(Space& s, std::uint64_t arrival, Reply reply, std::vector<Completion>& out);
  void delete_space(Space& s, std::vector<Completion>& out);
  // What a tuple is charged: stored (from its slot), or about to be (from its spec; access-list
  // names counted before duplicates are dropped, so never less than once stored).
  static std::uint64_t charge_of(const detail::TupleStore::Slot& slot);
  static std::uint64_t charge_of(const TupleSpec& spec);
  // Would `bytes` more charged to `client` fit EngineLimits? (quota error otherwise)
  std::optional<Error> check_bytes(std::string_view client, std::uint64_t bytes) const;
  void charge(std::string_view client, std::uint64_t bytes);
  void uncharge(std::string_view client, std::uint64_t bytes);
  static detail::Owner* acquire(Space& s, std::string_view client);
  static void release(Space& s, detail::Owner* owner);

  // Re-encodes the pages of `s` that changed; afterwards its pages hold every tuple.
  static void refresh_pages(Space& s);
  static Page encode_page(const Space& s, detail::SlotId first);
  void load_state(codec::BoundedInputArchive& ar);
  void load_legacy_space(codec::BoundedInputArchive& ar, std::uint8_t version, Space& s,
                         std::vector<std::uint64_t>& seqs, std::vector<std::uint64_t>& arrivals);
  static void load_blacklist(codec::BoundedInputArchive& ar, Space& s);
  void load_pages(codec::BoundedInputArchive& ar, Space& s, std::uint64_t tuple_count,
                  std::vector<std::uint64_t>& seqs);
  // Reads a tuple of `s` (seq, owner index into `owners`, the rest) that must follow
  // `previous_seq`, and stores it; records its seq (`previous_seq`, `seqs`) and its owner (`owns`).
  detail::SlotId load_tuple(codec::BoundedInputArchive& ar, Space& s,
                            const std::vector<std::string>& owners, std::vector<bool>& owns,
                            std::uint64_t& previous_seq, std::vector<std::uint64_t>& seqs);
  void load_waiter(codec::BoundedInputArchive& ar, Space& s, std::vector<std::uint64_t>& arrivals);

  std::map<std::string, std::unique_ptr<Space>, std::less<>> spaces_;
  std::set<ExpiryEntry> expiries_;
  std::set<DeadlineEntry> deadlines_;
  std::map<WaiterKey, WaiterRef> waiters_by_key_;
  // The charges of EngineLimits, derived from the state (restore recomputes them).
  EngineLimits limits_;
  std::map<std::string, std::uint64_t, std::less<>> bytes_by_principal_;
  std::uint64_t state_bytes_ = 0;
  std::int64_t now_ms_ = 0;
  std::uint64_t next_seq_ = 1;      // seq of the next stored tuple
  std::uint64_t next_arrival_ = 1;  // arrival number of the next waiter
};

}  // namespace bastion::ts
