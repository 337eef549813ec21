// Keys and X.509 certificates for a cluster, on OpenSSL 3 (EVP and X509 APIs).
//
// Every key is Ed25519. The CA is self-signed (basicConstraints critical CA:TRUE, pathlen 0,
// keyUsage keyCertSign+cRLSign); leaves are signed by the CA (CA:FALSE, keyUsage
// digitalSignature, extendedKeyUsage clientAuth, plus serverAuth for replicas). Certificates are
// valid from one hour ago (tolerates clock skew between machines) for about ten years, with a
// random 159-bit serial. Identity is the subject common name; hostnames are not used, because a
// peer is authenticated by its name and, for replicas, by its pinned key.
//
// Private keys are written with mode 0600 (set with fchmod, whatever the umask) and O_EXCL: an
// existing file is never overwritten. A private key whose mode grants the group or others any
// permission is refused on load, with the chmod that fixes it.
//
// Thread-safety: functions are independent; OpenSSL 3 is thread-safe for these calls.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "codec/result.h"

namespace bastion::config::pki {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using PublicKey = std::array<std::uint8_t, 32>;

enum class LeafKind : std::uint8_t { kReplica, kClient };

Result<Key, std::string> generate_ed25519_key();
// `organization` (the cluster name) goes into the subject's O field, for operators' eyes only.
Result<Cert, std::string> make_ca_certificate(const Key& ca_key, std::string_view organization);
Result<Cert, std::string> issue_certificate(const Cert& ca_cert, const Key& ca_key,
                                            const Key& subject_key, std::string_view common_name,
                                            LeafKind kind);

Result<Done, std::string> write_private_key(const std::filesystem::path& path, const Key& key);
Result<Done, std::string> write_certificate(const std::filesystem::path& path, const Cert& cert);

Result<Cert, std::string> read_certificate(const std::filesystem::path& path);
Result<Key, std::string> read_private_key(const std::filesystem::path& path);

// The subject's single common name; an error when there is none or more than one.
Result<std::string, std::string> common_name(const Cert& cert);
Result<PublicKey, std::string> ed25519_public_key(const Cert& cert);
Result<PublicKey, std::string> ed25519_public_key(const Key& key);
bool is_ca(const Cert& cert);
// Chain check against exactly this CA: signature, validity period, CA constraints.
Result<Done, std::string> verify_issued_by(const Cert& cert, const Cert& ca_cert);
// Whether `key` is the private half of `cert`'s public key.
bool key_matches(const Cert& cert, const Key& key);

std::string to_hex(const PublicKey& key);
// Exactly 64 hex digits (either case) -> 32 bytes.
Result<PublicKey, std::string> parse_public_key_hex(std::string_view hex);

// Reads a file of at most max_bytes (regular files only: not a fifo or a device).
Result<std::string, std::string> read_small_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes = 64 * 1024);
// A private file (a key) of at most max_bytes: a regular file whose mode grants nothing to the
// group or others, else an error naming the file and the fix (chmod 600 FILE).
Result<std::string, std::string> read_private_file(const std::filesystem::path& path,
                                                   std::size_t max_bytes = 64 * 1024);
// The refusal read_private_file() gives for `mode` (st_mode bits), or Done when it is private.
Result<Done, std::string> check_private_mode(const std::filesystem::path& path, unsigned mode);
// Creates a new file (O_EXCL) with the given mode and contents, and syncs it.
Result<Done, std::string> write_new_file(const std::filesystem::path& path, std::string_view text,
                                         unsigned mode);

}  // namespace bastion::config::pki
