// Result<T, E>: a value or an error, for operating errors that callers must handle.
//
// A small stand-in for C++23's std::expected (GCC 12 in C++20 mode lacks it). Programmer errors
// are not Results: they are assertions. Accessing the wrong alternative is a programmer error and
// aborts (std::get on the wrong variant index throws std::bad_variant_access).
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace bastion {

// Wraps an error so that Result<T, E> can be built from it even when T and E convert to each other.
template <class E>
struct Unexpected {
  E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class E>
Unexpected<std::decay_t<E>> fail(E&& e) {
  return {std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <class G>
  Result(Unexpected<G> e) : v_(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E& error() & { return std::get<1>(v_); }
  const E& error() const& { return std::get<1>(v_); }
  E&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation that produces no value.
struct Done {
  friend bool operator==(Done, Done) { return true; }
};

}  // namespace bastion
