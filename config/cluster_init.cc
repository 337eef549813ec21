#include "config/cluster_init.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>

#include <sodium.h>

#include "config/confidential_keys.h"
#include "config/names.h"
#include "config/pki.h"

namespace bastion::config {
namespace {

struct Failure {
  ConfigError error;
};

[[noreturn]] void raise(ConfigErrorCode code, std::string message) {
  throw Failure{{code, std::move(message)}};
}

template <class T>
T check(Result<T, std::string> r, ConfigErrorCode code = ConfigErrorCode::kIo) {
  if (!r) raise(code, std::move(r).error());
  return std::move(r).value();
}

// A directory created under `parent` for staging, removed again unless released.
class StagingDir {
 public:
  explicit StagingDir(const std::filesystem::path& parent) {
    std::string tmpl = (parent / ".bastion-init.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      raise(ConfigErrorCode::kIo,
            parent.string() + ": cannot create a staging directory: " + std::strerror(errno));
    }
    path_ = tmpl;
  }
  ~StagingDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void make_dir(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec) raise(ConfigErrorCode::kIo, p.string() + ": " + ec.message());
}

// Creates the missing directories of `p` with mode 0700 whatever the umask (they hold private
// keys); directories that exist keep their mode.
void make_private_dir(const std::filesystem::path& p) {
  std::filesystem::path partial;
  for (const std::filesystem::path& part : p) {
    partial /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") continue;
    std::error_code ec;
    if (std::filesystem::is_directory(partial, ec)) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      raise(ConfigErrorCode::kIo, partial.string() + ": " + std::strerror(errno));
    }
    if (!std::filesystem::is_directory(partial, ec)) {
      raise(ConfigErrorCode::kIo, partial.string() + ": not a directory");
    }
    if (::chmod(partial.c_str(), 0700) != 0) {
      raise(ConfigErrorCode::kIo, partial.string() + ": " + std::strerror(errno));
    }
  }
}

// Moves a staged entry into place; never replaces an existing file or non-empty directory.
void move_into_place(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (std::filesystem::is_directory(from)) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      raise(ConfigErrorCode::kExists, to.string() + ": " + std::strerror(errno));
    }
    return;
  }
  // link() fails when `to` exists, so a file that appeared meanwhile is kept.
  if (::link(from.c_str(), to.c_str()) != 0) {
    raise(errno == EEXIST ? ConfigErrorCode::kExists : ConfigErrorCode::kIo,
          to.string() + ": " + std::strerror(errno));
  }
}

// A 0600 file holding a key (confidential_keys.h).
void write_key_file(const std::filesystem::path& path, const std::array<std::uint8_t, 32>& key) {
  std::string text = key_file_text(key);
  auto r = pki::write_new_file(path, text, 0600);
  sodium_memzero(text.data(), text.size());
  check(std::move(r));
}

// Writes an identity directory (0700): cert.pem, key.pem (0600), ca.pem, and for a client the
// cluster's fingerprint secret when it has one.
void write_identity(const std::filesystem::path& dir, const pki::Cert& ca_cert,
                    const pki::Key& ca_key, const std::string& name, pki::LeafKind kind,
                    bool with_ca, pki::PublicKey* public_key_out,
                    const FingerprintSecret* fingerprint_secret = nullptr) {
  make_private_dir(dir);
  if (fingerprint_secret != nullptr)
    write_key_file(dir / kFingerprintSecretFile, *fingerprint_secret);
  const pki::Key key = check(pki::generate_ed25519_key());
  const pki::Cert cert = check(pki::issue_certificate(ca_cert, ca_key, key, name, kind));
  check(pki::write_certificate(dir / "cert.pem", cert));
  check(pki::write_private_key(dir / "key.pem", key));
  if (with_ca) check(pki::write_certificate(dir / "ca.pem", ca_cert));
  if (public_key_out != nullptr) *public_key_out = check(pki::ed25519_public_key(key));
}

void validate(const InitOptions& o, std::uint32_t n) {
  if (o.out_dir.empty()) raise(ConfigErrorCode::kInvalidValue, "init: no output directory");
  if (o.f < 1 || o.f > kFaultsMax) {
    raise(ConfigErrorCode::kInvalidValue, "init: f = " + std::to_string(o.f) +
                                              " is out of range (1.." + std::to_string(kFaultsMax) +
                                              ")");
  }
  if (o.replicas != 0 && o.replicas != n) {
    raise(ConfigErrorCode::kInvalidValue, "init: f = " + std::to_string(o.f) + " needs " +
                                              std::to_string(n) + " replicas, not " +
                                              std::to_string(o.replicas));
  }
  if (!is_valid_host(o.host)) {
    raise(ConfigErrorCode::kInvalidValue, "init: \"" + o.host + "\" is not a valid host");
  }
  if (o.base_port == 0 || std::uint32_t{o.base_port} + 100 + n - 1 > 65535) {
    raise(ConfigErrorCode::kInvalidValue, "init: base port " + std::to_string(o.base_port) +
                                              " leaves no room for " + std::to_string(n) +
                                              " replica and metrics ports");
  }
  if (o.clients > kInitClientsMax) {
    raise(ConfigErrorCode::kInvalidValue,
          "init: at most " + std::to_string(kInitClientsMax) + " client identities");
  }
  if (!is_valid_principal_name(o.name)) {
    raise(ConfigErrorCode::kInvalidValue, "init: \"" + o.name + "\" is not a valid cluster name");
  }
}

