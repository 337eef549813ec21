#include "codec/principal_names.h"

#include <cctype>

namespace bastion::names {
namespace {
constexpr std::string_view kReplicaPrefix = "replica-";
// Replica ids fit comfortably below this; it also bounds the digits parse_replica_name reads.
constexpr std::uint32_t kReplicaIdMax = 1'000'000;
}  // namespace

bool is_valid_principal_name(std::string_view name) {
  if (name.empty() || name.size() > kPrincipalNameMaxChars) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_reserved_name(std::string_view name) {
  if (name.size() < kReplicaPrefix.size()) return false;
  for (std::size_t i = 0; i < kReplicaPrefix.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (std::tolower(c) != kReplicaPrefix[i]) return false;
  }
  return true;
}

bool is_valid_client_name(std::string_view name) {
  return is_valid_principal_name(name) && !is_reserved_name(name);
}

std::optional<std::uint32_t> parse_replica_name(std::string_view name) {
  if (!name.starts_with(kReplicaPrefix)) return std::nullopt;
  const std::string_view digits = name.substr(kReplicaPrefix.size());
  if (digits.empty() || digits.size() > 7) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  std::uint32_t id = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (id > kReplicaIdMax) return std::nullopt;
  return id;
}

std::string replica_name(std::uint32_t id) {
  return std::string(kReplicaPrefix) + std::to_string(id);
}

}  // namespace bastion::names
