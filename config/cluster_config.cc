// Parsing and validation of cluster.toml (see cluster_config.h).
//
// The parser walks the TOML tree section by section; each Section is opened with the keys the
// schema allows and refuses any other. The first problem found stops the parse:
// it is raised as an internal Failure and returned as a ConfigError at the API boundary.
#include "config/cluster_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "confidentiality/group.h"
#include "config/names.h"
#include "config/pki.h"

namespace bastion::config {
namespace {

struct Failure {
  ConfigError error;
};

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

class Context {
 public:
  explicit Context(std::string label) : label_(std::move(label)) {}

  [[noreturn]] void fail(ConfigErrorCode code, std::string_view key,
                         std::string_view problem) const {
    std::string message = label_;
    message += ": ";
    message += key;
    message += ": ";
    message += problem;
    throw Failure{{code, std::move(message)}};
  }

 private:
  std::string label_;
};

// Edit distance, to suggest the key a typo meant.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// One TOML table of the schema, named `prefix` in messages ("cluster", "replicas[2]"). Keys that
// the schema does not list are refused when the section is opened, before any required key is
// looked for, so a typo is reported as the typo and not as a missing key.
class Section {
 public:
  // A table whose keys are the user's (group names): any key is accepted.
  Section(const Context& ctx, const toml::table& table, std::string prefix)
      : ctx_(ctx), table_(table), prefix_(std::move(prefix)) {}

  Section(const Context& ctx, const toml::table& table, std::string prefix,
          std::initializer_list<std::string_view> known)
      : ctx_(ctx), table_(table), prefix_(std::move(prefix)) {
    for (const auto& [key, node] : table_) {
      (void)node;
      const std::string_view k = key.str();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string problem = "unknown key";
      if (k.size() <= 64) {
        for (const std::string_view candidate : known) {
          if (distance(k, candidate) <= 2) {
            problem += " (did you mean \"" + std::string(candidate) + "\"?)";
            break;
          }
        }
      }
      ctx_.fail(ConfigErrorCode::kUnknownKey, key_path(k), problem);
    }
  }

  std::string key_path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  const toml::node* find(std::string_view key) const { return table_.get(key); }

  template <class T>
  std::optional<T> get(std::string_view key, toml::node_type expected) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (node->type() != expected) {
      ctx_.fail(ConfigErrorCode::kWrongType, key_path(key),
                "expected " + std::string(type_name(expected)) + ", found " +
                    std::string(type_name(node->type())));
    }
    return node->value<T>();
  }

  std::optional<std::int64_t> integer(std::string_view key) {
    return get<std::int64_t>(key, toml::node_type::integer);
  }
  std::optional<std::string> string(std::string_view key) {
    return get<std::string>(key, toml::node_type::string);
  }
  std::optional<bool> boolean(std::string_view key) {
    return get<bool>(key, toml::node_type::boolean);
  }

  [[noreturn]] void missing(std::string_view key) const {
    ctx_.fail(ConfigErrorCode::kMissingKey, key_path(key), "missing (required)");
  }
  [[noreturn]] void invalid(std::string_view key, std::string_view problem) const {
    ctx_.fail(ConfigErrorCode::kInvalidValue, key_path(key), problem);
  }

  template <class T>
  T required(std::optional<T> v, std::string_view key) const {
    if (!v) missing(key);
    return std::move(*v);
  }

  // An unsigned setting in [min, max], or `fallback` when absent.
  template <class T>
  T bounded(std::string_view key, T fallback, std::uint64_t min, std::uint64_t max) {
    static_assert(std::is_unsigned_v<T>);
    const auto v = integer(key);
    if (!v) return fallback;
    if (*v < 0 || static_cast<std::uint64_t>(*v) < min || static_cast<std::uint64_t>(*v) > max) {
      invalid(key, std::to_string(*v) + " is out of range (" + std::to_string(min) + ".." +
                       std::to_string(max) + ")");
    }
    return static_cast<T>(*v);
  }

  const Context& context() const { return ctx_; }

