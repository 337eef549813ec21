// bastion::Client: connecting (files to a ClientSetup) and the typed calls; see client.h.
//
// Every call builds a ts::Request, hands it to the engine (client_impl.h) and converts the agreed
// ts::Reply with the functions of reply.h. Arguments the service would refuse anyway are sent as
// they are: the replicas' checks are the authority, and their errors carry the clearer message.
#include "client/client.h"

#include <sodium.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "client/client_impl.h"
#include "client/reply.h"
#include "config/cluster_config.h"
#include "config/confidential_keys.h"
#include "config/identity.h"
#include "config/names.h"

namespace bastion {
namespace {

using client_detail::as_cas;
using client_detail::as_done;
using client_detail::as_found;
using client_detail::as_found_all;
using client_detail::as_space;
using client_detail::as_spaces;

Error config_error(std::string message) { return Error{Errc::kConfig, std::move(message)}; }

bool is_dir(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

// The identity directory: an explicit directory, a name under the cluster's identities/, or the
// cluster's default identity.
Expected<std::filesystem::path> identity_dir(const config::ClusterConfig& cluster,
                                             const std::string& given) {
  if (given.empty()) {
    if (cluster.default_identity.empty()) {
      return fail(config_error(cluster.file.string() +
                               ": the cluster file names no default_identity; give an identity "
                               "(--identity DIR)"));
    }
    return cluster.identity_dir(cluster.default_identity);
  }
  if (is_dir(given)) return std::filesystem::path(given);
  if (config::is_valid_client_name(given) && is_dir(cluster.identity_dir(given))) {
    return cluster.identity_dir(given);
  }
  return fail(config_error("identity '" + given + "': no such directory, and the cluster has no " +
                           "identity of that name in " + (cluster.dir / "identities").string()));
}

ts::TupleSpec spec(const Tuple& tuple, const Insert& how) {
  ts::TupleSpec s;
  s.tuple = tuple;
  // A negative lease is nonsense; the service refuses a lease it cannot represent either way.
  s.lease_ms = how.lease.count() > 0 ? static_cast<std::uint64_t>(how.lease.count()) : 0;
  s.readers = how.readers;
  s.removers = how.removers;
  return s;
}

std::uint64_t wait_ms(Millis wait) {
  return wait.count() > 0 ? static_cast<std::uint64_t>(wait.count()) : 0;
}

auto found(std::string_view op) {
  return [op](Expected<ts::Reply> r) { return as_found(std::move(r), op); };
}
auto found_all(std::string_view op) {
  return [op](Expected<ts::Reply> r) { return as_found_all(std::move(r), op); };
}
auto done(std::string_view op) {
  return [op](Expected<ts::Reply> r) { return as_done(std::move(r), op); };
}

}  // namespace

Expected<std::unique_ptr<Client>> Client::connect(const ClientOptions& options) {
  if (sodium_init() < 0) return fail(config_error("libsodium failed to initialise"));
  if (options.cluster_file.empty()) return fail(config_error("no cluster file given"));
  auto cluster = config::load_cluster_config(options.cluster_file);
  if (!cluster) return fail(config_error(cluster.error().message));
  auto dir = identity_dir(*cluster, options.identity_dir);
  if (!dir) return fail(std::move(dir).error());
  auto identity = config::load_identity(*dir);
  if (!identity) return fail(config_error(identity.error().message));

  ClientSetup setup;
  setup.n = cluster->n();
  setup.f = cluster->f;
  setup.session = random_session();
  setup.timeout = options.timeout;
  setup.request_bytes_max = cluster->protocol.client_frame_max_bytes;
  auto& t = setup.transport;
  t.tls = {identity->cert, identity->key, identity->ca.empty() ? cluster->ca_cert : identity->ca};
  for (const config::ReplicaConfig& r : cluster->replicas) {
    t.replicas.push_back({r.id, r.host, r.port, r.public_key});
    setup.endpoints.push_back(r.host + ":" + std::to_string(r.port));
  }
  // Replies (rdAll) may be as large as anything replicas send each other.
  t.limits.replica_frame_max_bytes = cluster->protocol.frame_max_bytes;
  t.limits.keepalive_ms = cluster->transport.keepalive_ms;
  t.limits.handshake_timeout_ms = cluster->transport.handshake_timeout_ms;
  t.limits.reconnect_min_ms = cluster->transport.reconnect_min_ms;
  t.limits.reconnect_max_ms = cluster->transport.reconnect_max_ms;
  t.seed = setup.session;
  if (cluster->has_pvss_keys()) {
    auto pvss = config::pvss_of(*cluster);
    if (!pvss) return fail(config_error(pvss.error().message));
    setup.pvss.emplace(std::move(*pvss));
    setup.identity_dir = *dir;
    const std::filesystem::path secret_file = *dir / config::kFingerprintSecretFile;
    std::error_code ec;
    if (std::filesystem::exists(secret_file, ec)) {
      auto secret = config::load_fingerprint_secret(secret_file);
      if (!secret) return fail(config_error(secret.error().message));
      setup.fingerprint_secret = *secret;
      sodium_memzero(secret->data(), secret->size());
    }
  }

  auto impl = std::make_unique<Impl>(std::move(setup));
  auto started = impl->start();
  if (!started) return fail(config_error("identity " + dir->string() + ": " + started.error()));
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const std::string& Client::principal() const { return impl_->principal(); }
std::uint32_t Client::n() const { return impl_->n(); }
std::uint32_t Client::f() const { return impl_->f(); }

// ---- asynchronous forms ----

std::future<Expected<ts::Reply>> Client::execute_async(const ts::Request& request,
                                                       CallOptions call) {
  return impl_->call<ts::Reply>(request, call, [](Expected<ts::Reply> r) { return r; });
}

void Client::execute_then(const ts::Request& request, std::function<void(Expected<ts::Reply>)> done,
                          CallOptions call) {
  impl_->submit(request, call, std::move(done));
}

std::future<Expected<Done>> Client::out_async(std::string_view space, const Tuple& tuple,
                                              const Insert& how, CallOptions call) {
  return impl_->call<Done>(ts::Out{std::string(space), spec(tuple, how)}, call, done("out"));
}

std::future<Expected<std::optional<Tuple>>> Client::rdp_async(std::string_view space,
                                                              const Template& tmpl,
                                                              CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::Rdp{std::string(space), tmpl}, call, found("rdp"));
}

std::future<Expected<std::optional<Tuple>>> Client::inp_async(std::string_view space,
                                                              const Template& tmpl,
                                                              CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::Inp{std::string(space), tmpl}, call, found("inp"));
}

std::future<Expected<std::optional<Tuple>>> Client::rd_async(std::string_view space,
                                                             const Template& tmpl, Millis wait,
                                                             CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::Rd{std::string(space), tmpl, wait_ms(wait)}, call,
                                           found("rd"));
}

