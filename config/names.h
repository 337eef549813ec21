// Names in cluster files: principal names (the rule is codec/principal_names.h, shared with
// bft/net) and host names.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "codec/principal_names.h"

namespace bastion::config {

using names::is_reserved_name;
using names::is_valid_client_name;
using names::is_valid_principal_name;
using names::kPrincipalNameMaxChars;
using names::parse_replica_name;
using names::replica_name;

// A host name or IP address literal as written in cluster.toml: 1..253 characters of
// [A-Za-z0-9.:-] (IPv6 literals without brackets).
bool is_valid_host(std::string_view host);

}  // namespace bastion::config