std::string cluster_toml(const InitOptions& o, const std::vector<pki::PublicKey>& keys,
                         const std::vector<pki::PublicKey>& pvss_keys) {
  std::ostringstream out;
  out << "# Bastion cluster configuration, written by `bastion cluster init`.\n"
      << "# Reference: docs/operations.md. Relative paths are relative to this file.\n\n"
      << "[cluster]\n"
      << "name = \"" << o.name << "\"\n"
      << "f = " << o.f << "\n"
      << "ca_cert = \"ca/cert.pem\"\n"
      << "admins = [\"admin\"]\n"
      << "default_identity = \"admin\"\n"
      << "data_dir = \"data\"\n"
      << "in_memory = false\n\n"
      << "# [protocol] and [transport] take tuning settings; every one has a default.\n\n";
  for (std::uint32_t i = 0; i < keys.size(); ++i) {
    out << "[[replicas]]\n"
        << "id = " << i << "\n"
        << "host = \"" << o.host << "\"\n"
        << "port = " << (o.base_port + i) << "\n"
        << "metrics_port = " << (o.base_port + 100 + i) << "\n"
        << "public_key = \"" << pki::to_hex(keys[i]) << "\"\n"
        << "cert = \"replicas/" << i << "/cert.pem\"\n"
        << "key = \"replicas/" << i << "/key.pem\"\n"
        << "pvss_public_key = \"" << pki::to_hex(pvss_keys[i]) << "\"\n"
        << "pvss_key = \"replicas/" << i << "/pvss.key\"\n\n";
  }
  return out.str();
}

std::filesystem::path init(const InitOptions& o) {
  const std::uint32_t n = 3 * o.f + 1;
  validate(o, n);
  make_dir(o.out_dir);
  for (const char* entry : {"cluster.toml", "ca", "replicas", "identities"}) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(o.out_dir / entry, ec))) {
      raise(ConfigErrorCode::kExists,
            (o.out_dir / entry).string() + ": already exists; refusing to overwrite a cluster");
    }
  }
  StagingDir staging(o.out_dir);
  const auto& s = staging.path();

  make_private_dir(s / "ca");
  const pki::Key ca_key = check(pki::generate_ed25519_key());
  const pki::Cert ca_cert = check(pki::make_ca_certificate(ca_key, o.name));
  check(pki::write_certificate(s / "ca" / "cert.pem", ca_cert));
  check(pki::write_private_key(s / "ca" / "key.pem", ca_key));

  FingerprintSecret fingerprint_secret{};
  randombytes_buf(fingerprint_secret.data(), fingerprint_secret.size());
  write_key_file(s / "ca" / kFingerprintSecretFile, fingerprint_secret);

  std::vector<pki::PublicKey> keys(n);
  std::vector<pki::PublicKey> pvss_keys(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::filesystem::path dir = s / "replicas" / std::to_string(i);
    write_identity(dir, ca_cert, ca_key, replica_name(i), pki::LeafKind::kReplica, false, &keys[i]);
    const auto pvss = confidentiality::PvssSecretKey::generate();
    write_key_file(dir / "pvss.key", pvss.bytes());
    pvss_keys[i] = pvss.public_key().bytes();
  }
  write_identity(s / "identities" / "admin", ca_cert, ca_key, "admin", pki::LeafKind::kClient, true,
                 nullptr, &fingerprint_secret);
  for (std::uint32_t c = 1; c <= o.clients; ++c) {
    const std::string name = "client" + std::to_string(c);
    write_identity(s / "identities" / name, ca_cert, ca_key, name, pki::LeafKind::kClient, true,
                   nullptr, &fingerprint_secret);
  }
  sodium_memzero(fingerprint_secret.data(), fingerprint_secret.size());
  check(pki::write_new_file(s / "cluster.toml", cluster_toml(o, keys, pvss_keys), 0644));

  for (const char* entry : {"ca", "replicas", "identities", "cluster.toml"}) {
    move_into_place(s / entry, o.out_dir / entry);
  }
  return o.out_dir / "cluster.toml";
}

