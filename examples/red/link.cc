#include "examples/red/link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

namespace bastion::red {
namespace {

struct Word {
  std::string_view text;
  Kind kind;
};
constexpr Word kWords[] = {{"BOOTED", Kind::kBooted},
                           {"ACK", Kind::kAck},
                           {"MAKECOPIER", Kind::kMakeCopier},
                           {"MAKEWRITER", Kind::kMakeWriter},
                           {"FAILED", Kind::kFailed}};

// Ids are certificate names: no spaces or control characters (config/names.h is stricter).
bool plain(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string format(const Message& m) {
  std::string line;
  for (const Word& w : kWords) {
    if (w.kind == m.kind) line = w.text;
  }
  for (const std::string& id : m.ids) line += " " + id;
  return line;
}

std::optional<Message> parse(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::string word;
  if (!(in >> word)) return std::nullopt;
  Message m;
  bool known = false;
  for (const Word& w : kWords) {
    if (w.text == word) {
      m.kind = w.kind;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  for (std::string id; in >> id;) {
    if (!plain(id)) return std::nullopt;
    m.ids.push_back(id);
  }
  switch (m.kind) {
    case Kind::kBooted:
    case Kind::kFailed:
      if (m.ids.size() != 1) return std::nullopt;
      break;
    case Kind::kAck:
    case Kind::kMakeCopier:
      if (!m.ids.empty()) return std::nullopt;
      break;
    case Kind::kMakeWriter:
      break;
  }
  return m;
}

LineChannel::~LineChannel() { close(); }

void LineChannel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool LineChannel::send(std::string_view line) {
  if (fd_ < 0) return false;
  std::string data(line);
  data += '\n';
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> LineChannel::receive(std::optional<std::chrono::milliseconds> timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  while (fd_ >= 0) {
    const auto end = buffer_.find('\n');
    if (std::min(end, buffer_.size()) > kLineMax) {
      close();
      return std::nullopt;
    }
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return line;
    }
    int wait_ms = -1;
    if (timeout) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return std::nullopt;
    if (ready == 0) continue;  // the deadline check above ends the wait
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close();
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

}  // namespace bastion::red