std::future<Expected<std::optional<Tuple>>> Client::in_async(std::string_view space,
                                                             const Template& tmpl, Millis wait,
                                                             CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::In{std::string(space), tmpl, wait_ms(wait)}, call,
                                           found("in"));
}

std::future<Expected<CasOutcome>> Client::cas_async(std::string_view space, const Template& tmpl,
                                                    const Tuple& tuple, const Insert& how,
                                                    CallOptions call) {
  return impl_->call<CasOutcome>(ts::Cas{std::string(space), tmpl, spec(tuple, how)}, call,
                                 [](Expected<ts::Reply> r) { return as_cas(std::move(r)); });
}

std::future<Expected<std::optional<Tuple>>> Client::replace_async(std::string_view space,
                                                                  const Template& tmpl,
                                                                  const Tuple& tuple,
                                                                  const Insert& how,
                                                                  CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::Replace{std::string(space), tmpl, spec(tuple, how)},
                                           call, found("replace"));
}

std::future<Expected<std::optional<Tuple>>> Client::renew_async(std::string_view space,
                                                                const Template& tmpl, Millis lease,
                                                                CallOptions call) {
  return impl_->call<std::optional<Tuple>>(ts::Renew{std::string(space), tmpl, wait_ms(lease)},
                                           call, found("renew"));
}

std::future<Expected<std::vector<Tuple>>> Client::rd_all_async(std::string_view space,
                                                               const Template& tmpl,
                                                               std::uint64_t max,
                                                               CallOptions call) {
  return impl_->call<std::vector<Tuple>>(ts::RdAll{std::string(space), tmpl, max}, call,
                                         found_all("rdAll"));
}

std::future<Expected<std::vector<Tuple>>> Client::in_all_async(std::string_view space,
                                                               const Template& tmpl,
                                                               std::uint64_t max,
                                                               CallOptions call) {
  return impl_->call<std::vector<Tuple>>(ts::InAll{std::string(space), tmpl, max}, call,
                                         found_all("inAll"));
}

