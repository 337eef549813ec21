// Identities: the files a principal (client or administrator) authenticates with.
//
// An identity directory holds cert.pem (issued by the cluster CA, common name = the principal's
// name), key.pem (its Ed25519 private key, mode 0600) and optionally ca.pem (the cluster CA, so a
// client machine needs nothing else). By convention a cluster's identities live in
// <cluster dir>/identities/<name>/.
//
// Thread-safety: functions only read files.
#pragma once

#include <filesystem>
#include <string>

#include "codec/result.h"
#include "config/cluster_config.h"

namespace bastion::config {

struct IdentityFiles {
  std::string name;  // the certificate's common name
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;  // dir/ca.pem when present, else empty
};

// Checks that cert.pem and key.pem exist and belong together and that the certificate's name is a
// valid principal name. Does not check the issuer: the transport does, against the cluster CA.
Result<IdentityFiles, ConfigError> load_identity(const std::filesystem::path& dir);

// The TLS files of replica `id` on its own machine: its cert and key, and the cluster CA.
IdentityFiles replica_identity(const ClusterConfig& config, std::uint32_t id);

}  // namespace bastion::config
