// The registry of simulator applications; see apps.h.
#include "sim/apps.h"

#include <array>

#include "bft/sim/kv_app.h"
#include "sim/red_app.h"
#include "sim/ts_app.h"

namespace bastion::sim {
namespace {

const std::array<bft::sim::AppPlugin, 3>& apps() {
  static const std::array<bft::sim::AppPlugin, 3> all = {bft::sim::kv_app_plugin(), ts_app_plugin(),
                                                         red_app_plugin()};
  return all;
}

}  // namespace

const bft::sim::AppPlugin* find_app(std::string_view name) {
  for (const auto& app : apps()) {
    if (name == app.name) return &app;
  }
  return nullptr;
}

std::vector<std::string> app_names() {
  std::vector<std::string> names;
  for (const auto& app : apps()) names.push_back(app.name);
  return names;
}

}  // namespace bastion::sim
