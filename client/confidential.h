// The client side of confidential spaces (docs/confidentiality.md): what Client does to a request
// before it sends it and to the replies it votes on.
//
//   - space create with `confidential`: fills in the space's fingerprint public key (derived from
//     the identity's fingerprint secret and the space's name) and the default protection (`co`);
//   - out, outAll, cas, replace: seals each tuple (fingerprints, PVSS sharing, sealed values);
//   - every template: comparable values become their fingerprints, private fields `*`;
//   - voting: replicas agree on the common part of a reply (split_common) and each replica's
//     opened shares are checked on their own (verify_shares), so a replica with a bad share is
//     simply not counted;
//   - a reply about confidential tuples: f+1 verified shares per tuple open it; the plaintext is
//     checked against the fingerprints, and a tuple that fails yields the repair (with evidence)
//     that removes it and shuts its writer out of the space.
// Whether a space is confidential, and its default protection, the client learns from `space show`
// once per space (SpaceCache) and forgets when a call on the space fails as if it had changed.
//
// Thread-safety: SpaceCache is internally locked; ClientConfidentiality is immutable after
// construction except its locked key cache, so any thread may use it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bft/core/messages.h"
#include "client/client.h"
#include "confidentiality/envelope.h"

namespace bastion::client_detail {

// The space a tuple operation names; nullptr for requests that are not about tuples.
const std::string* tuple_space(const ts::Request& request);

// What the client knows of a space it used.
struct SpaceState {
  bool confidential = false;
  confidentiality::ProtectionVector protection;  // the space's default (confidential only)
};

class SpaceCache {
 public:
  std::optional<SpaceState> find(const std::string& space) const;
  void learn(const ts::SpaceInfo& info);
  void forget(const std::string& space);

 private:
  mutable std::mutex mu_;
  std::map<std::string, SpaceState> spaces_;
};

class ClientConfidentiality {
 public:
  using Secret = std::array<std::uint8_t, confidentiality::kFingerprintSecretBytes>;

  // `pvss`: the cluster's parameters; `secret`: the identity's fingerprint secret, if it has one;
  // `writer`: the principal this client inserts as.
  ClientConfidentiality(confidentiality::Pvss pvss, std::optional<Secret> secret,
                        std::string writer);
  ~ClientConfidentiality();
  ClientConfidentiality(const ClientConfidentiality&) = delete;
  ClientConfidentiality& operator=(const ClientConfidentiality&) = delete;

  // Voting hooks (bft::ReplyVoter): the part of a result all replicas send alike, and whether
  // replica `replica`'s opened shares in `result` are all valid (true for other replies).
  // A replica whose shares fail is counted (invalid_shares): it lied, or its reply was damaged.
  codec::Bytes split_common(const codec::Bytes& result) const;
  bool verify_shares(bft::ReplicaId replica, const codec::Bytes& result) const;
  // Replies per replica whose shares failed verify_shares (replica ids beyond n are not counted).
  std::vector<std::uint64_t> invalid_shares() const;

  // A confidential space create completed with the space's keys and default protection.
  Expected<Done> prepare_create(ts::SpaceCreate& create) const;

  // `request` (a tuple operation on a confidential space in state `space`) as it is sent:
  // tuples sealed, templates fingerprinted, with `protection` (empty: the space's default).
  Expected<ts::Request> seal(const ts::Request& request, const SpaceState& space,
                             const std::vector<std::uint8_t>& protection) const;

  // A reply with its confidential tuples opened. A tuple that does not open (its writer sealed
  // values that do not match what it stored) is left out, with the repair that proves it.
  struct Opened {
    ts::Reply reply;                  // Found, FoundAll or CasResult; valid tuples only
    std::vector<ts::Repair> repairs;  // one per invalid tuple
  };
  // Opens `reply` with the accepted replies' shares (already verified by verify_shares).
  // `space`: the space the call named.
  Expected<Opened> open(const ts::Confidential& reply, const std::string& space,
                        const std::vector<std::pair<bft::ReplicaId, codec::Bytes>>& replies) const;

 private:
  bool shares_valid(bft::ReplicaId replica, const codec::Bytes& result) const;
  // The keys of `space`, derived once; an error when this identity has no fingerprint secret.
  Expected<std::shared_ptr<const confidentiality::SpaceKeys>> keys(const std::string& space) const;

  confidentiality::Pvss pvss_;
  std::optional<Secret> secret_;
  std::string writer_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::shared_ptr<const confidentiality::SpaceKeys>> keys_;
  mutable std::vector<std::uint64_t> invalid_shares_;  // by replica; guarded by mu_
};

}  // namespace bastion::client_detail
