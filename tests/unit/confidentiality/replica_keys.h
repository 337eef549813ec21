// n replicas' PVSS key pairs for tests and benchmarks: secrets[i] is replica i's private key,
// publics[i] its public key.
#pragma once

#include <cstddef>
#include <vector>

#include "confidentiality/pvss.h"

namespace bastion::confidentiality {

struct ReplicaKeys {
  explicit ReplicaKeys(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      secrets.push_back(PvssSecretKey::generate());
      publics.push_back(secrets.back().public_key());
    }
  }
  std::vector<PvssSecretKey> secrets;
  std::vector<Point> publics;
};

}  // namespace bastion::confidentiality
