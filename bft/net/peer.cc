#include "bft/net/peer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "codec/principal_names.h"

namespace bastion::net {

std::optional<std::string> certificate_common_name(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (first < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, first) >= 0) {
    return std::nullopt;
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, first));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::optional<PublicKey> certificate_ed25519_key(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) return std::nullopt;
  PublicKey raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) {
    return std::nullopt;
  }
  return raw;
}

Result<Peer, std::string> PeerRules::classify(std::string_view cn,
                                              const std::optional<PublicKey>& key,
                                              std::optional<ReplicaId> expected) const {
  if (!names::is_valid_principal_name(cn)) {
    return fail(std::string("certificate name is not a valid principal name"));
  }
  Peer peer;
  peer.name = std::string(cn);
  if (names::is_reserved_name(cn)) {
    const auto id = names::parse_replica_name(cn);
    if (!id) return fail("\"" + peer.name + "\" is not a replica name");
    const auto it = replica_keys_.find(*id);
    if (it == replica_keys_.end()) return fail(peer.name + " is not a configured replica");
    if (!key || *key != it->second) {
      return fail(peer.name + " presented a key other than its pinned key");
    }
    peer.kind = PeerKind::kReplica;
    peer.replica_id = *id;
  }
  if (expected && !(peer.is_replica() && peer.replica_id == *expected)) {
    return fail("expected replica-" + std::to_string(*expected) + ", found \"" + peer.name + "\"");
  }
  return peer;
}

Result<Peer, std::string> PeerRules::classify(X509* cert, std::optional<ReplicaId> expected) const {
  const auto cn = certificate_common_name(cert);
  if (!cn) return fail(std::string("certificate has no single common name"));
  return classify(*cn, certificate_ed25519_key(cert), expected);
}

}  // namespace bastion::net
