// The ReD text protocol (examples/red/link.h): every message round-trips, malformed lines are
// refused, and the channel delivers lines, times out and sees the other end close.
#include "examples/red/link.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace bastion::red {
namespace {

using namespace std::chrono_literals;

TEST(RedLink, EveryMessageRoundTrips) {
  for (const Message& m : {Message{Kind::kBooted, {"node2"}}, Message{Kind::kAck, {}},
                           Message{Kind::kMakeCopier, {}}, Message{Kind::kMakeWriter, {}},
                           Message{Kind::kMakeWriter, {"a", "b"}}, Message{Kind::kFailed, {"x"}}}) {
    EXPECT_EQ(parse(format(m)), m) << format(m);
  }
  EXPECT_EQ(format(Message{Kind::kMakeWriter, {"node2", "node3"}}), "MAKEWRITER node2 node3");
}

TEST(RedLink, MalformedLinesAreRefused) {
  for (const char* line : {"", "HELLO", "ack", "BOOTED", "BOOTED a b", "ACK x", "MAKECOPIER me",
                           "FAILED", "BOOTED \x01"}) {
    EXPECT_FALSE(parse(line).has_value()) << line;
  }
}

TEST(RedLink, ChannelCarriesLinesTimesOutAndSeesTheOtherEndClose) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  LineChannel a(fds[0]);
  LineChannel b(fds[1]);
  EXPECT_FALSE(b.receive(20ms).has_value());
  ASSERT_TRUE(a.send("BOOTED node2"));
  ASSERT_TRUE(a.send("ACK"));
  EXPECT_EQ(b.receive(1s), std::optional<std::string>("BOOTED node2"));
  EXPECT_EQ(b.receive(1s), std::optional<std::string>("ACK"));
  a.close();
  EXPECT_FALSE(b.receive().has_value());  // no timeout: returns because the other end closed
  EXPECT_FALSE(b.send("ACK"));
}

TEST(RedLink, AnEndlessLineClosesTheChannel) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  LineChannel a(fds[0]);
  LineChannel b(fds[1]);
  std::thread writer([&] { a.send(std::string(LineChannel::kLineMax + 10, 'x')); });
  EXPECT_FALSE(b.receive(5s).has_value());
  b.close();
  writer.join();
}

}  // namespace
}  // namespace bastion::red
