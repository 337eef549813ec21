// One-line descriptions of protocol messages for the simulator's trace (--verbose).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "bft/core/types.h"

namespace bastion::bft::sim {

// "pre_prepare v0 s3 ts=... d=1a2b3c n=2", "prepare v0 s3 d=1a2b3c r2", "garbage(17 bytes)", ...
std::string describe_message(ByteView bytes);

}  // namespace bastion::bft::sim
