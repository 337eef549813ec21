#include "config/pki.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace bastion::config::pki {
namespace {

constexpr long kNotBeforeSkewSeconds = 3600;
constexpr long kValiditySeconds = 10L * 365 * 24 * 3600;
constexpr int kSerialBits = 159;  // positive and at most 20 octets, as RFC 5280 requires

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

std::string openssl_error(std::string_view what) {
  std::string out(what);
  const unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<Done, std::string> add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return fail(openssl_error(std::string("extension ") + value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return fail(openssl_error("X509_add_ext"));
  return Done{};
}

// Version, serial, validity and public key: what every certificate of a cluster shares.
Result<Cert, std::string> new_certificate(const Key& subject_key) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return fail(openssl_error("X509_new"));
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!serial || BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return fail(openssl_error("serial number"));
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kNotBeforeSkewSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr) {
    return fail(openssl_error("validity"));
  }
  if (X509_set_pubkey(cert.get(), subject_key.get()) != 1) return fail(openssl_error("pubkey"));
  return cert;
}

Result<Done, std::string> set_subject(X509* cert, std::string_view common_name,
                                      std::string_view organization) {
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string cn(common_name);
  if (!organization.empty()) {
    const std::string org(organization);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1,
                                   0) != 1) {
      return fail(openssl_error("subject O"));
    }
  }
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return fail(openssl_error("subject CN"));
  }
  return Done{};
}

}  // namespace

Result<Key, std::string> generate_ed25519_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return fail(openssl_error("Ed25519 key generation"));
  return key;
}

Result<Cert, std::string> make_ca_certificate(const Key& ca_key, std::string_view organization) {
  auto cert = new_certificate(ca_key);
  if (!cert) return cert;
  X509* x = cert->get();
  if (auto r = set_subject(x, std::string(organization) + " CA", organization); !r) {
    return fail(r.error());
  }
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1) return fail(openssl_error("issuer"));
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   std::pair{NID_subject_key_identifier, "hash"},
                                   std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto r = add_extension(x, x, nid, value); !r) return fail(r.error());
  }
  // Ed25519 signs the whole message itself: no digest is given.
  if (X509_sign(x, ca_key.get(), nullptr) <= 0) return fail(openssl_error("signing the CA"));
  return cert;
}

Result<Cert, std::string> issue_certificate(const Cert& ca_cert, const Key& ca_key,
                                            const Key& subject_key, std::string_view common_name,
                                            LeafKind kind) {
  auto cert = new_certificate(subject_key);
  if (!cert) return cert;
  X509* x = cert->get();
  if (auto r = set_subject(x, common_name, {}); !r) return fail(r.error());
  if (X509_set_issuer_name(x, X509_get_subject_name(ca_cert.get())) != 1) {
    return fail(openssl_error("issuer"));
  }
  const char* eku = kind == LeafKind::kReplica ? "serverAuth,clientAuth" : "clientAuth";
  for (const auto& [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair{NID_key_usage, "critical,digitalSignature"}, std::pair{NID_ext_key_usage, eku},
        std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto r = add_extension(x, ca_cert.get(), nid, value); !r) return fail(r.error());
  }
  if (X509_sign(x, ca_key.get(), nullptr) <= 0) return fail(openssl_error("signing"));
  return cert;
}

Result<Done, std::string> write_new_file(const std::filesystem::path& path, std::string_view text,
                                         unsigned mode) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return fail(path.string() + ": " + std::strerror(errno));
  // The umask may have narrowed the mode; set it exactly.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return fail(path.string() + ": " + std::strerror(saved));
  return Done{};
}

Result<Done, std::string> write_private_key(const std::filesystem::path& path, const Key& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail(openssl_error("PEM private key"));
  }
  std::string text = bio_text(bio.get());
  auto r = write_new_file(path, text, 0600);
  OPENSSL_cleanse(text.data(), text.size());
  return r;
}

Result<Done, std::string> write_certificate(const std::filesystem::path& path, const Cert& cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return fail(openssl_error("PEM certificate"));
  }
  return write_new_file(path, bio_text(bio.get()), 0644);
}

Result<std::string, std::string> read_small_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return fail(path.string() + ": no such file");
  if (!std::filesystem::is_regular_file(status)) return fail(path.string() + ": not a file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(path.string() + ": " + ec.message());
  if (size > max_bytes) {
    return fail(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    return fail(path.string() + ": cannot read");
  }
  return text;
}

Result<std::string, std::string> read_private_file(const std::filesystem::path& path,
                                                   std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(path.string() + ": no such file");
    return fail(path.string() + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path.string() + ": not a file");
  if (auto r = check_private_mode(path, st.st_mode); !r) return fail(std::move(r).error());
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

Result<Done, std::string> check_private_mode(const std::filesystem::path& path, unsigned mode) {
  if ((mode & 077) == 0) return Done{};
  char octal[8];
  std::snprintf(octal, sizeof(octal), "%04o", mode & 0777);
  return fail(path.string() + ": mode " + octal +
              " lets other users read this private key; refusing to use it. Fix: chmod 600 " +
              path.string());
}

Result<Cert, std::string> read_certificate(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(std::move(text).error());
  Bio bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return fail(path.string() + ": not a PEM certificate");
  }
  return cert;
}

Result<Key, std::string> read_private_key(const std::filesystem::path& path) {
  auto text = read_private_file(path);
  if (!text) return fail(std::move(text).error());
  Bio bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) {
    ERR_clear_error();
    return fail(path.string() + ": not a PEM private key");
  }
  return key;
}

Result<std::string, std::string> common_name(const Cert& cert) {
  const X509_NAME* name = X509_get_subject_name(cert.get());
  const int first = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (first < 0) return fail(std::string("the certificate has no common name"));
  if (X509_NAME_get_index_by_NID(name, NID_commonName, first) >= 0) {
    return fail(std::string("the certificate has more than one common name"));
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, first));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return fail(std::string("unreadable common name"));
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

Result<PublicKey, std::string> ed25519_public_key(const Key& key) {
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return fail(std::string("the key is not Ed25519"));
  }
  PublicKey raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len) != 1 || len != raw.size()) {
    ERR_clear_error();
    return fail(std::string("cannot read the Ed25519 public key"));
  }
  return raw;
}

Result<PublicKey, std::string> ed25519_public_key(const Cert& cert) {
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return fail(std::string("the certificate's key is not Ed25519"));
  }
  PublicKey raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) {
    ERR_clear_error();
    return fail(std::string("cannot read the certificate's public key"));
  }
  return raw;
}

bool is_ca(const Cert& cert) { return X509_check_ca(cert.get()) != 0; }

Result<Done, std::string> verify_issued_by(const Cert& cert, const Cert& ca_cert) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca_cert.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return fail(openssl_error("X509 store"));
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(std::string(X509_verify_cert_error_string(err)));
  }
  return Done{};
}

bool key_matches(const Cert& cert, const Key& key) {
  const bool ok = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return ok;
}

std::string to_hex(const PublicKey& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (const std::uint8_t b : key) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<PublicKey, std::string> parse_public_key_hex(std::string_view hex) {
  if (hex.size() != 64) return fail(std::string("expected 64 hex digits"));
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  PublicKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(std::string("expected 64 hex digits"));
    key[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return key;
}

}  // namespace bastion::config::pki
