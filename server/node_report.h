// What a replica node tells people: the JSON of its /status page and the one-line periodic stats
// of its log, both computed from NodeSnapshots (never from live protocol state).
//
// /status is a JSON object, stable keys (scripts and `bastion status` may read it):
//   {"replica":2,"listen":"127.0.0.1:7002","view":0,"primary":0,"view_changing":false,
//    "last_executed":12,"stable_checkpoint":0,"agreed_time_us":...,"checkpoint_digest":"<hex>",
//    "execution_settings_digest":"<hex>" (the same on every replica: execution_settings.h),
//    "fetching_state":false,"in_memory":false,"uptime_ms":...,"client_connections":1,
//    "links":[{"replica":0,"state":"connected","last_error":""},...],
//    "storage":{"syncs":..,"log_bytes":..,"segments":..},"sizes":{"log.entries":..,...}}
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "server/node_snapshot.h"

namespace bastion::server {

std::string status_json(const NodeSnapshot& s);

// One line for the log: progress and rates since `previous` (taken `interval_ms` earlier).
std::string stats_line(const NodeSnapshot& previous, const NodeSnapshot& current,
                       std::int64_t interval_ms);

std::string hex(const bft::Digest& d);

}  // namespace bastion::server
