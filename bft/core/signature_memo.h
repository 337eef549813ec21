// Signatures a replica already found valid, so that the ones that travel again and again
// (prepared certificates and checkpoint proofs are repeated in every VIEW-CHANGE and NEW-VIEW) are
// checked once: a faulty replica sending VIEW-CHANGEs for view after view must not make its peers
// verify the same ~1,000 signatures each time. Only valid signatures go in, so a forged one costs
// one check per message that carries it.
//
// Bounded: at most `capacity` entries, the oldest forgotten first. Ordered (std::set): replicas
// grinding signatures cannot flood a hash table's buckets.
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <deque>
#include <set>

#include "bft/core/crypto.h"
#include "bft/core/types.h"
#include "codec/archive.h"

namespace bastion::bft {

class SignatureMemo {
 public:
  explicit SignatureMemo(std::size_t capacity) : capacity_(capacity) {}

  // What identifies one checked signature: a digest of the signer, domain, signature and message.
  static Digest key(ReplicaId signer, SignDomain domain, ByteView message, const Signature& sig);

  bool contains(const Digest& key) const { return keys_.contains(key); }
  void remember(const Digest& key);
  std::size_t size() const { return keys_.size(); }

 private:
  std::size_t capacity_;
  std::set<Digest> keys_;
  std::deque<Digest> order_;  // oldest first
};

}  // namespace bastion::bft
