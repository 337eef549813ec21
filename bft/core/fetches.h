// Outstanding fetches of bytes a replica lacks (docs/protocol.md, "Dissemination" and "Catching
// up and state transfer"): request bodies it saw f+1 vouches for, asked of the vouchers in turn,
// and the bodies of committed batches, asked of the other replicas in turn (f+1 correct ones hold
// a committed batch). Each is asked again after a retry interval, from the next replica; the
// caller says which are still wanted.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "bft/core/request_pool.h"
#include "bft/core/types.h"

namespace bastion::bft {

class RequestFetches {
 public:
  // Starts fetching the bytes of request `id` whose digest is `d`, unless it is fetched already.
  void want(const Digest& d, const RequestId& id);
  // The bytes of `d` arrived.
  void forget(const Digest& d) { fetches_.erase(d); }
  // Whether a round should run now (new fetches, or some left over by the last round).
  bool due() const { return due_; }
  std::size_t size() const { return fetches_.size(); }

  // Who vouched for digest `d` of request `id`; nullopt when its bytes are no longer wanted.
  using Vouchers =
      std::function<std::optional<std::vector<ReplicaId>>(const RequestId& id, const Digest& d)>;
  // One round: the digests to ask of each replica now. A fetch is asked for when it is new or
  // its last ask is `retry_us` old, each time of the next of its vouchers; a replica is asked
  // for at most `per_target_max` digests a round (the rest wait for the next); a fetch no longer
  // wanted, or due with no voucher, ends.
  std::map<ReplicaId, std::vector<Digest>> round(TimeUs now_us, TimeUs retry_us,
                                                 std::size_t per_target_max,
                                                 const Vouchers& vouchers);

 private:
  struct Fetch {
    RequestId id;
    TimeUs sent_us = 0;
    std::uint32_t attempts = 0;
  };
  std::map<Digest, Fetch> fetches_;
  bool due_ = false;
};

class BatchFetches {
 public:
  BatchFetches(ReplicaId self, std::uint32_t n) : self_(self), n_(n) {}

  // The replica to ask now for the body `d` of committed `seq`, or nullopt when one was asked
  // within `retry_us`. The other replicas in turn.
  std::optional<ReplicaId> ask(SeqNum seq, const Digest& d, TimeUs now_us, TimeUs retry_us);
  // The fetches `wanted(seq, digest)` still wants, in seq order; the others end.
  std::vector<std::pair<SeqNum, Digest>> prune(
      const std::function<bool(SeqNum seq, const Digest& d)>& wanted);
  void done(SeqNum seq) { fetches_.erase(seq); }
  void discard_through(SeqNum seq) { fetches_.erase(fetches_.begin(), fetches_.upper_bound(seq)); }
  std::size_t size() const { return fetches_.size(); }

 private:
  struct Fetch {
    Digest digest{};
    TimeUs sent_us = 0;
    std::uint32_t attempts = 0;
  };
  ReplicaId self_;
  std::uint32_t n_;
  std::map<SeqNum, Fetch> fetches_;
};

}  // namespace bastion::bft
