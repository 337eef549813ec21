#include "config/confidential_keys.h"

#include <sodium.h>

#include "config/pki.h"

namespace bastion::config {
namespace {

Result<std::array<std::uint8_t, 32>, ConfigError> read_key_file(const std::filesystem::path& file) {
  auto text = pki::read_private_file(file, 256);
  if (!text) return fail(ConfigError{ConfigErrorCode::kFile, std::move(text).error()});
  std::string_view hex = *text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.remove_suffix(1);
  auto bytes = pki::parse_public_key_hex(hex);
  sodium_memzero(text->data(), text->size());
  if (!bytes) {
    return fail(ConfigError{ConfigErrorCode::kFile,
                            file.string() + ": " + bytes.error() + " (a key file: 64 hex digits)"});
  }
  return *bytes;
}

}  // namespace

Result<confidentiality::PvssSecretKey, ConfigError> load_pvss_key(const ReplicaConfig& r) {
  if (!r.pvss_public_key) {
    return fail(ConfigError{ConfigErrorCode::kMissingKey,
                            "replica " + std::to_string(r.id) +
                                " has no PVSS key in the cluster file (a cluster made before "
                                "confidential spaces: see docs/confidentiality.md, \"Keys\")"});
  }
  auto bytes = read_key_file(r.pvss_key);
  if (!bytes) return fail(std::move(bytes).error());
  auto key = confidentiality::PvssSecretKey::from_bytes(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  if (!key) {
    return fail(
        ConfigError{ConfigErrorCode::kFile, r.pvss_key.string() + ": not a PVSS private key"});
  }
  if (key->public_key().bytes() != *r.pvss_public_key) {
    return fail(ConfigError{ConfigErrorCode::kKeyMismatch,
                            r.pvss_key.string() + ": not the key of replicas[" +
                                std::to_string(r.id) + "].pvss_public_key"});
  }
  return std::move(*key);
}

Result<confidentiality::Pvss, ConfigError> pvss_of(const ClusterConfig& config) {
  if (!config.has_pvss_keys()) {
    return fail(ConfigError{ConfigErrorCode::kMissingKey,
                            config.file.string() +
                                ": the replicas have no PVSS keys, which confidential spaces need "
                                "(see docs/confidentiality.md, \"Keys\")"});
  }
  std::vector<PublicKey> keys;
  for (const ReplicaConfig& r : config.replicas) keys.push_back(*r.pvss_public_key);
  return *confidentiality::Pvss::of_cluster(keys);  // parsing checked the keys and n = 3f+1
}

Result<FingerprintSecret, ConfigError> load_fingerprint_secret(const std::filesystem::path& file) {
  return read_key_file(file);
}

std::string key_file_text(const std::array<std::uint8_t, 32>& bytes) {
  return pki::to_hex(bytes) + "\n";
}

}  // namespace bastion::config
