// The execution settings of a replica: every configuration value that changes what executing an
// ordered batch returns or what a checkpoint contains, named by one digest.
//
// Replicas agree on the order of requests; what a request then does also depends on settings
// from the cluster file: who the admins are, the [groups], the policy budgets, the client table's
// limits (window, sessions, reply cache, request size), the checkpoint spacing and the log window,
// the read queue, the largest snapshot. A replica whose file differs in any of them executes the
// same batches differently while agreeing on their order. The digest lets that be caught: the
// daemon logs it at start and shows it on /status, the application writes it into every snapshot
// (so checkpoint digests cover it), and a replica refuses to repair its state from replicas whose
// snapshot carries another digest, stopping with an error that names both (tuplespace_app.h,
// replica_node.h, docs/protocol.md "Execution settings").
//
// Canonical encoding (codec's archives), hashed with BLAKE2b-256:
//   string "bastion.execution-settings.v3"
//   u32 n, f, checkpoint_interval, log_window, client_window, sessions_per_principal_max,
//       reply_cache_bytes_max, request_bytes_max, read_queue_max; u64 snapshot_bytes_max
//   admins: sorted, without duplicates (their order in the file changes nothing)
//   groups: by name, each with its members sorted and without duplicates
//   u64 policy instructions_max, memory_bytes_max
//   u64 tuple-space bytes_per_principal_max, state_bytes_max (v2)
//   n: the replicas' PVSS public keys, 32 bytes each, by id (v3)
// Timers, batching, transport limits and addresses are left out: they change when things happen,
// not what executing a batch gives. A setting that comes to change execution joins the encoding
// under a new version string.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "bft/core/config.h"
#include "codec/digest.h"
#include "server/tuplespace_app.h"

namespace bastion::server {

// The digest of the execution settings in `protocol` and `app` (app.settings_digest is ignored).
codec::Digest execution_settings_digest(const bft::Config& protocol, const AppSettings& app);

}  // namespace bastion::server
