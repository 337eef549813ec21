#include "bft/net/frame.h"

#include <algorithm>
#include <cstring>

#include "codec/check.h"

namespace bastion::net {
namespace {

std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

void store_le32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}

// Reads smaller than this are not worth a syscall: compact the buffer first.
constexpr std::size_t kMinReadBytes = 1024;

}  // namespace

FrameReader::FrameReader(std::size_t frame_max_bytes, std::size_t buffer_bytes,
                         std::size_t retain_bytes)
    : frame_max_bytes_(frame_max_bytes),
      buffer_bytes_(std::max(buffer_bytes, kMinReadBytes + kFrameHeaderBytes)),
      retain_bytes_(retain_bytes) {}

void FrameReader::reserve_total(std::size_t bytes) {
  const std::size_t pending = end_ - begin_;
  if (bytes <= capacity_ && begin_ == 0) return;
  if (bytes <= capacity_) {
    std::memmove(buf_.get(), buf_.get() + begin_, pending);
  } else {
    std::unique_ptr<std::uint8_t[]> bigger(new std::uint8_t[bytes]);
    if (pending != 0) std::memcpy(bigger.get(), buf_.get() + begin_, pending);
    buf_ = std::move(bigger);
    capacity_ = bytes;
  }
  begin_ = 0;
  end_ = pending;
}

std::span<std::uint8_t> FrameReader::prepare() {
  if (failed_) return {};
  std::size_t pending = end_ - begin_;
  if (pending == 0) {
    begin_ = end_ = 0;
    // Give back the memory of a large frame once it has been consumed.
    if (capacity_ > std::max(buffer_bytes_, retain_bytes_)) {
      buf_.reset();
      capacity_ = 0;
    }
  }
  if (!buf_) {
    buf_.reset(new std::uint8_t[buffer_bytes_]);
    capacity_ = buffer_bytes_;
  }
  std::size_t need = 0;  // bytes the buffer must hold from begin_ to finish the current frame
  if (pending >= kFrameHeaderBytes) {
    const std::size_t len = load_le32(buf_.get() + begin_);
    // next() has validated it (or will refuse it before asking for more).
    need = kFrameHeaderBytes + std::min(len, frame_max_bytes_);
  }
  if (capacity_ - begin_ < need) {
    reserve_total(std::max(need, buffer_bytes_));
  } else if (capacity_ - end_ < kMinReadBytes && begin_ != 0) {
    reserve_total(capacity_);
  }
  if (capacity_ == end_) reserve_total(capacity_ + buffer_bytes_);  // a frame needs every byte
  return {buf_.get() + end_, capacity_ - end_};
}

void FrameReader::commit(std::size_t bytes_read) {
  BASTION_CHECK(bytes_read <= capacity_ - end_);
  end_ += bytes_read;
}

FrameReader::Status FrameReader::next(ByteView& frame) {
  if (failed_) return Status::kOversized;
  const std::size_t pending = end_ - begin_;
  if (pending < kFrameHeaderBytes) return Status::kNeedMore;
  const std::size_t len = load_le32(buf_.get() + begin_);
  if (len > frame_max_bytes_) {
    failed_ = true;
    return Status::kOversized;
  }
  if (len == 0) {
    begin_ += kFrameHeaderBytes;
    return Status::kKeepalive;
  }
  if (pending < kFrameHeaderBytes + len) return Status::kNeedMore;
  frame = ByteView(buf_.get() + begin_ + kFrameHeaderBytes, len);
  begin_ += kFrameHeaderBytes + len;
  return Status::kFrame;
}

void SendQueue::grow() {
  const std::size_t new_size = slots_.empty() ? 16 : slots_.size() * 2;
  std::vector<Entry> bigger(new_size);
  for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(at(i));
  slots_ = std::move(bigger);
  head_ = 0;
}

bool SendQueue::push(Frame frame) {
  BASTION_CHECK(frame);
  if (frame->size() > kFramePayloadMaxBytes) return false;
  const std::size_t bytes = kFrameHeaderBytes + frame->size();
  if (bytes > max_bytes_ || queued_bytes_ > max_bytes_ - bytes) return false;
  if (count_ == slots_.size()) grow();
  at(count_) = Entry{std::move(frame), 0};
  ++count_;
  queued_bytes_ += bytes;
  return true;
}

void SendQueue::push_keepalive() {
  if (keepalive_queued_) return;
  if (count_ == slots_.size()) grow();
  at(count_) = Entry{nullptr, 0};
  ++count_;
  queued_bytes_ += kFrameHeaderBytes;
  keepalive_queued_ = true;
}

SendQueue::Filled SendQueue::fill(std::vector<std::uint8_t>& out, std::size_t chunk_bytes) {
  Filled done;
  while (count_ != 0 && out.size() < chunk_bytes) {
    Entry& e = at(0);
    const std::size_t payload = e.frame ? e.frame->size() : 0;
    const std::size_t total = kFrameHeaderBytes + payload;
    if (e.written < kFrameHeaderBytes) {
      std::uint8_t header[kFrameHeaderBytes];
      store_le32(header, static_cast<std::uint32_t>(payload));
      const std::size_t n = std::min(kFrameHeaderBytes - e.written, chunk_bytes - out.size());
      out.insert(out.end(), header + e.written, header + e.written + n);
      e.written += n;
    }
    if (e.written >= kFrameHeaderBytes && e.written < total) {
      const std::size_t from = e.written - kFrameHeaderBytes;
      const std::size_t n = std::min(payload - from, chunk_bytes - out.size());
      out.insert(out.end(), e.frame->begin() + static_cast<std::ptrdiff_t>(from),
                 e.frame->begin() + static_cast<std::ptrdiff_t>(from + n));
      e.written += n;
    }
    if (e.written < total) break;
    if (!e.frame) {
      keepalive_queued_ = false;
      ++done.keepalives;
    }
    queued_bytes_ -= total;
    e = Entry{};
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
    ++done.frames;
  }
  return done;
}

void SendQueue::clear() {
  for (std::size_t i = 0; i < count_; ++i) at(i) = Entry{};
  head_ = count_ = queued_bytes_ = 0;
  keepalive_queued_ = false;
}

}  // namespace bastion::net
