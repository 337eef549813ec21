// Fuzz target: an arbitrary byte stream, cut into arbitrary reads, through FrameReader. Checks
// that it never reads out of bounds, never allocates for a length above the limit, and yields
// exactly the frames a trivial reference parser finds, stopping at the first oversized length.
//
// Input layout: byte 0 picks the frame limit, byte 1 seeds the read sizes, the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "bft/net/frame.h"

using bastion::net::ByteView;
using bastion::net::FrameReader;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t limit = std::size_t{data[0]} * 16;  // 0..4080: small, so limits are hit
  std::uint32_t cuts = data[1] * 2654435761u + 1;
  const std::uint8_t* stream = data + 2;
  const std::size_t n = size - 2;

  // Reference: walk the stream directly.
  std::vector<std::string> expected;
  bool expect_oversized = false;
  for (std::size_t pos = 0; pos + 4 <= n;) {
    const std::size_t len = std::size_t{stream[pos]} | std::size_t{stream[pos + 1]} << 8 |
                            std::size_t{stream[pos + 2]} << 16 | std::size_t{stream[pos + 3]} << 24;
    if (len > limit) {
      expect_oversized = true;
      break;
    }
    if (pos + 4 + len > n) break;
    if (len != 0) expected.emplace_back(stream + pos + 4, stream + pos + 4 + len);
    pos += 4 + len;
  }

  FrameReader reader(limit, 1024);
  std::vector<std::string> got;
  bool oversized = false;
  std::size_t pos = 0;
  while (pos < n && !oversized) {
    auto space = reader.prepare();
    if (space.empty()) std::abort();
    cuts = cuts * 1103515245u + 12345u;
    std::size_t chunk = 1 + (cuts >> 16) % 300;
    if (chunk > space.size()) chunk = space.size();
    if (chunk > n - pos) chunk = n - pos;
    for (std::size_t i = 0; i < chunk; ++i) space[i] = stream[pos + i];
    reader.commit(chunk);
    pos += chunk;
    for (;;) {
      ByteView f;
      const auto s = reader.next(f);
      if (s == FrameReader::Status::kNeedMore) break;
      if (s == FrameReader::Status::kOversized) {
        oversized = true;
        break;
      }
      if (s == FrameReader::Status::kFrame) got.emplace_back(f.begin(), f.end());
    }
    // Memory is bounded by the limit, not by what the stream announces.
    if (reader.capacity() > limit + 4 + 2048) std::abort();
  }
  if (got != expected || oversized != expect_oversized) std::abort();
  return 0;
}
