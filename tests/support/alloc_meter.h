// Counts the heap bytes a piece of code allocates, for tests that bound decoding cost.
//
// Linking bastion_alloc_meter replaces the global operator new and delete of the whole binary
// with versions that count live bytes (malloc_usable_size, so sanitizer builds count what their
// allocator hands out). AllocPeak measures the highest live total above the level at its
// construction:
//
//   AllocPeak peak;
//   auto m = decode_message(bytes);
//   EXPECT_LE(peak.bytes(), 16 * bytes.size());
//
// Thread-safety: counters are atomics; a peak is only meaningful while one thread allocates.
#pragma once

#include <cstddef>

namespace bastion::testing {

std::size_t live_heap_bytes();

class AllocPeak {
 public:
  AllocPeak();
  ~AllocPeak();
  AllocPeak(const AllocPeak&) = delete;
  AllocPeak& operator=(const AllocPeak&) = delete;

  // Highest live heap bytes since construction, above the live bytes at construction.
  std::size_t bytes() const;

 private:
  std::size_t base_;
};

}  // namespace bastion::testing
