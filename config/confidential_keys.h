// The keys of confidential spaces on disk (docs/confidentiality.md, "Keys").
//
//   replicas/<N>/pvss.key          replica N's PVSS private key (its public key is in
//                                  cluster.toml as replicas[N].pvss_public_key)
//   ca/fingerprint.key             the cluster's fingerprint secret, kept with the CA key
//   identities/<name>/fingerprint.key   a copy for each client identity that may use the
//                                  cluster's confidential spaces
// Each file is 64 hex digits and a newline, mode 0600; a file readable by the group or others
// is refused.
//
// Thread-safety: functions only read or create files.
#pragma once

#include <array>
#include <filesystem>

#include "codec/result.h"
#include "confidentiality/fingerprint.h"
#include "confidentiality/pvss.h"
#include "config/cluster_config.h"

namespace bastion::config {

using FingerprintSecret = std::array<std::uint8_t, confidentiality::kFingerprintSecretBytes>;

inline constexpr const char* kFingerprintSecretFile = "fingerprint.key";

// Replica `r`'s PVSS private key, checked against its public key in the cluster file.
Result<confidentiality::PvssSecretKey, ConfigError> load_pvss_key(const ReplicaConfig& r);
// The PVSS parameters every party computes from the cluster file (threshold f+1); an error when
// the replicas have no PVSS keys.
Result<confidentiality::Pvss, ConfigError> pvss_of(const ClusterConfig& config);

Result<FingerprintSecret, ConfigError> load_fingerprint_secret(const std::filesystem::path& file);

// The text of a key file for 32 bytes.
std::string key_file_text(const std::array<std::uint8_t, 32>& bytes);

}  // namespace bastion::config
