// Operations of the tuple space as data: requests, replies, completions, and their wire encoding.
//
// A Request is one operation (a std::variant of the op structs below). Engine::execute() takes a
// Context (who asks, which request, the agreed time) and a Request and returns an Outcome: the
// immediate Reply to this request plus the Completions the call produced for *other*, earlier
// requests (waiting rd/in woken by an insertion, timed out, cancelled, or whose space was deleted).
// The replication layer sends each completion's reply to the request its WaiterKey names.
//
// Encoding: canonical (codec's archives). A variant is one tag byte (the alternative's index, in
// the order listed in the variant) followed by the alternative's fields in declaration order.
// Decoding is bounded, rejects unknown tags and enum values, and is exact: re-encoding a decoded
// value gives back the same bytes. Decoding does not check semantics (empty names, arity, limits):
// Engine::execute() does, and answers invalid_argument.
//
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "codec/archive.h"
#include "codec/codec.h"
#include "codec/result.h"
#include "tuplespace/error.h"
#include "tuplespace/value.h"

namespace bastion::ts {

// ---- who asks, and when --------------------------------------------------------------------

// (client, session, request) names one request; a waiting rd/in is addressed by it.
struct WaiterKey {
  std::string client;
  std::uint64_t session = 0;
  std::uint64_t request = 0;

  friend bool operator==(const WaiterKey&, const WaiterKey&) = default;
  friend auto operator<=>(const WaiterKey&, const WaiterKey&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(client, session, request);
  }
};

struct Context {
  std::string client;  // the authenticated principal: access lists and quotas use it
  std::uint64_t session = 0;
  std::uint64_t request = 0;
  std::int64_t now_ms = 0;  // the agreed time of the batch this request is executed in

  WaiterKey key() const { return {client, session, request}; }
};

// ---- spaces -------------------------------------------------------------------------------

// Hard bounds on options and arguments; a space's own limits must lie inside them.
inline constexpr std::size_t kNameBytesMax = 255;  // space and principal names
inline constexpr std::size_t kAclEntriesMax = 64;  // readers, removers per tuple
inline constexpr std::size_t kPolicyBytesMax = std::size_t{256} * 1024;  // the opaque policy slot
inline constexpr std::uint32_t kTupleBytesCap = 16 << 20;       // tuple_bytes_max upper bound
inline constexpr std::uint32_t kFieldsCap = 256;                // fields_max upper bound
inline constexpr std::uint64_t kTuplesCap = 0xFFFFFFFEull;      // tuples_max upper bound
inline constexpr std::uint32_t kWaitersPerClientCap = 1 << 20;  // waiters_per_client_max bound

// Who may do what in a space, beside its policy script: each list names principals or groups
// ("@name"), sorted and without duplicates; an empty list means every authenticated client. The
// engine stores the lists; the server's access layer interprets them (policy/access_layer.h):
// out and outAll insert; rdp, rd and rdAll read; inp, in and inAll read and remove; cas reads and
// inserts; replace reads, removes and inserts; renew reads and removes.
struct SpaceAccess {
  std::vector<std::string> inserters;
  std::vector<std::string> readers;
  std::vector<std::string> removers;

  friend bool operator==(const SpaceAccess&, const SpaceAccess&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(inserters, readers, removers);
  }
};

// Which lists a SpaceSetAccess replaces (bits of SpaceSetAccess::lists).
inline constexpr std::uint8_t kAccessInserters = 1;
inline constexpr std::uint8_t kAccessReaders = 2;
inline constexpr std::uint8_t kAccessRemovers = 4;

struct SpaceOptions {
  bool confidential = false;
  std::uint32_t tuple_bytes_max = 64 * 1024;  // canonical encoding of one tuple, 1..kTupleBytesCap
  std::uint32_t fields_max = 64;              // fields of a tuple or template, 1..kFieldsCap
  std::uint64_t tuples_max = 1'000'000;       // stored tuples, 1..kTuplesCap
  std::uint64_t tuples_per_client_max = 100'000;  // stored tuples inserted by one client, >= 1
  std::uint32_t waiters_per_client_max = 1024;    // waiting rd/in of one client, 0 = no waiting
  std::string
      policy;  // the Lua policy script (opaque to the engine), <= kPolicyBytesMax; empty: none
  SpaceAccess access;
  // Confidential spaces only, empty otherwise (docs/confidentiality.md): the protection of each
  // field that clients use when a call gives none (kProtection*; the last entry repeats for
  // longer tuples), and the space's fingerprint public key (kFingerprintKeyBytes), with which
  // replicas check the evidence of a repair.
  std::vector<std::uint8_t> protection;
  std::string fingerprint_key;

