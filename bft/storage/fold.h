// Folds recovered records into the PersistedState that Replica::start() takes.
//
// Header-only so that bft/storage does not need bft/core's library: the caller (the daemon, the
// simulator) links bastion_bft_core, which defines PersistedStateBuilder.
//
// Thread-safety: pure function.
#pragma once

#include <vector>

#include "bft/core/persist.h"

namespace bastion::bft::storage {

inline PersistedState fold(const std::vector<PersistRecord>& records) {
  PersistedStateBuilder builder;
  for (const PersistRecord& r : records) builder.add(r);
  return builder.state();
}

}  // namespace bastion::bft::storage
