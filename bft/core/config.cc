// Validation of a replica's configuration: every bound the core relies on is checked here once,
// so the protocol code may assume them. Thread-safety: pure.
#include "bft/core/config.h"

#include "bft/core/state_digest.h"

namespace bastion::bft {

std::string Config::validate() const {
  if (f < 1) return "f must be at least 1";
  if (n != 3 * f + 1) return "n must be 3f+1";
  if (n > kReplicasMax) return "n must be at most 64";
  if (self >= n) return "self must be a replica id below n";
  if (checkpoint_interval == 0) return "checkpoint_interval must be positive";
  if (log_window < 2 * checkpoint_interval || log_window % checkpoint_interval != 0) {
    return "log_window must be a multiple of checkpoint_interval, at least twice it";
  }
  if (log_window > kLogWindowMax) return "log_window must be at most 65536";
  if (pipeline_max == 0 || pipeline_max > log_window) {
    return "pipeline_max must be in [1, log_window]";
  }
  if (batch_max_requests == 0 || batch_max_bytes == 0) return "batch caps must be positive";
  if (batch_max_requests > kBatchRequestsMax) return "batch_max_requests must be at most 65536";
  if (batch_delay_us < 0) return "batch_delay_us must not be negative";
  if (vouch_defer_us < 0) return "vouch_defer_us must not be negative";
  if (client_window == 0) return "client_window must be positive";
  if (sessions_per_principal_max == 0) return "sessions_per_principal_max must be positive";
  if (request_bytes_max == 0) return "request_bytes_max must be positive";
  if (request_timeout_us <= 0 || view_change_timeout_us <= 0 || retransmit_interval_us <= 0) {
    return "timeouts must be positive";
  }
  if (view_change_timeout_max_us < view_change_timeout_us) {
    return "view_change_timeout_max_us must be at least view_change_timeout_us";
  }
  if (clock_skew_max_us < 0) return "clock_skew_max_us must not be negative";
  if (agreed_time_slack_us <= 0 || agreed_time_window_us <= 0) {
    return "agreed_time_slack_us and agreed_time_window_us must be positive";
  }
  if (state_chunk_bytes == 0) return "state_chunk_bytes must be positive";
  if (snapshot_bytes_max == 0) return "snapshot_bytes_max must be positive";
  if (state_transfer_grace_us < 0) return "state_transfer_grace_us must not be negative";
  // A pre-prepare carries up to a batch plus one request over the cap (a lone large request is
  // always proposable); a state chunk must fit too, the first one with the state's leaf digests.
  const std::uint64_t slack = std::uint64_t{64} * 1024;
  const std::uint64_t first_chunk =
      state_chunk_bytes + state_first_chunk_digest_bytes(snapshot_bytes_max);
  if (message_bytes_max < std::uint64_t{batch_max_bytes} + request_bytes_max + slack ||
      message_bytes_max < first_chunk + slack) {
    return "message_bytes_max too small for a batch or a state chunk";
  }
  if (pending_requests_per_replica_max == 0 || pending_bytes_per_principal_max == 0) {
    return "pending request bounds must be positive";
  }
  if (principal_bytes_max == 0) return "principal_bytes_max must be positive";
  if (pool_entry_ttl_us < request_timeout_us) {
    return "pool_entry_ttl_us must be at least request_timeout_us";
  }
  if (serve_burst_bytes < first_chunk + slack) {
    return "serve_burst_bytes must hold at least one state chunk";
  }
  if (serve_bytes_per_s == 0) return "serve_bytes_per_s must be positive";
  if (catch_up_batches_max == 0) return "catch_up_batches_max must be positive";
  if (read_queue_max == 0) return "read_queue_max must be positive";
  return {};
}

}  // namespace bastion::bft