 private:
  const Context& ctx_;
  const toml::table& table_;
  std::string prefix_;
};

const toml::table& subtable(Section& parent, std::string_view key, bool required_key) {
  static const toml::table kEmpty;
  const toml::node* node = parent.find(key);
  if (node == nullptr) {
    if (required_key) parent.missing(key);
    return kEmpty;
  }
  if (!node->is_table()) {
    parent.context().fail(ConfigErrorCode::kWrongType, parent.key_path(key),
                          "expected a table, found " + std::string(type_name(node->type())));
  }
  return *node->as_table();
}

std::filesystem::path resolve(const std::filesystem::path& dir, const std::string& value) {
  const std::filesystem::path p(value);
  return (p.is_absolute() ? p : dir / p).lexically_normal();
}

std::filesystem::path path_value(Section& s, std::string_view key,
                                 const std::filesystem::path& dir) {
  const std::string v = s.required(s.string(key), key);
  if (v.empty()) s.invalid(key, "an empty path");
  if (v.find('\0') != std::string::npos) s.invalid(key, "a path with a NUL character");
  return resolve(dir, v);
}

std::uint16_t port_value(Section& s, std::string_view key) {
  const std::int64_t v = s.required(s.integer(key), key);
  if (v < 1 || v > 65535) s.invalid(key, std::to_string(v) + " is not a valid port");
  return static_cast<std::uint16_t>(v);
}

std::string name_value(Section& s, std::string_view key, const std::string& v, bool client) {
  if (!is_valid_principal_name(v)) {
    s.invalid(key, in_quotes(v) + " is not a valid name ([A-Za-z0-9_.-], 1 to 64 characters)");
  }
  if (client && is_reserved_name(v)) s.invalid(key, in_quotes(v) + " is reserved for replicas");
  return v;
}

// An array of client names, each once (admins, a group's members).
std::vector<std::string> client_names(Section& s, std::string_view key, const toml::node& node) {
  if (!node.is_array()) {
    s.context().fail(ConfigErrorCode::kWrongType, s.key_path(key),
                     "expected an array, found " + std::string(type_name(node.type())));
  }
  const toml::array& list = *node.as_array();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
    const auto* v = list.get(i)->as_string();
    if (v == nullptr) {
      s.context().fail(ConfigErrorCode::kWrongType, s.key_path(item),
                       "expected a string, found " + std::string(type_name(list.get(i)->type())));
    }
    std::string name = name_value(s, item, v->get(), true);
    for (const auto& earlier : names) {
      if (earlier == name) s.invalid(item, in_quotes(name) + " is listed twice");
    }
    names.push_back(std::move(name));
  }
  return names;
}

void parse_cluster_section(Section& s, const std::filesystem::path& dir, ClusterConfig& out) {
  out.name = name_value(s, "name", s.required(s.string("name"), "name"), false);
  const std::int64_t f = s.required(s.integer("f"), "f");
  if (f < 1 || f > kFaultsMax) {
    s.invalid("f", std::to_string(f) + " is out of range (1.." + std::to_string(kFaultsMax) + ")");
  }
  out.f = static_cast<std::uint32_t>(f);
  out.ca_cert = path_value(s, "ca_cert", dir);

  const toml::node* admins = s.find("admins");
  if (admins == nullptr) s.missing("admins");
  out.admins = client_names(s, "admins", *admins);
  if (out.admins.empty()) s.invalid("admins", "needs at least one administrator");

  if (auto id = s.string("default_identity")) {
    out.default_identity = name_value(s, "default_identity", *id, true);
  }
  const auto data_dir = s.string("data_dir");
  if (data_dir && data_dir->empty()) s.invalid("data_dir", "an empty path");
  out.data_dir = resolve(dir, data_dir.value_or("data"));
  out.in_memory = s.boolean("in_memory").value_or(false);
}

