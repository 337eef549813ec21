// The segment format and the recovery rule of segment.h: exhaustive tears of the last group,
// damage that must be reported, bounded lengths.
#include <gtest/gtest.h>

#include <cstring>

#include "bft/storage/segment.h"

namespace bastion::bft::storage {
namespace {

Salt salt_of(std::uint8_t x) {
  Salt s;
  s.fill(x);
  return s;
}

Bytes payload(std::size_t n, std::uint8_t x) { return Bytes(n, x); }

// A segment: a sealed first group of `sealed` payloads, then groups appended one by one.
class SegmentMaker {
 public:
  SegmentMaker(std::vector<Bytes> sealed, SegmentKind kind = SegmentKind::kBase)
      : salt_(salt_of(7)) {
    SegmentBuilder b(kind, 3, salt_);
    FrameWriter w(b.bytes(), 0, kSegmentHeaderBytes, salt_);
    for (const Bytes& p : sealed) {
      const std::size_t at = w.begin();
      b.bytes().insert(b.bytes().end(), p.begin(), p.end());
      w.end(at);
    }
    file_ = std::move(b).seal();
  }
  // Appends one group; returns its start offset.
  std::uint64_t group(const std::vector<Bytes>& payloads) {
    const std::uint64_t start = file_.size();
    Bytes buf;
    FrameWriter w(buf, start, start, salt_);
    for (const Bytes& p : payloads) {
      const std::size_t at = w.begin();
      buf.insert(buf.end(), p.begin(), p.end());
      w.end(at);
    }
    file_.insert(file_.end(), buf.begin(), buf.end());
    return start;
  }
  Bytes& file() { return file_; }

