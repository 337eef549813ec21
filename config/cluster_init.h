// `bastion cluster init` and `bastion identity add`, as library functions (the CLI wires them).
//
// init_cluster writes a complete new cluster under out_dir:
//   cluster.toml                      default_identity = "admin", admins = ["admin"]
//   ca/cert.pem, ca/key.pem (0600)    the cluster CA; keep ca/key.pem offline in production
//   ca/fingerprint.key (0600)         the fingerprint secret of confidential spaces
//   replicas/<N>/cert.pem, key.pem    one directory per replica, for that replica's machine,
//     pvss.key (0600)                 with its PVSS private key
//   identities/admin/, identities/client1..clientN/   {cert.pem, key.pem (0600), ca.pem,
//                                     fingerprint.key (0600)}
// Replica i listens on base_port + i and serves metrics on base_port + 100 + i. No directory holds
// another party's private key. Key files are 0600 and the directories ca/, replicas/ and
// identities/ (and each one under them) 0700, whatever the umask. Everything is generated in a
// staging directory inside out_dir and moved into place at the end, cluster.toml last; an existing
// cluster (any of the four entries above already present) is never overwritten.
//
// add_identity issues one more client identity with the CA key of an existing cluster, with a copy
// of ca/fingerprint.key when the cluster has one.
//
// Thread-safety: not meant to run concurrently on the same directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "codec/result.h"
#include "config/cluster_config.h"

namespace bastion::config {

struct InitOptions {
  std::uint32_t f = 1;
  std::uint32_t replicas = 0;  // 0: 3f+1; anything else must equal 3f+1
  std::string host = "127.0.0.1";
  std::uint16_t base_port = 7000;
  std::uint32_t clients = 1;  // identities client1..clientN besides admin
  std::string name = "bastion";
  std::filesystem::path out_dir;
};

// Returns the path of the new cluster.toml.
Result<std::filesystem::path, ConfigError> init_cluster(const InitOptions& options);

// Issues identities/<name>/ for a new client; returns that directory.
Result<std::filesystem::path, ConfigError> add_identity(const std::filesystem::path& cluster_dir,
                                                        std::string_view name);

// Gives the client identities `identities` (names; empty: every identity of the cluster) the
// fingerprint secret of confidential space `space`: identities/<name>/space-keys/<space>.key
// (0600), which the client library uses for that space instead of the cluster-wide
// fingerprint.key (docs/confidentiality.md, "Keys"). The secret is made the first time and kept in
// ca/space-keys/<space>.key, so identities can be given it later; identities that hold it already
// are left as they are. Returns the files written. The space name must be a plain file name
// ([A-Za-z0-9_.-], 1 to 64 characters, not starting with '.').
Result<std::vector<std::filesystem::path>, ConfigError> add_space_key(
    const std::filesystem::path& cluster_dir, std::string_view space,
    const std::vector<std::string>& identities);

inline constexpr std::uint32_t kInitClientsMax = 1000;

}  // namespace bastion::config
