// Configuration of one replica of the replication core: a value passed in, never a global.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bft/core/types.h"

namespace bastion::bft {

struct Config {
  std::uint32_t n = 4;  // replicas; must be 3f+1
  std::uint32_t f = 1;
  ReplicaId self = 0;

  // Checkpoint every K executed sequence numbers; the log window is (stable, stable + window].
  std::uint32_t checkpoint_interval = 64;
  std::uint32_t log_window = 256;  // multiple of checkpoint_interval, >= 2 * checkpoint_interval

  // Batching at the primary: a batch is proposed as soon as fewer than `pipeline_max` batches
  // are in flight (proposed but not executed) and requests are ready, so a lone request is not
  // delayed; under load, requests accumulate while the pipeline is full.
  std::uint32_t pipeline_max = 4;
  std::uint32_t batch_max_requests = 512;
  std::uint32_t batch_max_bytes = 1 << 20;
  TimeUs batch_delay_us = 0;  // optional extra wait to fill a batch when the pipeline is busy

  // Clients: requests in flight per session; sessions per principal (least recently active
  // evicted, deterministically); reply cache bytes per session; largest request payload.
  std::uint32_t client_window = 256;
  std::uint32_t sessions_per_principal_max = 64;
  std::uint32_t reply_cache_bytes_max = 4 << 20;
  std::uint32_t request_bytes_max = 1 << 20;

  // Liveness. A backup that has seen 2f+1 vouches for a request that stays unexecuted for
  // request_timeout_us starts a view change; a view change not completed within
  // view_change_timeout_us moves on to the next view, with the timeout doubled each time
  // (capped at view_change_timeout_max_us), reset after a view is established.
  TimeUs request_timeout_us = 500'000;
  // A slow primary (docs/protocol.md, "A slow primary"): a backup that waits for the primary's
  // next pre-prepare while requests wait and the pipeline has room, twice in a row for longer
  // than slow_primary_factor times its own recent pre-prepare-to-execution time plus
  // batch_delay_us and vouch_defer_us (at least request_timeout_us / 10, at most
  // request_timeout_us), starts a view change. 0 turns the check off.
  std::uint32_t slow_primary_factor = 4;
  TimeUs view_change_timeout_us = 1'000'000;
  TimeUs view_change_timeout_max_us = 30'000'000;
  // Own messages not yet answered are retransmitted this often (lossy networks).
  TimeUs retransmit_interval_us = 200'000;
  // A vouch goes to the primary at once (it proposes on 2f+1 of them) and to the other replicas
  // only if the request is still unexecuted this much later: they need vouches only to
  // authenticate a request they did not get from its client, or to start suspecting the primary.
  TimeUs vouch_defer_us = 20'000;

  // Agreed time: a backup accepts a batch timestamp only if it is greater than the previous
  // batch's and within clock_skew_max_us of its own clock. It waits before accepting one that
  // runs ahead of its clock by more than agreed_time_slack_us beyond the lowest offset it saw
  // over the last half to whole agreed_time_window_us (TimePace): agreed time gains on a correct
  // clock at most the slack per half window.
  TimeUs clock_skew_max_us = 2'000'000;
  TimeUs agreed_time_slack_us = 100'000;
  TimeUs agreed_time_window_us = 10'000'000;

  // State transfer: snapshot chunk size, largest snapshot accepted. A source must deliver at
  // least state_transfer_min_bytes_per_s once state_transfer_grace_us have passed, or the next
  // source is tried (each source once before any is tried again).
  std::uint32_t state_chunk_bytes = 1 << 20;
  std::uint64_t snapshot_bytes_max = std::uint64_t{4} << 30;
  std::uint64_t state_transfer_min_bytes_per_s = 1 << 20;
  TimeUs state_transfer_grace_us = 5'000'000;

  // Bounds on what a replica holds on behalf of others (hostile input). A message larger than
  // message_bytes_max is dropped before decoding. Requests announced only by vouches are charged
  // to the vouching replica (at most pending_requests_per_replica_max such entries each); request
  // bytes held before ordering are charged to the client's principal. Principals longer than
  // principal_bytes_max are refused.
  std::uint64_t message_bytes_max = std::uint64_t{64} << 20;
  std::uint32_t pending_requests_per_replica_max = 1 << 16;
  std::uint64_t pending_bytes_per_principal_max = std::uint64_t{64} << 20;
  std::uint32_t principal_bytes_max = 256;
  // A request announced only by other replicas' vouches, that never gathered the 2f+1 that start
  // its timer, is forgotten this long after it was first announced (its client retransmits).
  TimeUs pool_entry_ttl_us = 10'000'000;

  // Answers to fetches and catch-up (batches, requests, state chunks, committed batches, relayed
  // NEW-VIEWs) cost the server bandwidth: each peer has a token bucket of serve_burst_bytes,
  // refilled at serve_bytes_per_s, and gets at most catch_up_batches_max committed batches per
  // STATUS.
  std::uint64_t serve_bytes_per_s = std::uint64_t{32} << 20;
  std::uint64_t serve_burst_bytes = std::uint64_t{8} << 20;
  std::uint32_t catch_up_batches_max = 32;

  // Read-only requests wait until everything this replica had prepared when they arrived is
  // executed (see docs/protocol.md, "Read-only requests"); at most read_queue_max wait at once
  // (and client_window per session); beyond that the client is told to retry ordered.
  std::uint32_t read_queue_max = 4096;

  std::uint32_t quorum() const { return 2 * f + 1; }
  // The matching PREPAREs from distinct backups a prepared certificate needs besides the
  // pre-prepare.
  std::size_t prepares_needed() const { return std::size_t{2} * f; }
  ReplicaId primary_of(ViewNum v) const { return static_cast<ReplicaId>(v % n); }
  // Empty string when valid, otherwise what is wrong.
  std::string validate() const;
};

}  // namespace bastion::bft
