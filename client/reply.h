// From what the replicas agreed on to what a caller of bastion::Client gets: the mapping of core
// statuses and service errors to Errc, and of ts::Reply alternatives to typed results.
//
// Internal to the client library and its tests. The replies reaching these functions were
// accepted by voting (f+1 or 2f+1 matching), but their bytes are still hostile: f+1 faulty
// replicas could agree on anything, so every decoding failure or unexpected reply type becomes
// an Errc::kProtocol error, never an assertion.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "bft/core/messages.h"
#include "client/client.h"
#include "tuplespace/ops.h"

namespace bastion::client_detail {

// Same numeric values for the service's codes (ts::ErrorCode), by design.
Errc errc_of(ts::ErrorCode code);
Error service_error(const ts::Error& error);

// The reply the replicas agreed on: the decoded ts::Reply for status kOk (an Error reply becomes
// the call's error), otherwise the core's refusal as an error.
Expected<ts::Reply> to_reply(bft::ReplyStatus status, const codec::Bytes& result);

// Typed views. `op` names the operation in messages ("rdp", "cas", ...). not_found and (for
// rd/in) timed_out become an empty optional: they are answers, not failures.
Expected<Done> as_done(Expected<ts::Reply> reply, std::string_view op);
Expected<std::optional<Tuple>> as_found(Expected<ts::Reply> reply, std::string_view op);
Expected<std::vector<Tuple>> as_found_all(Expected<ts::Reply> reply, std::string_view op);
Expected<CasOutcome> as_cas(Expected<ts::Reply> reply);
Expected<std::vector<ts::SpaceInfo>> as_spaces(Expected<ts::Reply> reply);
// space show: a Spaces reply with exactly one space.
Expected<ts::SpaceInfo> as_space(Expected<ts::Reply> reply);

// "ack", "found", ...: the name of a reply alternative, for messages.
std::string_view reply_name(const ts::Reply& reply);

}  // namespace bastion::client_detail
