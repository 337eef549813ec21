// FrameReader and SendQueue: framing, limits, buffer reuse, coalescing, bounds.
#include "bft/net/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace bastion::net {
namespace {

Bytes encode(const std::vector<std::string>& payloads) {
  Bytes out;
  for (const auto& p : payloads) {
    const auto n = static_cast<std::uint32_t>(p.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// Feeds `stream` to a reader in chunks of the given sizes, collecting frames.
std::vector<std::string> feed(FrameReader& r, const Bytes& stream, std::mt19937& rng,
                              std::size_t max_chunk, int* keepalives = nullptr,
                              bool* oversized = nullptr) {
  std::vector<std::string> frames;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    auto space = r.prepare();
    if (space.empty()) break;
    const std::size_t n =
        std::min({space.size(), stream.size() - pos, 1 + std::size_t(rng() % max_chunk)});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(pos), n, space.begin());
    r.commit(n);
    pos += n;
    for (;;) {
      ByteView f;
      const auto s = r.next(f);
      if (s == FrameReader::Status::kNeedMore) break;
      if (s == FrameReader::Status::kOversized) {
        if (oversized) *oversized = true;
        return frames;
      }
      if (s == FrameReader::Status::kKeepalive) {
        if (keepalives) ++*keepalives;
        continue;
      }
      frames.emplace_back(f.begin(), f.end());
    }
  }
  return frames;
}

TEST(FrameReader, ReassemblesFramesAcrossArbitraryChunks) {
  const std::uint32_t seed = 12345;
  std::mt19937 rng(seed);
  std::vector<std::string> payloads;
  for (int i = 0; i < 500; ++i) {
    const std::size_t len = rng() % 4 == 0 ? 1 + rng() % 70000 : 1 + rng() % 100;
    std::string p(len, '\0');
    for (auto& c : p) c = static_cast<char>(rng());
    payloads.push_back(std::move(p));
  }
  const Bytes stream = encode(payloads);
  for (std::size_t max_chunk : {1u, 7u, 4096u, 100000u}) {
    FrameReader r(1 << 20, 4096);
    const auto got = feed(r, stream, rng, max_chunk);
    ASSERT_EQ(got, payloads) << "seed " << seed << " max_chunk " << max_chunk;
    EXPECT_EQ(r.buffered_bytes(), 0u);
    r.prepare();
    EXPECT_LE(r.capacity(), 4096u) << "memory of large frames is given back";
  }
}

TEST(FrameReader, RetainsABufferUpToRetainBytes) {
  std::mt19937 rng(4);
  const Bytes stream = encode({std::string(30000, 'z')});
  FrameReader keeps(1 << 20, 4096, 64 * 1024);
  ASSERT_EQ(feed(keeps, stream, rng, 100000).size(), 1u);
  keeps.prepare();
  EXPECT_GE(keeps.capacity(), 30004u);
  FrameReader gives_back(1 << 20, 4096);
  ASSERT_EQ(feed(gives_back, stream, rng, 100000).size(), 1u);
  gives_back.prepare();
  EXPECT_EQ(gives_back.capacity(), 4096u);
}

TEST(FrameReader, KeepalivesAreConsumedNotDelivered) {
  std::mt19937 rng(1);
  FrameReader r(1024, 2048);
  int keepalives = 0;
  const auto got = feed(r, encode({"", "a", "", "", "bc"}), rng, 3, &keepalives);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(keepalives, 3);
}

TEST(FrameReader, LengthAboveTheLimitFailsBeforeThePayloadArrives) {
  FrameReader r(100, 2048);
  auto space = r.prepare();
  const Bytes header = {101, 0, 0, 0};
  std::copy(header.begin(), header.end(), space.begin());
  r.commit(4);
  ByteView f;
  EXPECT_EQ(r.next(f), FrameReader::Status::kOversized);
  EXPECT_EQ(r.next(f), FrameReader::Status::kOversized);  // sticky
  EXPECT_TRUE(r.prepare().empty());
  EXPECT_LE(r.capacity(), 2048u);  // nothing was allocated for the announced frame

  // Exactly the limit is fine; 0xffffffff is refused without overflow.
  std::mt19937 rng(2);
  FrameReader ok(100, 2048);
  EXPECT_EQ(feed(ok, encode({std::string(100, 'x')}), rng, 50).size(), 1u);
  FrameReader huge(100, 2048);
  bool oversized = false;
  feed(huge, Bytes{0xff, 0xff, 0xff, 0xff, 1, 2}, rng, 6, nullptr, &oversized);
  EXPECT_TRUE(oversized);
}

TEST(SendQueue, BoundedInBytesAndCoalesced) {
  SendQueue q(100);
  const Frame f40 = make_frame(Bytes(40, 1));  // 44 bytes with its header
  EXPECT_TRUE(q.push(f40));
  EXPECT_TRUE(q.push(f40));
  EXPECT_FALSE(q.push(f40));  // 132 > 100
  EXPECT_EQ(q.queued_bytes(), 88u);
  EXPECT_TRUE(q.push(make_frame(Bytes(8, 2))));  // exactly 100
  EXPECT_FALSE(q.push(make_frame(Bytes(1, 3))));
  q.push_keepalive();  // bypasses the bound, once
  q.push_keepalive();
  EXPECT_EQ(q.frames(), 4u);

  std::vector<std::uint8_t> out;
  const auto filled = q.fill(out, 1 << 20);
  EXPECT_EQ(filled.frames, 4u);
  EXPECT_EQ(filled.keepalives, 1u);
  EXPECT_EQ(out.size(), 104u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.queued_bytes(), 0u);
  std::mt19937 rng(3);
  FrameReader r(1000, 2048);
  int keepalives = 0;
  const auto frames = feed(r, Bytes(out.begin(), out.end()), rng, 1000, &keepalives);
  EXPECT_EQ(frames, (std::vector<std::string>{std::string(40, '\1'), std::string(40, '\1'),
                                              std::string(8, '\2')}));
  EXPECT_EQ(keepalives, 1);
}

TEST(SendQueue, SplitsFramesAcrossChunksAndGrowsItsRing) {
  SendQueue q(1 << 20);
  std::vector<std::string> payloads;
  for (int i = 0; i < 300; ++i) {
    payloads.push_back(std::string(1 + i * 7 % 500, static_cast<char>('a' + i % 26)));
    ASSERT_TRUE(q.push(make_frame(Bytes(payloads.back().begin(), payloads.back().end()))));
  }
  Bytes stream;
  std::size_t frames = 0;
  while (!q.empty()) {
    std::vector<std::uint8_t> chunk;
    frames += q.fill(chunk, 333).frames;
    ASSERT_LE(chunk.size(), 333u);
    stream.insert(stream.end(), chunk.begin(), chunk.end());
  }
  EXPECT_EQ(frames, 300u);
  EXPECT_EQ(stream, encode(payloads));
}

TEST(SendQueue, ABroadcastSharesOneBuffer) {
  const Frame f = make_frame(Bytes(1000, 9));
  SendQueue a(1 << 20), b(1 << 20), c(1 << 20);
  ASSERT_TRUE(a.push(f) && b.push(f) && c.push(f));
  EXPECT_EQ(f.use_count(), 4);
  a.clear();
  EXPECT_EQ(f.use_count(), 3);
}

}  // namespace
}  // namespace bastion::net
