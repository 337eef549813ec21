// Framing: how messages travel on a byte stream, and the two buffers at each end of a channel.
//
// Wire format: a frame is a 4-byte little-endian payload length, then the payload. A frame of
// length 0 is a keep-alive and is never delivered. A length above the receiver's limit is a
// protocol violation: the receiver closes the channel (it cannot resynchronise, and it must not
// allocate what a hostile length asks for).
//
// FrameReader reassembles frames from the stream with one buffer per channel: reads land in it,
// frames are handed out as views into it (no copy, no allocation per frame), and it only grows to
// hold one frame of at most the limit. Once drained, a buffer larger than retain_bytes shrinks
// back to buffer_bytes: channels that regularly carry large frames (replica links) keep a larger
// buffer instead of reallocating per frame; client channels give the memory back.
//
// SendQueue holds the frames waiting for one channel, bounded in bytes (header + payload). Frames
// are shared (Frame = shared_ptr<const Bytes>), so a broadcast queues the same bytes for every
// peer. fill() coalesces queued frames into one contiguous chunk for a single TLS write: TLS
// encrypts record by record anyway, and one write of many small frames beats many small writes.
//
// Thread-safety: none; each instance belongs to one channel, used on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/archive.h"

namespace bastion::net {

using codec::Bytes;
using codec::ByteView;
// The same type as bft::SharedBytes: an encoded message shared between queues.
using Frame = std::shared_ptr<const Bytes>;

inline constexpr std::size_t kFrameHeaderBytes = 4;
// A payload length must fit the 4-byte header.
inline constexpr std::size_t kFramePayloadMaxBytes = 0xffffffffu;

inline Frame make_frame(Bytes payload) { return std::make_shared<const Bytes>(std::move(payload)); }

class FrameReader {
 public:
  enum class Status : std::uint8_t {
    kNeedMore,   // read more bytes into prepare() first
    kFrame,      // `frame` holds a payload, valid until the next prepare()
    kKeepalive,  // a zero-length frame was consumed
    kOversized,  // a length above the limit: the stream is unusable from here on
  };

  FrameReader(std::size_t frame_max_bytes, std::size_t buffer_bytes, std::size_t retain_bytes = 0);

  // Raising or lowering the limit applies to frames whose header has not been read yet.
  void set_frame_max_bytes(std::size_t frame_max_bytes) { frame_max_bytes_ = frame_max_bytes; }
  void set_retain_bytes(std::size_t retain_bytes) { retain_bytes_ = retain_bytes; }
  std::size_t frame_max_bytes() const { return frame_max_bytes_; }

  // Space to read into: never empty (unless after kOversized), at least large enough to complete
  // the frame in progress. Invalidates views handed out before.
  std::span<std::uint8_t> prepare();
  void commit(std::size_t bytes_read);
  Status next(ByteView& frame);

  std::size_t buffered_bytes() const { return end_ - begin_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void reserve_total(std::size_t bytes);

  std::unique_ptr<std::uint8_t[]> buf_;  // not value-initialised: a 16 MiB frame is not zeroed
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last byte read
  std::size_t frame_max_bytes_;
  std::size_t buffer_bytes_;
  std::size_t retain_bytes_;
  bool failed_ = false;
};

class SendQueue {
 public:
  explicit SendQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  void set_max_bytes(std::size_t max_bytes) { max_bytes_ = max_bytes; }
  // False (and nothing queued) when the frame would take the queue above its limit, or the
  // frame is too large for the header.
  bool push(Frame frame);
  // Keep-alives bypass the limit: they are 4 bytes and at most one is queued at a time.
  void push_keepalive();

  struct Filled {
    std::size_t frames = 0;      // frames whose last byte was copied by this call
    std::size_t keepalives = 0;  // of which keep-alives
  };
  // Appends queued bytes to `out` until it holds chunk_bytes (or the queue is empty). A frame that
  // does not fit whole is split; the rest goes in the next chunk.
  Filled fill(std::vector<std::uint8_t>& out, std::size_t chunk_bytes);

  bool empty() const { return count_ == 0; }
  std::size_t frames() const { return count_; }
  std::size_t queued_bytes() const { return queued_bytes_; }
  void clear();

 private:
  struct Entry {
    Frame frame;              // null for a keep-alive
    std::size_t written = 0;  // bytes of header + payload already copied out
  };
  Entry& at(std::size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  void grow();

  std::vector<Entry> slots_;  // a ring; size is 0 or a power of two
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t queued_bytes_ = 0;
  std::size_t max_bytes_;
  bool keepalive_queued_ = false;
};

}  // namespace bastion::net