std::filesystem::path add(const std::filesystem::path& cluster_dir, std::string_view name_view) {
  const std::string name(name_view);
  if (!is_valid_principal_name(name)) {
    raise(ConfigErrorCode::kInvalidValue,
          "identity: \"" + name + "\" is not a valid name ([A-Za-z0-9_.-], 1 to 64 characters)");
  }
  if (is_reserved_name(name)) {
    raise(ConfigErrorCode::kInvalidValue, "identity: \"" + name + "\" is reserved for replicas");
  }
  auto config = load_cluster_config(cluster_dir / "cluster.toml");
  if (!config) throw Failure{std::move(config).error()};
  const std::filesystem::path ca_key_path = config->ca_cert.parent_path() / "key.pem";
  const pki::Cert ca_cert = check(pki::read_certificate(config->ca_cert), ConfigErrorCode::kFile);
  const pki::Key ca_key = check(pki::read_private_key(ca_key_path), ConfigErrorCode::kFile);
  if (!pki::key_matches(ca_cert, ca_key)) {
    raise(ConfigErrorCode::kKeyMismatch,
          ca_key_path.string() + ": not the key of " + config->ca_cert.string());
  }
  const std::filesystem::path identities = config->dir / "identities";
  const std::filesystem::path dest = identities / name;
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(dest, ec))) {
    raise(ConfigErrorCode::kExists, dest.string() + ": the identity already exists");
  }
  // The fingerprint secret, if the cluster has one (clusters made before confidential spaces
  // do not).
  std::optional<FingerprintSecret> fingerprint_secret;
  const std::filesystem::path secret_path = config->ca_cert.parent_path() / kFingerprintSecretFile;
  if (std::filesystem::exists(secret_path, ec)) {
    auto secret = load_fingerprint_secret(secret_path);
    if (!secret) throw Failure{std::move(secret).error()};
    fingerprint_secret = *secret;
  }
  make_private_dir(identities);
  StagingDir staging(identities);
  write_identity(staging.path() / "id", ca_cert, ca_key, name, pki::LeafKind::kClient, true,
                 nullptr, fingerprint_secret ? &*fingerprint_secret : nullptr);
  if (fingerprint_secret) sodium_memzero(fingerprint_secret->data(), fingerprint_secret->size());
  move_into_place(staging.path() / "id", dest);
  return dest;
}

std::vector<std::filesystem::path> space_key(const std::filesystem::path& cluster_dir,
                                             std::string_view space,
                                             std::vector<std::string> identities) {
  if (!is_valid_client_name(space) || space.front() == '.') {
    raise(ConfigErrorCode::kInvalidValue,
          "space key: \"" + std::string(space) +
              "\" cannot name a key file (space keys need a space name of [A-Za-z0-9_.-], 1 to 64 "
              "characters, not starting with '.')");
  }
  auto config = load_cluster_config(cluster_dir / "cluster.toml");
  if (!config) throw Failure{std::move(config).error()};
  const std::filesystem::path all = config->dir / "identities";
  std::error_code ec;
  if (identities.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(all, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && is_valid_client_name(name)) identities.push_back(name);
    }
    std::sort(identities.begin(), identities.end());
    if (identities.empty()) raise(ConfigErrorCode::kFile, all.string() + ": no identities");
  }
  for (const std::string& name : identities) {
    if (!is_valid_client_name(name) || !std::filesystem::is_directory(all / name, ec)) {
      raise(ConfigErrorCode::kInvalidValue,
            "space key: no identity \"" + name + "\" in " + all.string());
    }
  }
  const std::string file = std::string(space) + ".key";
  const std::filesystem::path kept_dir = config->ca_cert.parent_path() / "space-keys";
  FingerprintSecret secret{};
  if (std::filesystem::exists(kept_dir / file, ec)) {
    auto kept = load_fingerprint_secret(kept_dir / file);
    if (!kept) throw Failure{std::move(kept).error()};
    secret = *kept;
  } else {
    randombytes_buf(secret.data(), secret.size());
    make_private_dir(kept_dir);
    write_key_file(kept_dir / file, secret);
  }
  std::vector<std::filesystem::path> written;
  for (const std::string& name : identities) {
    const std::filesystem::path dir = all / name / "space-keys";
    if (std::filesystem::exists(dir / file, ec)) continue;
    make_private_dir(dir);
    write_key_file(dir / file, secret);
    written.push_back(dir / file);
  }
  sodium_memzero(secret.data(), secret.size());
  return written;
}

}  // namespace

Result<std::vector<std::filesystem::path>, ConfigError> add_space_key(
    const std::filesystem::path& cluster_dir, std::string_view space,
    const std::vector<std::string>& identities) {
  try {
    return space_key(cluster_dir, space, identities);
  } catch (Failure& f) {
    return fail(std::move(f.error));
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(ConfigError{ConfigErrorCode::kIo, e.what()});
  }
}

Result<std::filesystem::path, ConfigError> init_cluster(const InitOptions& options) {
  try {
    return init(options);
  } catch (Failure& f) {
    return fail(std::move(f.error));
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(ConfigError{ConfigErrorCode::kIo, e.what()});
  }
}

Result<std::filesystem::path, ConfigError> add_identity(const std::filesystem::path& cluster_dir,
                                                        std::string_view name) {
  try {
    return add(cluster_dir, name);
  } catch (Failure& f) {
    return fail(std::move(f.error));
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(ConfigError{ConfigErrorCode::kIo, e.what()});
  }
}

}  // namespace bastion::config
