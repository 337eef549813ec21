#include "config/identity.h"

#include "config/names.h"
#include "config/pki.h"

namespace bastion::config {

Result<IdentityFiles, ConfigError> load_identity(const std::filesystem::path& dir) {
  IdentityFiles out;
  out.cert = dir / "cert.pem";
  out.key = dir / "key.pem";
  auto cert = pki::read_certificate(out.cert);
  if (!cert) return fail(ConfigError{ConfigErrorCode::kFile, cert.error()});
  auto key = pki::read_private_key(out.key);
  if (!key) return fail(ConfigError{ConfigErrorCode::kFile, key.error()});
  if (!pki::key_matches(*cert, *key)) {
    return fail(ConfigError{ConfigErrorCode::kKeyMismatch,
                            out.key.string() + ": not the key of " + out.cert.string()});
  }
  auto name = pki::common_name(*cert);
  if (!name)
    return fail(
        ConfigError{ConfigErrorCode::kKeyMismatch, out.cert.string() + ": " + name.error()});
  if (!is_valid_principal_name(*name)) {
    return fail(ConfigError{ConfigErrorCode::kKeyMismatch, out.cert.string() + ": \"" + *name +
                                                               "\" is not a valid principal name"});
  }
  out.name = std::move(*name);
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir / "ca.pem", ec)) out.ca = dir / "ca.pem";
  return out;
}

IdentityFiles replica_identity(const ClusterConfig& config, std::uint32_t id) {
  const ReplicaConfig& r = config.replicas.at(id);
  return IdentityFiles{replica_name(id), r.cert, r.key, config.ca_cert};
}

}  // namespace bastion::config
