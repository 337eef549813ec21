// The simulator's applications by name, for `bastion-sim --app`: the key-value map that tests the
// replication core alone (bft/sim/kv_app.h), the tuple space (ts_app.h) and the ReD election
// built on it (red_app.h). The last two run the real engine, policies and server application,
// which is why they live here, above both bft/ and the tuple space, and not in bft/sim.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bft/sim/app.h"

namespace bastion::sim {

// nullptr for an unknown name.
const bft::sim::AppPlugin* find_app(std::string_view name);
std::vector<std::string> app_names();

}  // namespace bastion::sim
