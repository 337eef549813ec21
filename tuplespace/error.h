// Error codes and errors of the tuple-space engine.
//
// ErrorCode values go on the wire and into client exit codes: they are fixed forever. New codes
// are appended, never renumbered. Every Error carries a human message that says what and why
// ("tuple of 70000 bytes exceeds the space limit of 65536"); programs test the code, people read
// the message.
//
// Decoding an ErrorCode from bytes rejects unknown values (the decoder throws codec::DecodeError).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <cereal/types/string.hpp>

#include "codec/archive.h"

namespace bastion::ts {

enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kNotFound = 1,         // no visible tuple matches (rdp, inp, replace, renew), no such waiter
  kNoSuchSpace = 2,      // the space does not exist (or was deleted while a request waited)
  kSpaceExists = 3,      // space create with a name in use
  kTooLarge = 4,         // a tuple or template beyond the space's byte or field limit
  kQuotaExceeded = 5,    // tuples per space, tuples per client, waiters per client
  kDenied = 6,           // an access list, the space's policy or the admin list forbids it
  kInvalidArgument = 7,  // malformed argument: empty name, arity 0, non-finite float, bad limit
  kTimedOut = 8,         // a waiting rd/in whose timeout passed in agreed time
  kCancelled = 9,        // a waiting rd/in cancelled by its client or by session eviction
  kMalformed = 10,       // bytes that do not decode (a request, a reply, a snapshot)
  kUnsupported = 11,     // a feature this build does not have (confidential spaces, for now)
};
inline constexpr std::uint8_t kErrorCodeCount = 12;

// "ok", "not_found", "no_such_space", ... : stable names for logs, JSON output and docs.
std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kOk;
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;

  template <class Archive>
  void save(Archive& ar) const {
    ar(static_cast<std::uint8_t>(code), message);
  }
  void load(codec::BoundedInputArchive& ar) {
    std::uint8_t c = 0;
    ar(c, message);
    if (c == 0 || c >= kErrorCodeCount) throw codec::DecodeError("unknown error code");
    code = static_cast<ErrorCode>(c);
  }
};

inline Error make_error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

}  // namespace bastion::ts
