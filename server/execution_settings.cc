// The digest of a replica's execution settings (see execution_settings.h).
#include "server/execution_settings.h"

#include <algorithm>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "codec/codec.h"

namespace bastion::server {
namespace {

constexpr const char* kEncodingVersion = "bastion.execution-settings.v3";

std::vector<std::string> sorted_unique(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

codec::Digest execution_settings_digest(const bft::Config& protocol, const AppSettings& app) {
  codec::Blake2b hasher;
  {
    codec::HashingOutputArchive ar{codec::HashSink(hasher)};
    ar(std::string(kEncodingVersion));
    ar(protocol.n, protocol.f, protocol.checkpoint_interval, protocol.log_window,
       protocol.client_window, protocol.sessions_per_principal_max, protocol.reply_cache_bytes_max,
       protocol.request_bytes_max, protocol.read_queue_max, protocol.snapshot_bytes_max);
    ar(sorted_unique(app.admins));
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(app.groups.size())));
    for (const auto& [name, members] : app.groups) ar(name, sorted_unique(members));
    ar(app.policy_limits.instructions_max, app.policy_limits.memory_bytes_max);
    ar(app.engine_limits.bytes_per_principal_max, app.engine_limits.state_bytes_max);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(app.pvss_public_keys.size())));
    for (const auto& key : app.pvss_public_keys) ar.saveBinary(key.data(), key.size());
  }
  return hasher.finish();
}

}  // namespace bastion::server