// ---- blocking forms ----

Expected<ts::Reply> Client::execute(const ts::Request& request, CallOptions call) {
  return execute_async(request, call).get();
}

Expected<Done> Client::create_space(std::string_view space, const ts::SpaceOptions& options,
                                    CallOptions call) {
  return impl_->call<Done>(ts::SpaceCreate{std::string(space), options}, call, done("space create"))
      .get();
}

Expected<Done> Client::delete_space(std::string_view space, CallOptions call) {
  return impl_->call<Done>(ts::SpaceDelete{std::string(space)}, call, done("space delete")).get();
}

Expected<std::vector<ts::SpaceInfo>> Client::list_spaces(CallOptions call) {
  return impl_
      ->call<std::vector<ts::SpaceInfo>>(
          ts::SpaceList{}, call, [](Expected<ts::Reply> r) { return as_spaces(std::move(r)); })
      .get();
}

Expected<ts::SpaceInfo> Client::show_space(std::string_view space, CallOptions call) {
  return impl_
      ->call<ts::SpaceInfo>(ts::SpaceShow{std::string(space)}, call,
                            [](Expected<ts::Reply> r) { return as_space(std::move(r)); })
      .get();
}

Expected<Done> Client::set_policy(std::string_view space, std::string_view policy,
                                  CallOptions call) {
  return impl_
      ->call<Done>(ts::SpaceSetPolicy{std::string(space), std::string(policy)}, call,
                   done("space set-policy"))
      .get();
}

Expected<Done> Client::set_access(std::string_view space, std::uint8_t lists,
                                  const ts::SpaceAccess& access, CallOptions call) {
  return impl_
      ->call<Done>(ts::SpaceSetAccess{std::string(space), lists, access}, call,
                   done("space set-access"))
      .get();
}

Expected<Done> Client::out(std::string_view space, const Tuple& tuple, const Insert& how,
                           CallOptions call) {
  return out_async(space, tuple, how, call).get();
}

Expected<Done> Client::out_all(std::string_view space, const std::vector<ts::TupleSpec>& entries,
                               CallOptions call) {
  return impl_->call<Done>(ts::OutAll{std::string(space), entries}, call, done("outAll")).get();
}

Expected<std::optional<Tuple>> Client::rdp(std::string_view space, const Template& tmpl,
                                           CallOptions call) {
  return rdp_async(space, tmpl, call).get();
}

Expected<std::optional<Tuple>> Client::inp(std::string_view space, const Template& tmpl,
                                           CallOptions call) {
  return inp_async(space, tmpl, call).get();
}

Expected<std::optional<Tuple>> Client::rd(std::string_view space, const Template& tmpl, Millis wait,
                                          CallOptions call) {
  return rd_async(space, tmpl, wait, call).get();
}

Expected<std::optional<Tuple>> Client::in(std::string_view space, const Template& tmpl, Millis wait,
                                          CallOptions call) {
  return in_async(space, tmpl, wait, call).get();
}

Expected<CasOutcome> Client::cas(std::string_view space, const Template& tmpl, const Tuple& tuple,
                                 const Insert& how, CallOptions call) {
  return cas_async(space, tmpl, tuple, how, call).get();
}

Expected<std::optional<Tuple>> Client::replace(std::string_view space, const Template& tmpl,
                                               const Tuple& tuple, const Insert& how,
                                               CallOptions call) {
  return replace_async(space, tmpl, tuple, how, call).get();
}

Expected<std::optional<Tuple>> Client::renew(std::string_view space, const Template& tmpl,
                                             Millis lease, CallOptions call) {
  return renew_async(space, tmpl, lease, call).get();
}

Expected<std::vector<Tuple>> Client::rd_all(std::string_view space, const Template& tmpl,
                                            std::uint64_t max, CallOptions call) {
  return rd_all_async(space, tmpl, max, call).get();
}

Expected<std::vector<Tuple>> Client::in_all(std::string_view space, const Template& tmpl,
                                            std::uint64_t max, CallOptions call) {
  return in_all_async(space, tmpl, max, call).get();
}

std::vector<ReplicaInfo> Client::status(CallOptions call) { return impl_->status(call); }

std::vector<std::uint64_t> Client::invalid_shares_by_replica() const {
  return impl_->invalid_shares();
}

}  // namespace bastion
