// Configuration of one replica of the replication core: a value passed in, never a global.
#pragma once

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
  TimeUs view_change_timeout_us = 1'000'000;
  TimeUs view_change_timeout_max_us = 30'000'000;
  // Own messages not yet answered are retransmitted this often (lossy networks).
  TimeUs retransmit_interval_us = 200'000;

  // Agreed time: a backup accepts a batch timestamp only if it is greater than the previous
  // batch's and within clock_skew_max_us of its own clock.
  TimeUs clock_skew_max_us = 2'000'000;

  // State transfer: snapshot chunk size, largest snapshot accepted.
  std::uint32_t state_chunk_bytes = 1 << 20;
  std::uint64_t snapshot_bytes_max = std::uint64_t{4} << 30;

  std::uint32_t quorum() const { return 2 * f + 1; }
  ReplicaId primary_of(ViewNum v) const { return static_cast<ReplicaId>(v % n); }
  // Empty string when valid, otherwise what is wrong.
  std::string validate() const;
};

}  // namespace bastion::bft
