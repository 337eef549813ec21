#include "bft/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace bastion::net {
namespace {

struct StoreCtxFree {
  void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); }
};

std::string describe(const std::filesystem::path& p, const error_code& ec) {
  std::string out = p.string() + ": " + ec.message();
  ERR_clear_error();
  return out;
}

}  // namespace

Result<TlsContext, std::string> make_tls_context(const TlsFiles& files, const PeerRules& rules,
                                                 std::optional<ReplicaId> expect_replica) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return fail(std::string("TLS 1.3 is not available"));
  }
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);

  error_code ec;
  ctx->use_certificate_chain_file(files.cert.string(), ec);
  if (ec) return fail(describe(files.cert, ec));
  ctx->use_private_key_file(files.key.string(), asio::ssl::context::pem, ec);
  if (ec) return fail(describe(files.key, ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return fail(files.key.string() + ": not the key of " + files.cert.string());
  }
  ctx->load_verify_file(files.ca.string(), ec);
  if (ec) return fail(describe(files.ca, ec));
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  SSL_CTX_set_verify_depth(native, 1);

  // Our own certificate must pass the checks our peers will apply to it.
  X509* own = SSL_CTX_get0_certificate(native);
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> verify(X509_STORE_CTX_new());
  if (own == nullptr || !verify ||
      X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(native), own, nullptr) != 1) {
    ERR_clear_error();
    return fail(files.cert.string() + ": cannot check the certificate");
  }
  if (X509_verify_cert(verify.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    return fail(files.cert.string() + ": not valid for the cluster CA " + files.ca.string() + ": " +
                X509_verify_cert_error_string(err));
  }
  auto self = rules.classify(own, expect_replica);
  if (!self) return fail(files.cert.string() + ": " + self.error());
  if (!expect_replica && self->is_replica()) {
    return fail(files.cert.string() + ": a replica certificate cannot be used as a client");
  }
  return TlsContext{std::move(ctx), std::move(*self)};
}

}  // namespace bastion::net
