// Small helpers shared by the recipes' sources (not part of the public API): building templates
// from values, reading int fields, and errors of the recipes' own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "client/client.h"

namespace bastion::recipes::detail {

inline ts::Pattern any() { return ts::Pattern::any(); }
inline ts::Pattern is(ts::Value v) { return ts::Pattern(std::move(v)); }

// Field `i` of `tuple` when it is an int; empty otherwise (a tuple someone else shaped wrongly).
inline std::optional<std::int64_t> int_field(const Tuple& tuple, std::size_t i) {
  if (i >= tuple.size() || !tuple[i].is(ts::Type::kInt)) return std::nullopt;
  return tuple[i].as_int();
}

inline Error error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// The tuple a recipe expected to have a given shape did not: a client that does not follow the
// recipe, or a space shared with other uses.
inline Error malformed(const std::string& what, const Tuple& tuple) {
  return Error{Errc::kMalformed,
               what + " has an unexpected shape (" + std::to_string(tuple.size()) + " fields)"};
}

// A wait of 0 means "forever", as for Client::rd and Client::in.
class Deadline {
 public:
  explicit Deadline(Millis wait)
      : forever_(wait.count() == 0), end_(std::chrono::steady_clock::now() + wait) {}
  bool passed() const { return !forever_ && std::chrono::steady_clock::now() >= end_; }
  // The time left, at most `cap` (cap when forever), and never 0: a wait of 0 would mean forever
  // to rd and in, so a deadline that just passed gives 1 ms (callers test passed() next).
  Millis left(Millis cap) const {
    if (forever_) return cap;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end_) return Millis{1};
    const auto rest = std::max(Millis{1}, std::chrono::duration_cast<Millis>(end_ - now));
    return rest < cap ? rest : cap;
  }

 private:
  bool forever_;
  std::chrono::steady_clock::time_point end_;
};

}  // namespace bastion::recipes::detail