  friend bool operator==(const SpaceOptions&, const SpaceOptions&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(confidential, tuple_bytes_max, fields_max, tuples_max, tuples_per_client_max,
       waiters_per_client_max, policy, access, protection, fingerprint_key);
  }
};

// Protection of a field of a confidential space: stored in clear, as a fingerprint, encrypted.
inline constexpr std::uint8_t kProtectionPublic = 0;
inline constexpr std::uint8_t kProtectionComparable = 1;
inline constexpr std::uint8_t kProtectionPrivate = 2;
inline constexpr std::size_t kFingerprintKeyBytes = 32;

// Checks options against the hard bounds (access lists sorted, unique, names of 1..kNameBytesMax
// bytes, at most kAclEntriesMax each); the error is invalid_argument with a message.
Result<Done, Error> validate(const SpaceOptions& options);
// Sorts each access list and drops duplicates (what clients send need not be canonical).
void normalize(SpaceAccess& access);

// ---- requests -----------------------------------------------------------------------------

// A tuple to insert, with its lease (0 = no lease) and access lists (empty = everyone).
struct TupleSpec {
  Tuple tuple;
  std::uint64_t lease_ms = 0;
  std::vector<std::string> readers;
  std::vector<std::string> removers;

  friend bool operator==(const TupleSpec&, const TupleSpec&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tuple, lease_ms, readers, removers);
  }
};

struct SpaceCreate {
  std::string space;
  SpaceOptions options;
  friend bool operator==(const SpaceCreate&, const SpaceCreate&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, options);
  }
};
struct SpaceDelete {
  std::string space;
  friend bool operator==(const SpaceDelete&, const SpaceDelete&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space);
  }
};
struct SpaceList {
  friend bool operator==(const SpaceList&, const SpaceList&) = default;
  template <class Archive>
  void serialize(Archive&) {}
};
// Replaces a space's policy script (admins only); an empty policy removes it.
struct SpaceSetPolicy {
  std::string space;
  std::string policy;
  friend bool operator==(const SpaceSetPolicy&, const SpaceSetPolicy&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, policy);
  }
};
// Replaces some of a space's access lists (admins only): those whose bit (kAccess*) is in
// `lists`; the lists of the other bits must be empty.
struct SpaceSetAccess {
  std::string space;
  std::uint8_t lists = 0;
  SpaceAccess access;
  friend bool operator==(const SpaceSetAccess&, const SpaceSetAccess&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, lists, access);
  }
};
// One space with all its options, its policy script included (space list leaves scripts out).
struct SpaceShow {
  std::string space;
  friend bool operator==(const SpaceShow&, const SpaceShow&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space);
  }
};
struct Out {
  std::string space;
  TupleSpec entry;
  friend bool operator==(const Out&, const Out&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, entry);
  }
};
struct OutAll {
  std::string space;
  std::vector<TupleSpec> entries;
  friend bool operator==(const OutAll&, const OutAll&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, entries);
  }
};
struct Rdp {
  std::string space;
  Template tmpl;
  friend bool operator==(const Rdp&, const Rdp&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl);
  }
};
struct Inp {
  std::string space;
  Template tmpl;
  friend bool operator==(const Inp&, const Inp&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl);
  }
};
struct Rd {
  std::string space;
  Template tmpl;
  std::uint64_t timeout_ms = 0;  // 0 = wait forever
  friend bool operator==(const Rd&, const Rd&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, timeout_ms);
  }
};
struct In {
  std::string space;
  Template tmpl;
  std::uint64_t timeout_ms = 0;  // 0 = wait forever
  friend bool operator==(const In&, const In&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, timeout_ms);
  }
};
struct Cas {
  std::string space;
  Template tmpl;
  TupleSpec entry;
  friend bool operator==(const Cas&, const Cas&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, entry);
  }
};
struct Replace {
  std::string space;
  Template tmpl;
  TupleSpec entry;
  friend bool operator==(const Replace&, const Replace&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, entry);
  }
};
struct Renew {
  std::string space;
  Template tmpl;
  std::uint64_t lease_ms = 0;  // >= 1
  friend bool operator==(const Renew&, const Renew&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, lease_ms);
  }
};
struct RdAll {
  std::string space;
  Template tmpl;
  std::uint64_t max = 0;  // 0 = all
  friend bool operator==(const RdAll&, const RdAll&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, max);
  }
};
struct InAll {
  std::string space;
  Template tmpl;
  std::uint64_t max = 0;  // 0 = all
  friend bool operator==(const InAll&, const InAll&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tmpl, max);
  }
};
// Cancels the caller's own waiting rd/in: (ctx.client, ctx.session, request).
struct Cancel {
  std::uint64_t request = 0;
  friend bool operator==(const Cancel&, const Cancel&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(request);
  }
};

