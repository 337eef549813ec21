// Confidential tuples as the engine stores them, and the three parties' steps on them.
//
// A confidential tuple of k fields is stored as an ordinary tuple of k+1 fields, so the engine
// matches, indexes, expires, snapshots and transfers it like any other:
//   field i < k   public: the value itself; comparable: bytes, its 32-byte fingerprint; private:
//                 empty bytes (a placeholder)
//   field k       bytes: the encoded Envelope (protection vector, PVSS sharing, sealed values)
// A template of k fields becomes k+1 patterns: public as given, comparable values fingerprinted,
// `*` on private fields, and a final `*` for the envelope. Typed wildcards and values on private
// fields are refused (nothing of them is stored to match), and so are typed wildcards on
// comparable fields (only equality can be matched).
//
// Binding: the sharing's proof covers a digest of the space, the writer, the stored fields and the
// protection vector (the tuple's context); the sealed values' associated data covers that digest
// and the sharing. So no part can be moved to another tuple or space, and nobody but the writer
// can insert it: replicas check that the envelope's writer is the principal inserting it. (Else
// a compromised replica could hand a stored tuple to a client who inserts a copy where it may
// read it, and collect the correct replicas' shares of it.) A reader who finds that the
// sealed values do not decrypt, or do not match the fingerprints, holds evidence that the writer
// cheated (RepairEvidence) that every replica can check without any key.
//
// Thread-safety: plain functions and immutable objects.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/types/optional.hpp>

#include "codec/digest.h"
#include "codec/result.h"
#include "confidentiality/fingerprint.h"
#include "confidentiality/pvss.h"
#include "tuplespace/value.h"

namespace bastion::confidentiality {

enum class Protection : std::uint8_t { kPublic = 0, kComparable = 1, kPrivate = 2 };
using ProtectionVector = std::vector<Protection>;

// "pu,co,pr": public, comparable, private (also "public", "comparable", "private").
Result<ProtectionVector, std::string> parse_protection(std::string_view text);
std::string format_protection(const ProtectionVector& protection);
// The vector as stored (SpaceOptions::protection, Envelope::protection), and back: nothing when a
// byte is not a protection.
std::vector<std::uint8_t> protection_bytes(const ProtectionVector& protection);
std::optional<ProtectionVector> protection_of_bytes(std::span<const std::uint8_t> bytes);
// The protection of each field of an `arity`-field tuple: the vector's entries, the last one
// repeating for longer tuples (protection is not empty).
ProtectionVector expand(const ProtectionVector& protection, std::size_t arity);

// The last field of a stored confidential tuple.
struct Envelope {
  std::string writer;                    // the principal that sealed and inserts the tuple
  std::vector<std::uint8_t> protection;  // one Protection per field
  Sharing sharing;
  std::vector<std::uint8_t> sealed;  // seal() of the protected values, in field order

  friend bool operator==(const Envelope&, const Envelope&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(writer, protection, sharing, sealed);
  }
};

// A stored confidential tuple taken apart (both sides).
struct StoredTuple {
  ts::Tuple fields;  // the first k fields, as stored
  Envelope envelope;
  codec::Digest context;  // what the sharing's proof and the opened shares are bound to

  // The sealed values' associated data.
  codec::Digest associated() const;
};

// Takes a stored tuple of `space` apart and checks its shape: at least one field, an envelope
// that decodes, one protection entry per field, fingerprints and placeholders where the
// protection says. Does not check the sharing (verify_stored does).
Result<StoredTuple, std::string> parse_stored(std::string_view space, const ts::Tuple& stored);

// The replica's check before storing: shape, the writer is `inserter`, and every share's proof.
Result<StoredTuple, std::string> verify_stored(const Pvss& pvss, std::string_view space,
                                               std::string_view inserter, const ts::Tuple& stored);

// The replica's share for a reader.
OpenedShare open_share(const PvssSecretKey& key, std::uint32_t index, const StoredTuple& tuple);

// What the client library needs to write and read one confidential space.
class SpaceKeys {
 public:
  // `writer`: the principal this client inserts as.
  SpaceKeys(const Pvss& pvss, FingerprintKey fingerprints, std::string space, std::string writer)
      : pvss_(pvss),
        fingerprints_(std::move(fingerprints)),
        space_(std::move(space)),
        writer_(std::move(writer)) {}

  const Pvss& pvss() const { return pvss_; }
  const FingerprintKey& fingerprints() const { return fingerprints_; }
  const std::string& space() const { return space_; }

  // The tuple to store for `plain` (protection expanded to its arity).
  Result<ts::Tuple, std::string> seal(const ts::Tuple& plain,
                                      const ProtectionVector& protection) const;
  // The template to send for `tmpl`.
  Result<ts::Template, std::string> fingerprint(const ts::Template& tmpl,
                                                const ProtectionVector& protection) const;

 private:
  const Pvss& pvss_;
  FingerprintKey fingerprints_;
  std::string space_;
  std::string writer_;
};

// Why a stored tuple could not be opened, with what proves it when the writer is to blame.
struct OpenFailure {
  enum class Kind : std::uint8_t {
    kBadShares,         // the opened shares do not combine (fewer than t, repeated): not evidence
    kBadCiphertext,     // the sealed values do not decrypt under the shared key
    kBadPlaintext,      // they decrypt to something that is not the protected values
    kWrongFingerprint,  // a comparable field's value does not have the stored fingerprint
  };
  Kind kind;
  std::size_t field = 0;  // kWrongFingerprint: which field
  std::string message;
};

// Opens a stored tuple with t opened shares: combines them, decrypts, checks every comparable
// field against its fingerprint. Precondition: the caller verified each share
// (Pvss::verify_opened with tuple.context, as the client's reply voting does); an unverified bad
// share makes a valid tuple look like kBadCiphertext.
Result<ts::Tuple, OpenFailure> open(const SpaceKeys& keys, const StoredTuple& tuple,
                                    std::span<const OpenedShare> shares);

// A reader's claim that a stored tuple is invalid: t opened shares, and for a wrong fingerprint
// the field's true fingerprint, proved.
struct RepairEvidence {
  std::vector<OpenedShare> shares;
  std::uint32_t field = 0;                         // wrong fingerprint: the field
  std::optional<FingerprintEvidence> fingerprint;  // wrong fingerprint only

  friend bool operator==(const RepairEvidence&, const RepairEvidence&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(codec::at_most(kMaxShareholders, shares), field, fingerprint);
  }
};

// The evidence a failed open() gives (kBadCiphertext, kBadPlaintext, kWrongFingerprint).
RepairEvidence evidence_of(const SpaceKeys& keys, const StoredTuple& tuple,
                           std::span<const OpenedShare> shares, const OpenFailure& failure);

// A replica's check of a repair claim: true when the evidence shows that the tuple is invalid
// (the writer cheated); false for a false claim. `fingerprint_key` is the space's public key.
// On true, `reason` says why, for the log.
bool check_repair(const Pvss& pvss, const Point& fingerprint_key, const StoredTuple& tuple,
                  const RepairEvidence& evidence, std::string* reason);

}  // namespace bastion::confidentiality