void parse_protocol_section(Section& s, ProtocolSettings& p) {
  constexpr std::uint64_t kMiB = 1 << 20;
  p.checkpoint_interval =
      s.bounded<std::uint32_t>("checkpoint_interval", p.checkpoint_interval, 1, 1'000'000);
  p.batch_max_requests =
      s.bounded<std::uint32_t>("batch_max_requests", p.batch_max_requests, 1, 1'000'000);
  p.batch_max_bytes =
      s.bounded<std::uint64_t>("batch_max_bytes", p.batch_max_bytes, 1024, 256 * kMiB);
  p.batch_delay_us = s.bounded<std::uint32_t>("batch_delay_us", p.batch_delay_us, 0, 1'000'000);
  p.pipeline_max = s.bounded<std::uint32_t>("pipeline_max", p.pipeline_max, 1, 64);
  p.request_timeout_ms =
      s.bounded<std::uint32_t>("request_timeout_ms", p.request_timeout_ms, 10, 600'000);
  p.view_change_timeout_ms =
      s.bounded<std::uint32_t>("view_change_timeout_ms", p.view_change_timeout_ms, 10, 600'000);
  p.clock_skew_max_ms =
      s.bounded<std::uint32_t>("clock_skew_max_ms", p.clock_skew_max_ms, 1, 600'000);
  p.agreed_time_slack_ms =
      s.bounded<std::uint32_t>("agreed_time_slack_ms", p.agreed_time_slack_ms, 1, 600'000);
  p.agreed_time_window_ms =
      s.bounded<std::uint32_t>("agreed_time_window_ms", p.agreed_time_window_ms, 2, 3'600'000);
  p.frame_max_bytes =
      s.bounded<std::uint64_t>("frame_max_bytes", p.frame_max_bytes, 64 * 1024, 1024 * kMiB);
  p.client_frame_max_bytes = s.bounded<std::uint64_t>("client_frame_max_bytes",
                                                      p.client_frame_max_bytes, 1024, 1024 * kMiB);

  // A PRE-PREPARE carries a whole batch; leave room for its header and signatures.
  constexpr std::uint64_t kBatchOverheadBytes = 64 * 1024;
  if (p.frame_max_bytes < p.batch_max_bytes + kBatchOverheadBytes) {
    s.invalid("frame_max_bytes", std::to_string(p.frame_max_bytes) +
                                     " cannot carry a batch of batch_max_bytes (" +
                                     std::to_string(p.batch_max_bytes) + ") plus " +
                                     std::to_string(kBatchOverheadBytes) + " bytes of header");
  }
  // Every request must fit in a batch.
  if (p.client_frame_max_bytes > p.batch_max_bytes) {
    s.invalid("client_frame_max_bytes", std::to_string(p.client_frame_max_bytes) +
                                            " is larger than batch_max_bytes (" +
                                            std::to_string(p.batch_max_bytes) + ")");
  }
}

void parse_transport_section(Section& s, const ProtocolSettings& p, TransportSettings& t) {
  constexpr std::uint64_t kGiB = 1ull << 30;
  t.keepalive_ms = s.bounded<std::uint32_t>("keepalive_ms", t.keepalive_ms, 10, 600'000);
  t.handshake_timeout_ms =
      s.bounded<std::uint32_t>("handshake_timeout_ms", t.handshake_timeout_ms, 10, 600'000);
  t.first_bytes_timeout_ms =
      s.bounded<std::uint32_t>("first_bytes_timeout_ms", t.first_bytes_timeout_ms, 10, 600'000);
  t.handshakes_in_progress_max = s.bounded<std::uint32_t>(
      "handshakes_in_progress_max", t.handshakes_in_progress_max, 1, 1'000'000);
  t.handshakes_per_source_max = s.bounded<std::uint32_t>("handshakes_per_source_max",
                                                         t.handshakes_per_source_max, 1, 1'000'000);
  t.connections_per_source_max = s.bounded<std::uint32_t>(
      "connections_per_source_max", t.connections_per_source_max, 1, 1'000'000);
  t.send_queue_max_bytes = s.bounded<std::uint64_t>("send_queue_max_bytes", t.send_queue_max_bytes,
                                                    64 * 1024, 16 * kGiB);
  t.client_send_queue_max_bytes = s.bounded<std::uint64_t>(
      "client_send_queue_max_bytes", t.client_send_queue_max_bytes, 64 * 1024, 16 * kGiB);
  t.held_bytes_max =
      s.bounded<std::uint64_t>("held_bytes_max", t.held_bytes_max, 64 * 1024, 16 * kGiB);
  t.client_connections_max =
      s.bounded<std::uint32_t>("client_connections_max", t.client_connections_max, 1, 1'000'000);
  t.client_connections_per_principal_max = s.bounded<std::uint32_t>(
      "client_connections_per_principal_max", t.client_connections_per_principal_max, 1, 1'000'000);
  t.reconnect_min_ms = s.bounded<std::uint32_t>("reconnect_min_ms", t.reconnect_min_ms, 1, 600'000);
  t.reconnect_max_ms = s.bounded<std::uint32_t>("reconnect_max_ms", t.reconnect_max_ms, 1, 600'000);
  if (t.reconnect_max_ms < t.reconnect_min_ms) {
    s.invalid("reconnect_max_ms", std::to_string(t.reconnect_max_ms) +
                                      " is smaller than reconnect_min_ms (" +
                                      std::to_string(t.reconnect_min_ms) + ")");
  }
  if (t.first_bytes_timeout_ms > t.handshake_timeout_ms) {
    s.invalid("first_bytes_timeout_ms", std::to_string(t.first_bytes_timeout_ms) +
                                            " is larger than handshake_timeout_ms (" +
                                            std::to_string(t.handshake_timeout_ms) + ")");
  }
  // A queue that cannot hold one frame would drop every large message.
  if (t.send_queue_max_bytes < p.frame_max_bytes) {
    s.invalid("send_queue_max_bytes", std::to_string(t.send_queue_max_bytes) +
                                          " cannot hold one frame of protocol.frame_max_bytes (" +
                                          std::to_string(p.frame_max_bytes) + ")");
  }
}

// [groups]: name = ["client", ...]; "admins" is the implicit group of cluster.admins.
void parse_groups_section(Section& s, const toml::table& table,
                          std::map<std::string, std::vector<std::string>, std::less<>>& out) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    name_value(s, name, name, true);
    if (name == "admins") {
      s.invalid(name, "\"admins\" is the group of cluster.admins: list administrators there");
    }
    out.emplace(name, client_names(s, name, node));
  }
}

void parse_policy_section(Section& s, PolicySettings& p) {
  p.instructions_max =
      s.bounded<std::uint64_t>("instructions_max", p.instructions_max, 1'000, 1'000'000'000);
  p.memory_bytes_max =
      s.bounded<std::uint64_t>("memory_bytes_max", p.memory_bytes_max, 64 * 1024, 1ull << 30);
}

void parse_tuplespace_section(Section& s, TupleSpaceSettings& t) {
  // state_bytes_max stays below the 4 GiB a state transfer carries.
  t.state_bytes_max =
      s.bounded<std::uint64_t>("state_bytes_max", t.state_bytes_max, 1ull << 20, 3ull << 30);
  t.bytes_per_client_max =
      s.bounded<std::uint64_t>("bytes_per_client_max", t.bytes_per_client_max, 4096, 3ull << 30);
}

ReplicaConfig parse_replica(Section& s, const std::filesystem::path& dir) {
  ReplicaConfig r;
  const std::int64_t id = s.required(s.integer("id"), "id");
  if (id < 0 || id > std::numeric_limits<std::uint32_t>::max()) {
    s.invalid("id", std::to_string(id) + " is not a replica id");
  }
  r.id = static_cast<std::uint32_t>(id);
  r.host = s.required(s.string("host"), "host");
  if (!is_valid_host(r.host))
    s.invalid("host", in_quotes(r.host) + " is not a valid host name or address");
  r.port = port_value(s, "port");
  r.metrics_port = port_value(s, "metrics_port");
  const std::string hex = s.required(s.string("public_key"), "public_key");
  auto key = pki::parse_public_key_hex(hex);
  if (!key) s.invalid("public_key", key.error() + " (an Ed25519 public key)");
  r.public_key = *key;
  r.cert = path_value(s, "cert", dir);
  r.key = path_value(s, "key", dir);
  if (auto pvss = s.string("pvss_public_key")) {
    auto bytes = pki::parse_public_key_hex(*pvss);
    if (!bytes) s.invalid("pvss_public_key", bytes.error() + " (a PVSS public key)");
    const auto point = confidentiality::Point::from_bytes(*bytes);
    if (!point || point->is_identity()) {
      s.invalid("pvss_public_key", "not a valid PVSS public key (a ristretto255 point)");
    }
    r.pvss_public_key = *bytes;
    r.pvss_key = path_value(s, "pvss_key", dir);
  }
  return r;
}

void parse_replicas(Section& root, const Context& ctx, const std::filesystem::path& dir,
                    ClusterConfig& out) {
  const toml::node* node = root.find("replicas");
  if (node == nullptr) root.missing("replicas");
  const bool empty_array = node->is_array() && node->as_array()->empty();
  if (!empty_array && !node->is_array_of_tables()) {
    ctx.fail(ConfigErrorCode::kWrongType, "replicas",
             "expected an array of tables ([[replicas]]), found " +
                 std::string(type_name(node->type())));
  }
  const toml::array& list = *node->as_array();
  std::vector<ReplicaConfig> parsed;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Section s(ctx, *list.get(i)->as_table(), "replicas[" + std::to_string(i) + "]",
              {"id", "host", "port", "metrics_port", "public_key", "cert", "key", "pvss_public_key",
               "pvss_key"});
    parsed.push_back(parse_replica(s, dir));
  }
  const std::size_t n = 3 * std::size_t{out.f} + 1;
  if (parsed.size() != n) {
    ctx.fail(ConfigErrorCode::kInvalidValue, "cluster.f",
             std::to_string(out.f) + " needs " + std::to_string(n) + " replicas, found " +
                 std::to_string(parsed.size()));
  }
  std::vector<std::optional<std::size_t>> index_of_id(n);
  std::map<std::pair<std::string, std::uint16_t>, std::string> endpoints;
  for (std::size_t i = 0; i < n; ++i) {
    const ReplicaConfig& r = parsed[i];
    const std::string where = "replicas[" + std::to_string(i) + "]";
    if (r.id >= n) {
      ctx.fail(ConfigErrorCode::kInvalidValue, where + ".id",
               std::to_string(r.id) + " is not in 0.." + std::to_string(n - 1));
    }
    if (index_of_id[r.id]) {
      ctx.fail(ConfigErrorCode::kInvalidValue, where + ".id",
               std::to_string(r.id) + " is used twice (also replicas[" +
                   std::to_string(*index_of_id[r.id]) + "])");
    }
    index_of_id[r.id] = i;
    for (const auto& [key, port] : {std::pair{"port", r.port}, {"metrics_port", r.metrics_port}}) {
      const std::string here = where + "." + key;
      auto [it, inserted] = endpoints.emplace(std::pair{r.host, port}, here);
      if (!inserted) {
        ctx.fail(ConfigErrorCode::kInvalidValue, here,
                 r.host + ":" + std::to_string(port) + " is already used by " + it->second);
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (parsed[i].public_key == parsed[j].public_key) {
        ctx.fail(ConfigErrorCode::kInvalidValue, "replicas[" + std::to_string(i) + "].public_key",
                 "the same key as replicas[" + std::to_string(j) + "]; each replica needs its own");
      }
    }
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (parsed[i].pvss_public_key.has_value() != parsed[0].pvss_public_key.has_value()) {
      ctx.fail(ConfigErrorCode::kInvalidValue,
               "replicas[" + std::to_string(i) + "].pvss_public_key",
               "every replica has a PVSS key or none does");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (parsed[i].pvss_public_key && parsed[i].pvss_public_key == parsed[j].pvss_public_key) {
        ctx.fail(ConfigErrorCode::kInvalidValue,
                 "replicas[" + std::to_string(i) + "].pvss_public_key",
                 "the same key as replicas[" + std::to_string(j) + "]; each replica needs its own");
      }
    }
  }
  out.replicas.resize(n);
  for (auto& r : parsed) out.replicas[r.id] = std::move(r);
}

ClusterConfig parse(std::string_view text, const std::filesystem::path& file) {
  const Context ctx(file.string());
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw Failure{{ConfigErrorCode::kSyntax,
                   file.string() + ": line " + std::to_string(begin.line) + ", column " +
                       std::to_string(begin.column) + ": " + std::string(e.description())}};
  }
  ClusterConfig out;
  out.file = file;
  out.dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  Section top(
      ctx, root, "",
      {"cluster", "groups", "policy", "tuplespace", "protocol", "transport", "test", "replicas"});
  Section cluster(ctx, subtable(top, "cluster", true), "cluster",
                  {"name", "f", "ca_cert", "admins", "default_identity", "data_dir", "in_memory"});
  parse_cluster_section(cluster, out.dir, out);
  const toml::table& groups = subtable(top, "groups", false);
  Section groups_section(ctx, groups, "groups");
  parse_groups_section(groups_section, groups, out.groups);
  Section policy(ctx, subtable(top, "policy", false), "policy",
                 {"instructions_max", "memory_bytes_max"});
  parse_policy_section(policy, out.policy);
  Section tuplespace(ctx, subtable(top, "tuplespace", false), "tuplespace",
                     {"bytes_per_client_max", "state_bytes_max"});
  parse_tuplespace_section(tuplespace, out.tuplespace);
  Section protocol(ctx, subtable(top, "protocol", false), "protocol",
                   {"checkpoint_interval", "batch_max_requests", "batch_max_bytes",
                    "batch_delay_us", "pipeline_max", "request_timeout_ms",
                    "view_change_timeout_ms", "clock_skew_max_ms", "agreed_time_slack_ms",
                    "agreed_time_window_ms", "frame_max_bytes", "client_frame_max_bytes"});
  parse_protocol_section(protocol, out.protocol);
  Section transport(
      ctx, subtable(top, "transport", false), "transport",
      {"keepalive_ms", "handshake_timeout_ms", "first_bytes_timeout_ms",
       "handshakes_in_progress_max", "handshakes_per_source_max", "connections_per_source_max",
       "send_queue_max_bytes", "client_send_queue_max_bytes", "client_connections_max",
       "client_connections_per_principal_max", "reconnect_min_ms", "reconnect_max_ms",
       "held_bytes_max"});
  parse_transport_section(transport, out.protocol, out.transport);
  Section test(ctx, subtable(top, "test", false), "test", {"allow_byzantine"});
  out.test.allow_byzantine = test.boolean("allow_byzantine").value_or(false);
  parse_replicas(top, ctx, out.dir, out);
  return out;
}

}  // namespace

std::filesystem::path ClusterConfig::identity_dir(std::string_view identity) const {
  return dir / "identities" / std::string(identity);
}

Result<ClusterConfig, ConfigError> parse_cluster_config(std::string_view text,
                                                        const std::filesystem::path& file) {
  try {
    return parse(text, file);
  } catch (Failure& f) {
    return fail(std::move(f.error));
  }
}

Result<Done, ConfigError> check_cluster_files(const ClusterConfig& config) {
  const std::string label = config.file.string();
  auto error = [&](ConfigErrorCode code, const std::string& key, const std::string& problem) {
    return fail(ConfigError{code, label + ": " + key + ": " + problem});
  };
  auto ca = pki::read_certificate(config.ca_cert);
  if (!ca) return error(ConfigErrorCode::kFile, "cluster.ca_cert", ca.error());
  if (!pki::is_ca(*ca)) {
    return error(ConfigErrorCode::kFile, "cluster.ca_cert",
                 config.ca_cert.string() + " is not a CA certificate");
  }
  for (const ReplicaConfig& r : config.replicas) {
    const std::string where = "replicas[" + std::to_string(r.id) + "]";
    auto cert = pki::read_certificate(r.cert);
    if (!cert) return error(ConfigErrorCode::kFile, where + ".cert", cert.error());
    if (auto v = pki::verify_issued_by(*cert, *ca); !v) {
      return error(ConfigErrorCode::kKeyMismatch, where + ".cert",
                   r.cert.string() + " is not valid for the cluster CA: " + v.error());
    }
    auto cn = pki::common_name(*cert);
    if (!cn || *cn != replica_name(r.id)) {
      return error(ConfigErrorCode::kKeyMismatch, where + ".cert",
                   r.cert.string() + " is not the certificate of " + replica_name(r.id) +
                       (cn ? " (its name is " + in_quotes(*cn) + ")" : " (" + cn.error() + ")"));
    }
    auto key = pki::ed25519_public_key(*cert);
    if (!key) return error(ConfigErrorCode::kKeyMismatch, where + ".cert", key.error());
    if (*key != r.public_key) {
      return error(ConfigErrorCode::kKeyMismatch, where + ".public_key",
                   "does not match the key in " + r.cert.string());
    }
  }
  return Done{};
}

Result<ClusterConfig, ConfigError> load_cluster_config(const std::filesystem::path& file) {
  auto text = pki::read_small_file(file, kClusterFileMaxBytes);
  if (!text) return fail(ConfigError{ConfigErrorCode::kIo, text.error()});
  auto config = parse_cluster_config(*text, file);
  if (!config) return config;
  if (auto files = check_cluster_files(*config); !files) return fail(std::move(files).error());
  return config;
}

}  // namespace bastion::config