// A reader's claim that a stored tuple of a confidential space is invalid: its writer sealed
// values that do not match what it stored (docs/confidentiality.md, "Repair"). `evidence` is an
// encoded confidentiality::RepairEvidence and `writer` the principal the tuple's envelope names;
// the confidentiality layer checks both against the tuple and refuses a false claim. The engine
// then removes the tuple (when it is still stored and readable by the caller) and denies the
// writer every further operation on the space.
struct Repair {
  std::string space;
  Tuple tuple;  // as stored
  std::string writer;
  codec::Bytes evidence;
  friend bool operator==(const Repair&, const Repair&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, tuple, writer, evidence);
  }
};

// The wire tag of each alternative is its index here: append only.
using Request =
    std::variant<SpaceCreate, SpaceDelete, SpaceList, Out, OutAll, Rdp, Inp, Rd, In, Cas, Replace,
                 Renew, RdAll, InAll, Cancel, SpaceSetPolicy, SpaceSetAccess, SpaceShow, Repair>;

// rdp, rdAll, space list and space show: they never change the state, so a replica may execute
// them without ordering (Engine::execute_read_only).
bool read_only(const Request& request);

// "out", "rdAll", ...: for logs and metrics.
std::string_view op_name(const Request& request);

// The space a request addresses; empty for space list and cancel.
std::string_view space_of(const Request& request);

// out, outAll, rdp, inp, rd, in, cas, replace, renew, rdAll, inAll: the operations on a space's
// tuples (what policies decide and what confidential spaces seal and open).
bool is_tuple_op(const Request& request);

// ---- replies ------------------------------------------------------------------------------

struct Ack {  // space create/delete/set-policy/set-access, out, outAll, cancel
  friend bool operator==(const Ack&, const Ack&) = default;
  template <class Archive>
  void serialize(Archive&) {}
};
struct Pending {  // rd/in that waits: the answer comes later as a Completion
  friend bool operator==(const Pending&, const Pending&) = default;
  template <class Archive>
  void serialize(Archive&) {}
};
struct Found {  // rdp, inp, rd, in; replace (the removed tuple); renew (the renewed tuple)
  Tuple tuple;
  friend bool operator==(const Found&, const Found&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tuple);
  }
};
struct FoundAll {  // rdAll, inAll: in insertion order
  std::vector<Tuple> tuples;
  friend bool operator==(const FoundAll&, const FoundAll&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tuples);
  }
};
struct CasResult {  // inserted, or the visible match that prevented the insertion
  bool inserted = false;
  Tuple existing;  // empty when inserted
  friend bool operator==(const CasResult&, const CasResult&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(inserted, existing);
  }
};
struct SpaceInfo {
  std::string name;
  SpaceOptions options;            // space list leaves options.policy empty: see policy_bytes
  std::uint64_t tuples = 0;        // unexpired tuples at the time of the call, readable or not
  std::uint64_t policy_bytes = 0;  // size of the policy script; 0: the space has none
  friend bool operator==(const SpaceInfo&, const SpaceInfo&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, options, tuples, policy_bytes);
  }
};
struct Spaces {  // space list (by name), space show (the one space)
  std::vector<SpaceInfo> spaces;
  friend bool operator==(const Spaces&, const Spaces&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(spaces);
  }
};

