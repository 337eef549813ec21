// Principal names: who a certificate says its holder is. One rule, used where identities are
// issued and configured (config/) and where certificates are checked on every connection
// (bft/net): a rule kept in two places could drift, and it is a security rule.
//
// A principal name is 1..64 characters of [A-Za-z0-9_.-]. Names beginning with "replica-" (in any
// letter case) are reserved for replicas: replica N's certificate has the common name
// "replica-<N>" (decimal, no leading zeros), and no client identity may be issued under any name
// with that prefix, so a client can never pass for a replica, not even in a log line.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::names {

inline constexpr std::size_t kPrincipalNameMaxChars = 64;

bool is_valid_principal_name(std::string_view name);
// True for every name with the reserved prefix "replica-" (any case), valid replica name or not.
bool is_reserved_name(std::string_view name);
// A valid, unreserved name: what a client identity may be called.
bool is_valid_client_name(std::string_view name);
// "replica-<N>" -> N; nullopt for anything else (including "replica-01", "Replica-1").
std::optional<std::uint32_t> parse_replica_name(std::string_view name);
std::string replica_name(std::uint32_t id);

}  // namespace bastion::names
