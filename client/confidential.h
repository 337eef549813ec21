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
//   - a reply about confidential tuples: f+1 verified shares per tuple open it (a tuple opened
//     lately is taken from a bounded memo, its shares not checked again); the plaintext is
//     checked against the fingerprints, and a tuple that fails yields the repair (with evidence)
//     that removes it and shuts its writer out of the space.
// Whether a space is confidential, its default protection and its fingerprint key, the client
// learns from `space show` once per space (SpaceCache) and forgets when a call on the space fails
// as if it had changed.
//
// Thread-safety: SpaceCache is internally locked; ClientConfidentiality is immutable after
// construction except its keys, memo and counters, which one mutex guards, so any thread may use
// it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bft/core/messages.h"
#include "client/client.h"
#include "codec/thread_annotations.h"
#include "confidentiality/envelope.h"
#include "confidentiality/reply.h"

namespace bastion::client_detail {

// What the client knows of a space it used.
struct SpaceState {
  bool confidential = false;
  confidentiality::ProtectionVector protection;  // the space's default (confidential only)
  std::string fingerprint_key = {};              // the space's public fingerprint key
};

class SpaceCache {
 public:
  std::optional<SpaceState> find(std::string_view space) const;
  bool knows(std::string_view space) const;
  void learn(const ts::SpaceInfo& info);
  void forget(const std::string& space);

 private:
  mutable Mutex mu_;
  std::map<std::string, SpaceState, std::less<>> spaces_ BASTION_GUARDED_BY(mu_);
};

class ClientConfidentiality {
 public:
  using Secret = std::array<std::uint8_t, confidentiality::kFingerprintSecretBytes>;

  // `pvss`: the cluster's parameters; `secret`: the identity's fingerprint secret, if it has one;
  // `writer`: the principal this client inserts as; `identity_dir`: where per-space keys are
  // (space-keys/<space>.key, which replace `secret` for that space).
  ClientConfidentiality(confidentiality::Pvss pvss, std::optional<Secret> secret,
                        std::string writer, std::filesystem::path identity_dir);
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
  // Fails (config) when this identity's key for the space is not the space's.
  Expected<ts::Request> seal(const ts::Request& request, const SpaceState& space,
                             const std::vector<std::uint8_t>& protection) const;

  // A reply with its confidential tuples opened. A tuple that does not open (its writer sealed
  // values that do not match what it stored) is left out, with the repair that proves it.
  struct Opened {
    ts::Reply reply;                  // Found, FoundAll or CasResult; valid tuples only
    std::vector<ts::Repair> repairs;  // one per invalid tuple
  };
  // Opens `reply` with the accepted replies' shares (already verified by verify_shares).
  // `space`: the space the call named; `fingerprint_key`: its public key when known (a mismatch
  // with this identity's key fails with config rather than taking valid tuples for invalid ones).
  Expected<Opened> open(const ts::Confidential& reply, const std::string& space,
                        const std::vector<std::pair<bft::ReplicaId, codec::Bytes>>& replies,
                        const std::string& fingerprint_key = {}) const;

 private:
  bool shares_valid(bft::ReplicaId replica, const codec::Bytes& result) const;
  // The keys of `space`, derived once (from space-keys/<space>.key when the identity has it, else
  // from its fingerprint secret); an error when it has neither, or when `expected` (the space's
  // public key, if known) is another key.
  Expected<std::shared_ptr<const confidentiality::SpaceKeys>> keys(
      const std::string& space, const std::string& expected = {}) const;

  confidentiality::Pvss pvss_;
  std::optional<Secret> secret_;
  std::string writer_;
  std::filesystem::path identity_dir_;
  mutable Mutex mu_;
  mutable std::map<std::string, std::shared_ptr<const confidentiality::SpaceKeys>> keys_
      BASTION_GUARDED_BY(mu_);
  mutable std::vector<std::uint64_t> invalid_shares_ BASTION_GUARDED_BY(mu_);  // by replica
  // Plaintexts opened lately, by stored tuple (and space): a tuple read again is neither
  // checked nor combined again.
  using OpenedTuples = confidentiality::OpenedCache<ts::Tuple>;
  static constexpr std::size_t kOpenedEntries = 4096;
  static constexpr std::size_t kOpenedBytes = 16 << 20;
  mutable OpenedTuples opened_ BASTION_GUARDED_BY(mu_){kOpenedEntries, kOpenedBytes};
};

}  // namespace bastion::client_detail
