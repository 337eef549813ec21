// The text protocol between a ReD coordinator and its database replica (docs/red.md), one line
// per message:
//
//   BOOTED id            coordinator -> writer replica: replica `id` wants in
//   ACK                  writer replica -> coordinator: it may (the answer to BOOTED)
//   MAKECOPIER           coordinator -> replica: you are a copier
//   MAKEWRITER id...     coordinator -> replica: you are the writer; these are the copiers
//   FAILED id            coordinator -> writer replica: copier `id` failed
//
// and the channel that carries it: a stream socket (here one end of a socketpair between the two
// threads of a node; a real replica would sit behind a local socket), read line by line.
//
// Thread-safety: a LineChannel is used by one thread at a time.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::red {

enum class Kind { kBooted, kAck, kMakeCopier, kMakeWriter, kFailed };

struct Message {
  Kind kind = Kind::kAck;
  std::vector<std::string> ids;  // BOOTED, FAILED: exactly one; MAKEWRITER: the copiers
  friend bool operator==(const Message&, const Message&) = default;
};

// The line without its newline.
std::string format(const Message& m);
// A line without its newline; nullopt if it is not exactly one of the messages above (unknown
// word, wrong number of ids, an id that is not a plain name).
std::optional<Message> parse(std::string_view line);

class LineChannel {
 public:
  // Takes ownership of a connected stream socket.
  explicit LineChannel(int fd) : fd_(fd) {}
  ~LineChannel();
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;

  // Writes one line (a newline is added); false once the other end is gone.
  bool send(std::string_view line);
  // The next line; nullopt when the other end closed, the channel broke, or `timeout` (if
  // given) passed. A line longer than kLineMax closes the channel: the peer is broken.
  std::optional<std::string> receive(std::optional<std::chrono::milliseconds> timeout = {});
  // Closes this end: the other end's receive() returns nullopt.
  void close();

  static constexpr std::size_t kLineMax = 64 * 1024;

 private:
  int fd_;
  std::string buffer_;
};

}  // namespace bastion::red
