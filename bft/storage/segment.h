// The on-disk format of write-ahead log segments: pure functions over bytes, no I/O.
//
// A segment file is a header followed by frames:
//
//   header (56 bytes): magic "BSTNWAL\0" | version u32 | kind u32 | number u64 | sealed_bytes u64
//                      | salt [16] | checksum [8] = BLAKE2b(all previous header bytes)[0..8)
//   frame:  magic u32 | payload_len u32 | group_offset u64 | checksum [8] | payload
//           checksum = BLAKE2b keyed with the salt over (frame offset u64, payload_len,
//                      group_offset, payload), first 8 bytes
// All integers little-endian.
//
// Invariants the writer keeps and recovery relies on:
//   - A segment gets its name only once its first `sealed_bytes` (header and first group) are
//     durable (written to a temporary file, synced, renamed), so a segment with its final name
//     never has a torn header or a torn first group.
//   - Frames written by one sync (a group) are contiguous and all carry the file offset where the
//     group starts. A group is written only after the previous one is durable, so at a crash
//     only the last group of the last segment can be incomplete, with holes anywhere in it.
//   - The checksum is keyed with the segment's random salt and covers the frame's own offset, so
//     bytes inside a payload (which clients partly choose) can never pass for a frame, and a frame
//     is valid at exactly one place.
//
// Hence the recovery rule (scan_segment): at the first frame that does not verify in the last
// segment, the damage is a torn write if every intact frame after it belongs to the group that
// contains it; then the log ends there. Anywhere else it is corruption (fail closed). A
// corrupted frame in the last group of the last segment cannot be told from a torn write; it is
// treated as one (the same limit as every write-ahead log without a second copy).
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/archive.h"
#include "codec/result.h"

namespace bastion::bft::storage {

using codec::Bytes;
using codec::ByteView;

// 3: checkpoint files held the state's page list, then its pages, under a digest over pages.
// 4: checkpoint files hold the page list only, the pages are in page packs (page_store.h).
inline constexpr std::uint32_t kSegmentVersion = 4;
inline constexpr std::size_t kSegmentHeaderBytes = 56;
inline constexpr std::size_t kFrameHeaderBytes = 24;

using Salt = std::array<std::uint8_t, 16>;

enum class SegmentKind : std::uint32_t {
  kBase = 1,          // starts with the compacted log: recovery starts at the newest base
  kContinuation = 2,  // follows the previous segment
};

struct SegmentHeader {
  SegmentKind kind = SegmentKind::kBase;
  std::uint64_t number = 0;
  std::uint64_t sealed_bytes = kSegmentHeaderBytes;
  Salt salt{};
};

// Builds the bytes a new segment starts with: its header, then frames appended by add_frame(),
// then seal() fills in sealed_bytes and the header checksum.
class SegmentBuilder {
 public:
  SegmentBuilder(SegmentKind kind, std::uint64_t number, const Salt& salt);
  Bytes& bytes() { return bytes_; }
  const Salt& salt() const { return salt_; }
  // Seals everything built so far (the header and one group) and returns the bytes.
  Bytes seal() &&;

 private:
  Bytes bytes_;
  Salt salt_;
};

// Frames payloads into a buffer that will be written at file offset `file_offset`, as one group
// starting at `group_offset`.
//   std::size_t at = writer.begin();  ...append the payload to writer.bytes()...;  writer.end(at);
class FrameWriter {
 public:
  FrameWriter(Bytes& out, std::uint64_t file_offset, std::uint64_t group_offset, const Salt& salt);
  // Reserves a frame header; the payload follows in bytes(). Returns the frame's index in bytes().
  std::size_t begin();
  // Fills in the header of the frame begun at `at`, whose payload is everything after it.
  void end(std::size_t at);
  // Removes the frame begun at `at` (a payload that turned out too large).
  void cancel(std::size_t at);
  Bytes& bytes() { return out_; }

 private:
  Bytes& out_;
  std::uint64_t file_offset_;
  std::uint64_t group_offset_;
  Salt salt_;
};

Result<SegmentHeader, std::string> decode_segment_header(ByteView file);

struct ScannedFrame {
  std::uint64_t offset = 0;  // of the frame header in the file
  ByteView payload;          // points into the scanned bytes
};

struct SegmentScan {
  SegmentHeader header;
  std::vector<ScannedFrame> frames;
  std::uint64_t valid_bytes = 0;  // end of the last intact frame
  bool torn_tail = false;         // bytes after valid_bytes are a torn write (last segment only)
};

struct ScanError {
  std::uint64_t offset = 0;
  std::string reason;
};

// Verifies a whole segment. `last` allows a torn tail (see the recovery rule above); a frame
// longer than record_bytes_max is damage, never an allocation.
Result<SegmentScan, ScanError> scan_segment(ByteView file, bool last,
                                            std::uint32_t record_bytes_max);

}  // namespace bastion::bft::storage
