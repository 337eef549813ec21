// Segment format: see segment.h.
#include "bft/storage/segment.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "codec/digest.h"

namespace bastion::bft::storage {
namespace {

constexpr std::uint8_t kSegmentMagic[8] = {'B', 'S', 'T', 'N', 'W', 'A', 'L', 0};
constexpr std::uint8_t kFrameMagic[4] = {'B', 'F', 'R', 'M'};
constexpr std::size_t kChecksumBytes = 8;
// Header field offsets.
constexpr std::size_t kVersionAt = 8;
constexpr std::size_t kKindAt = 12;
constexpr std::size_t kNumberAt = 16;
constexpr std::size_t kSealedAt = 24;
constexpr std::size_t kSaltAt = 32;
constexpr std::size_t kHeaderChecksumAt = 48;
static_assert(kHeaderChecksumAt + kChecksumBytes == kSegmentHeaderBytes);

void put_u32(Bytes& b, std::size_t at, std::uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put_u64(Bytes& b, std::size_t at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
std::uint32_t get_u32(ByteView b, std::size_t at) {
  std::uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
std::uint64_t get_u64(ByteView b, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

std::array<std::uint8_t, kChecksumBytes> header_checksum(ByteView header) {
  const codec::Digest d = codec::blake2b(header.first(kHeaderChecksumAt));
  std::array<std::uint8_t, kChecksumBytes> out;
  std::copy_n(d.begin(), kChecksumBytes, out.begin());
  return out;
}

std::array<std::uint8_t, kChecksumBytes> frame_checksum(const Salt& salt, std::uint64_t offset,
                                                        std::uint32_t length,
                                                        std::uint64_t group_offset,
                                                        ByteView payload) {
  codec::Blake2b h(salt);
  std::uint8_t fields[20];
  std::memcpy(fields, &offset, 8);
  std::memcpy(fields + 8, &length, 4);
  std::memcpy(fields + 12, &group_offset, 8);
  h.update(ByteView(fields, sizeof(fields)));
  h.update(payload);
  const codec::Digest d = h.finish();
  std::array<std::uint8_t, kChecksumBytes> out;
  std::copy_n(d.begin(), kChecksumBytes, out.begin());
  return out;
}

struct FrameAt {
  std::uint32_t length = 0;
  std::uint64_t group_offset = 0;
};

// The frame at `pos` if it is intact, else why not.
Result<FrameAt, std::string> frame_at(ByteView file, std::uint64_t pos, const Salt& salt,
                                      std::uint32_t record_bytes_max) {
  const std::uint64_t left = file.size() - pos;
  if (left < kFrameHeaderBytes) return fail(std::string("truncated record header"));
  const std::size_t p = static_cast<std::size_t>(pos);
  if (std::memcmp(file.data() + p, kFrameMagic, sizeof(kFrameMagic)) != 0) {
    return fail(std::string("bad record magic"));
  }
  FrameAt f;
  f.length = get_u32(file, p + 4);
  f.group_offset = get_u64(file, p + 8);
  if (f.length > record_bytes_max) {
    return fail("record length " + std::to_string(f.length) + " exceeds the limit of " +
                std::to_string(record_bytes_max));
  }
  if (f.length > left - kFrameHeaderBytes) return fail(std::string("record runs past the end"));
  if (f.group_offset < kSegmentHeaderBytes || f.group_offset > pos) {
    return fail(std::string("bad group offset"));
  }
  const ByteView payload = file.subspan(p + kFrameHeaderBytes, f.length);
  const auto sum = frame_checksum(salt, pos, f.length, f.group_offset, payload);
  if (std::memcmp(sum.data(), file.data() + p + 16, kChecksumBytes) != 0) {
    return fail(std::string("checksum mismatch"));
  }
  return f;
}

}  // namespace

SegmentBuilder::SegmentBuilder(SegmentKind kind, std::uint64_t number, const Salt& salt)
    : bytes_(kSegmentHeaderBytes, 0), salt_(salt) {
  std::memcpy(bytes_.data(), kSegmentMagic, sizeof(kSegmentMagic));
  put_u32(bytes_, kVersionAt, kSegmentVersion);
  put_u32(bytes_, kKindAt, static_cast<std::uint32_t>(kind));
  put_u64(bytes_, kNumberAt, number);
  std::copy(salt.begin(), salt.end(), bytes_.begin() + kSaltAt);
}

Bytes SegmentBuilder::seal() && {
  put_u64(bytes_, kSealedAt, bytes_.size());
  const auto sum = header_checksum(bytes_);
  std::copy(sum.begin(), sum.end(), bytes_.begin() + kHeaderChecksumAt);
  return std::move(bytes_);
}

FrameWriter::FrameWriter(Bytes& out, std::uint64_t file_offset, std::uint64_t group_offset,
                         const Salt& salt)
    : out_(out), file_offset_(file_offset), group_offset_(group_offset), salt_(salt) {}

std::size_t FrameWriter::begin() {
  const std::size_t at = out_.size();
  out_.resize(at + kFrameHeaderBytes, 0);
  return at;
}

void FrameWriter::end(std::size_t at) {
  const std::size_t length = out_.size() - at - kFrameHeaderBytes;
  const auto length32 = static_cast<std::uint32_t>(length);
  const std::uint64_t offset = file_offset_ + at;
  std::memcpy(out_.data() + at, kFrameMagic, sizeof(kFrameMagic));
  put_u32(out_, at + 4, length32);
  put_u64(out_, at + 8, group_offset_);
  const ByteView payload(out_.data() + at + kFrameHeaderBytes, length);
  const auto sum = frame_checksum(salt_, offset, length32, group_offset_, payload);
  std::copy(sum.begin(), sum.end(), out_.begin() + static_cast<std::ptrdiff_t>(at + 16));
}

void FrameWriter::cancel(std::size_t at) { out_.resize(at); }

Result<SegmentHeader, std::string> decode_segment_header(ByteView file) {
  if (file.size() < kSegmentHeaderBytes) return fail(std::string("shorter than a segment header"));
  if (std::memcmp(file.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return fail(std::string("not a log segment (bad magic)"));
  }
  const auto sum = header_checksum(file);
  if (std::memcmp(sum.data(), file.data() + kHeaderChecksumAt, kChecksumBytes) != 0) {
    return fail(std::string("segment header checksum mismatch"));
  }
  const std::uint32_t version = get_u32(file, kVersionAt);
  if (version != kSegmentVersion) {
    return fail("unsupported segment version " + std::to_string(version));
  }
  SegmentHeader h;
  const std::uint32_t kind = get_u32(file, kKindAt);
  if (kind != static_cast<std::uint32_t>(SegmentKind::kBase) &&
      kind != static_cast<std::uint32_t>(SegmentKind::kContinuation)) {
    return fail("unknown segment kind " + std::to_string(kind));
  }
  h.kind = static_cast<SegmentKind>(kind);
  h.number = get_u64(file, kNumberAt);
  h.sealed_bytes = get_u64(file, kSealedAt);
  if (h.sealed_bytes < kSegmentHeaderBytes) return fail(std::string("bad sealed size"));
  std::copy_n(file.begin() + kSaltAt, h.salt.size(), h.salt.begin());
  return h;
}

Result<SegmentScan, ScanError> scan_segment(ByteView file, bool last,
                                            std::uint32_t record_bytes_max) {
  auto header = decode_segment_header(file);
  if (!header) return fail(ScanError{0, std::move(header).error()});
  SegmentScan scan;
  scan.header = *header;
  const std::uint64_t size = file.size();
  const std::uint64_t sealed = scan.header.sealed_bytes;
  if (sealed > size) {
    return fail(ScanError{size, "file ends before its sealed size " + std::to_string(sealed)});
  }
  std::uint64_t pos = kSegmentHeaderBytes;
  std::optional<std::uint64_t> group;  // start of the group of the last intact frame
  while (pos < size) {
    auto frame = frame_at(file, pos, scan.header.salt, record_bytes_max);
    if (frame) {
      // A frame continues the current group or starts a new one where it stands; frames of the
      // sealed part form the first group.
      const std::uint64_t g = frame->group_offset;
      const bool consistent = (g == pos || (group && g == *group)) &&
                              (pos < sealed ? g == kSegmentHeaderBytes : g >= sealed);
      if (!consistent) {
        return fail(ScanError{pos, "record claims a group starting at " + std::to_string(g)});
      }
      scan.frames.push_back(ScannedFrame{
          pos, file.subspan(static_cast<std::size_t>(pos) + kFrameHeaderBytes, frame->length)});
      group = g;
      const std::uint64_t next = pos + kFrameHeaderBytes + frame->length;
      if (pos < sealed && next > sealed) {
        return fail(ScanError{pos, "record crosses the sealed size " + std::to_string(sealed)});
      }
      pos = next;
      continue;
    }
    const std::string reason = std::move(frame).error();
    if (pos < sealed) return fail(ScanError{pos, reason + " inside the sealed part"});
    if (!last) return fail(ScanError{pos, reason});
    // A torn write only damages the last group: every intact frame after the damage must belong
    // to the group that contains it (which began at `pos` or at the current group's start).
    for (std::uint64_t q = pos + 1; q + kFrameHeaderBytes <= size; ++q) {
      if (std::memcmp(file.data() + q, kFrameMagic, sizeof(kFrameMagic)) != 0) continue;
      // Only a frame claiming another group matters; verify just those.
      const std::uint64_t claimed = get_u64(file, static_cast<std::size_t>(q) + 8);
      if (claimed == pos || (group && claimed == *group)) continue;
      auto later = frame_at(file, q, scan.header.salt, record_bytes_max);
      if (!later) continue;
      const std::uint64_t g = later->group_offset;
      if (g != pos && !(group && g == *group)) {
        return fail(ScanError{pos, reason + "; an intact record of a later group follows at " +
                                       std::to_string(q) + ", so this is not a torn write"});
      }
    }
    scan.torn_tail = true;
    break;
  }
  scan.valid_bytes = pos;
  return scan;
}

}  // namespace bastion::bft::storage
