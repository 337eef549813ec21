// BASTION_CHECK(condition): an invariant, checked in every build type.
//
// A replica whose state broke an invariant must stop rather than go on and diverge silently from
// the others, so these checks stay on in release builds (unlike assert). They guard programmer
// errors only: hostile input (from a peer, a client or a file) is validated, counted and dropped
// or answered with an error, never checked this way.
//
// Thread-safety: check_failed() writes one line to stderr and aborts.
#pragma once

namespace bastion::detail {

[[noreturn]] void check_failed(const char* condition, const char* file, int line);

}  // namespace bastion::detail

#define BASTION_CHECK(condition)      \
  ((condition) ? static_cast<void>(0) \
               : ::bastion::detail::check_failed(#condition, __FILE__, __LINE__))
