// Basic vocabulary of the replication library: identifiers, client keys, requests, time.
//
// bft/ knows nothing of tuples: a request's payload is opaque bytes interpreted by the
// StateMachine the library is instantiated with.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "codec/archive.h"
#include "codec/digest.h"

namespace bastion::bft {

using codec::Bytes;
using codec::ByteView;
using codec::Digest;
// Encoded messages are shared, so a broadcast does not copy them.
using SharedBytes = std::shared_ptr<const Bytes>;

using ReplicaId = std::uint32_t;
using ViewNum = std::uint64_t;
using SeqNum = std::uint64_t;

// Microseconds. Local clocks (ticks) and agreed batch timestamps use the same unit.
using TimeUs = std::int64_t;

// Protocol bounds on counts. Decoding refuses a message that claims more (codec::at_most), before
// it reads an element; Config::validate keeps every configuration inside them.
inline constexpr std::size_t kReplicasMax = 64;  // n: replica sets are 64-bit masks
inline constexpr std::size_t kLogWindowMax = std::size_t{1} << 16;
inline constexpr std::size_t kBatchRequestsMax = std::size_t{1} << 16;
// Entries per VOUCH and digests per FETCH-REQUESTS (and so requests per REQUESTS).
inline constexpr std::size_t kDisseminationEntriesMax = 4096;

// A client session: the principal is the authenticated identity of the channel the request came
// on (never taken from the request bytes); the session is a number the client process picks at
// start, so several processes may share one identity without mixing their request numbers.
struct ClientKey {
  std::string principal;
  std::uint64_t session = 0;

  friend bool operator==(const ClientKey&, const ClientKey&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const ClientKey&, const ClientKey&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(principal, session);
  }
};

// A client request as it is ordered and executed. `number` is unique per ClientKey; a session's
// requests may be in flight concurrently (within a window) and execute at most once each.
struct Request {
  ClientKey client;
  std::uint64_t number = 0;
  bool read_only = false;
  Bytes payload;

  friend bool operator==(const Request&, const Request&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(client, number, read_only, payload);
  }
};

// The digest that identifies a request in vouches, batches and the client table.
Digest request_digest(const Request& r);

}  // namespace bastion::bft