// A reply that carries tuples of a confidential space (Found, FoundAll, or a CasResult that found
// one), wrapped by the server with the space's name, so that each replica can add its opened
// shares of the tuples when it sends the reply (docs/confidentiality.md, "Reading").
struct Confidential {
  std::string space;
  codec::Bytes reply;  // the encoded Reply; never itself a Confidential
  friend bool operator==(const Confidential&, const Confidential&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(space, reply);
  }
};

// The wire tag of each alternative is its index here: append only. An Error never has code ok.
using Reply = std::variant<Error, Ack, Pending, Found, FoundAll, CasResult, Spaces, Confidential>;

// ErrorCode::kOk for every reply but an Error.
ErrorCode code_of(const Reply& reply);

struct Completion {
  WaiterKey key;      // the waiting request this answers
  Reply reply;        // Found, or Error timed_out / cancelled / no_such_space
  std::string space;  // the space it waited on
  friend bool operator==(const Completion&, const Completion&) = default;
};

struct Outcome {
  Reply reply;                          // this request's own answer
  std::vector<Completion> completions;  // answers to earlier waiting requests, in order
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// ---- wire encoding of the variants --------------------------------------------------------
// Found by ADL (the alternatives live in this namespace), so codec::encode(request) works.

namespace detail {
template <class Archive, class... Ts>
void save_variant(Archive& ar, const std::variant<Ts...>& v) {
  ar(static_cast<std::uint8_t>(v.index()));
  std::visit([&ar](const auto& alt) { ar(alt); }, v);
}

template <std::size_t I = 0, class... Ts>
void load_alternative(codec::BoundedInputArchive& ar, std::size_t index, std::variant<Ts...>& v) {
  if constexpr (I < sizeof...(Ts)) {
    if (index == I) {
      ar(v.template emplace<I>());
    } else {
      load_alternative<I + 1>(ar, index, v);
    }
  }
}

template <class... Ts>
void load_variant(codec::BoundedInputArchive& ar, std::variant<Ts...>& v) {
  std::uint8_t index = 0;
  ar(index);
  if (index >= sizeof...(Ts)) throw codec::DecodeError("unknown variant tag");
  load_alternative(ar, index, v);
}
}  // namespace detail

// Templates on the exact type: every alternative converts implicitly to its variant, and cereal
// must not see these as serialization functions of the alternatives.
template <class T>
concept WireVariant = std::same_as<T, Request> || std::same_as<T, Reply>;

template <class Archive, WireVariant T>
void save(Archive& ar, const T& v) {
  detail::save_variant(ar, v);
}
template <WireVariant T>
void load(codec::BoundedInputArchive& ar, T& v) {
  detail::load_variant(ar, v);
}

template <class Archive>
void serialize(Archive& ar, Completion& c) {
  ar(c.key, c.reply, c.space);
}
template <class Archive>
void serialize(Archive& ar, Outcome& o) {
  ar(o.reply, o.completions);
}

// Convenience wrappers with the error type the server uses (code malformed).
codec::Bytes encode_request(const Request& request);
Result<Request, Error> decode_request(codec::ByteView bytes);
codec::Bytes encode_outcome(const Outcome& outcome);
Result<Outcome, Error> decode_outcome(codec::ByteView bytes);

}  // namespace bastion::ts
