// The registry of simulator applications; see apps.h.
#include "sim/apps.h"

#include "bft/sim/kv_app.h"
#include "sim/red_app.h"
#include "sim/ts_app.h"

namespace bastion::sim {

const bft::sim::AppPlugin* find_app(std::string_view name) {
  static const bft::sim::AppPlugin kv = bft::sim::kv_app_plugin();
  static const bft::sim::AppPlugin tuplespace = ts_app_plugin();
  static const bft::sim::AppPlugin red = red_app_plugin();
  for (const auto* app : {&kv, &tuplespace, &red}) {
    if (name == app->name) return app;
  }
  return nullptr;
}

std::vector<std::string> app_names() { return {"kv", "tuplespace", "red"}; }

}  // namespace bastion::sim