 private:
  Salt salt_;
  Bytes file_;
};

TEST(Segment, RoundTripsFramesAndHeader) {
  SegmentMaker m({payload(10, 1), payload(0, 2)}, SegmentKind::kContinuation);
  m.group({payload(300, 3)});
  m.group({payload(1, 4), payload(2, 5)});
  auto scan = scan_segment(m.file(), false, 1000);
  ASSERT_TRUE(scan.ok()) << scan.error().reason;
  EXPECT_EQ(scan->header.kind, SegmentKind::kContinuation);
  EXPECT_EQ(scan->header.number, 3u);
  EXPECT_EQ(scan->header.salt, salt_of(7));
  ASSERT_EQ(scan->frames.size(), 5u);
  EXPECT_EQ(Bytes(scan->frames[2].payload.begin(), scan->frames[2].payload.end()), payload(300, 3));
  EXPECT_EQ(scan->frames[1].payload.size(), 0u);
  EXPECT_EQ(scan->valid_bytes, m.file().size());
  EXPECT_FALSE(scan->torn_tail);
}

TEST(Segment, EveryTearOfTheLastGroupIsATornTail) {
  SegmentMaker m({payload(20, 1)});
  m.group({payload(30, 2)});
  const std::uint64_t last_group = m.group({payload(40, 3), payload(50, 4), payload(5, 5)});
  const Bytes full = m.file();
  const std::size_t frame_ends[] = {last_group + kFrameHeaderBytes + 40,
                                    last_group + 2 * kFrameHeaderBytes + 90};
  for (std::size_t cut = last_group; cut < full.size(); ++cut) {
    const Bytes torn(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    auto scan = scan_segment(torn, true, 1000);
    ASSERT_TRUE(scan.ok()) << "cut " << cut << ": " << scan.error().reason;
    std::size_t expected_frames = 2;
    std::uint64_t expected_end = last_group;
    for (const std::size_t end : frame_ends) {
      if (cut >= end) {
        ++expected_frames;
        expected_end = end;
      }
    }
    EXPECT_EQ(scan->frames.size(), expected_frames) << "cut " << cut;
    EXPECT_EQ(scan->valid_bytes, expected_end) << "cut " << cut;
    EXPECT_EQ(scan->torn_tail, cut != expected_end) << "cut " << cut;
    // Not the last segment: a tear is corruption.
    if (cut != expected_end) {
      auto strict = scan_segment(torn, false, 1000);
      ASSERT_FALSE(strict.ok()) << "cut " << cut;
      EXPECT_EQ(strict.error().offset, expected_end);
    }
  }
}

TEST(Segment, HolesInsideTheLastGroupAreATornTail) {
  SegmentMaker m({});
  m.group({payload(30, 1)});
  const std::uint64_t last_group = m.group({payload(40, 2), payload(50, 3)});
  // The first frame of the last group never reached the disk but the second did.
  Bytes& f = m.file();
  std::memset(f.data() + last_group, 0, kFrameHeaderBytes + 40);
  auto scan = scan_segment(f, true, 1000);
  ASSERT_TRUE(scan.ok()) << scan.error().reason;
  EXPECT_TRUE(scan->torn_tail);
  EXPECT_EQ(scan->frames.size(), 1u);
  EXPECT_EQ(scan->valid_bytes, last_group);
}

TEST(Segment, DamageBeforeAnIntactLaterGroupIsCorruption) {
  SegmentMaker m({});
  const std::uint64_t first = m.group({payload(30, 1), payload(30, 2)});
  m.group({payload(40, 3)});
  Bytes& f = m.file();
  f[first + kFrameHeaderBytes + 5] ^= 1;
  auto scan = scan_segment(f, true, 1000);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().offset, first);
  EXPECT_NE(scan.error().reason.find("not a torn write"), std::string::npos);
}

TEST(Segment, DamageInsideTheSealedPartIsCorruptionEvenAtTheEnd) {
  SegmentMaker m({payload(30, 1), payload(30, 2)});
  Bytes& f = m.file();
  f.resize(f.size() - 3);  // shorter than sealed
  auto scan = scan_segment(f, true, 1000);
  ASSERT_FALSE(scan.ok());

  SegmentMaker m2({payload(30, 1), payload(30, 2)});
  m2.file()[kSegmentHeaderBytes + kFrameHeaderBytes + kFrameHeaderBytes + 30 + 1] ^= 4;
  auto scan2 = scan_segment(m2.file(), true, 1000);
  ASSERT_FALSE(scan2.ok());
  EXPECT_NE(scan2.error().reason.find("sealed"), std::string::npos);
}

TEST(Segment, LengthAboveTheLimitIsDamageNotAnAllocation) {
  SegmentMaker m({});
  m.group({payload(500, 1)});
  auto strict = scan_segment(m.file(), false, 499);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.error().reason.find("exceeds"), std::string::npos);
  // A huge length field in the last segment is a torn tail.
  SegmentMaker big({});
  big.group({payload(10, 1)});
  const std::uint64_t last = big.group({payload(10, 2)});
  const std::uint32_t huge = 0xfffffff0u;
  std::memcpy(big.file().data() + last + 4, &huge, 4);
  auto scan = scan_segment(big.file(), true, 1u << 30);
  ASSERT_TRUE(scan.ok()) << scan.error().reason;
  EXPECT_EQ(scan->valid_bytes, last);
}

TEST(Segment, FramesOnlyVerifyWithTheirSegmentsSaltAndOffset) {
  // A frame copied to another offset (or into another segment) does not verify.
  SegmentMaker m({});
  const std::uint64_t g = m.group({payload(16, 9)});
  const Bytes frame(m.file().begin() + static_cast<std::ptrdiff_t>(g), m.file().end());
  m.group({payload(16, 8)});
  m.file().insert(m.file().end(), frame.begin(), frame.end());
  auto scan = scan_segment(m.file(), false, 1000);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().reason, "checksum mismatch");

  SegmentMaker other({});
  other.file()[kSegmentHeaderBytes - 20] ^= 1;  // not re-sealed: header checksum fails
  EXPECT_FALSE(decode_segment_header(other.file()).ok());
}

TEST(Segment, HeaderChecks) {
  SegmentMaker m({});
  EXPECT_TRUE(decode_segment_header(m.file()).ok());
  Bytes short_file(m.file().begin(), m.file().begin() + 10);
  EXPECT_FALSE(decode_segment_header(short_file).ok());
  Bytes bad_magic = m.file();
  bad_magic[0] = 'X';
  EXPECT_FALSE(decode_segment_header(bad_magic).ok());
  EXPECT_FALSE(scan_segment(Bytes{}, true, 100).ok());
}

}  // namespace
}  // namespace bastion::bft::storage
