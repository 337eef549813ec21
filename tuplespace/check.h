// BASTION_TS_CHECK(condition): an invariant of the tuple-space engine, checked in every build.
//
// A replica whose state broke an invariant must stop rather than go on and diverge silently from
// the others, so these checks stay on in release builds (unlike assert). They guard programmer
// errors only; hostile input is validated and answered with an error, never checked this way.
//
// Thread-safety: check_failed() writes one line to stderr and aborts.
#pragma once

namespace bastion::ts::detail {

[[noreturn]] void check_failed(const char* condition, const char* file, int line);

}  // namespace bastion::ts::detail

#define BASTION_TS_CHECK(condition)   \
  ((condition) ? static_cast<void>(0) \
               : ::bastion::ts::detail::check_failed(#condition, __FILE__, __LINE__))
