// TurnQueue: a turn's sends leave once the records it waits for are durable, and never before an
// earlier turn's (bft/core/persist.h, "persist before send").
#include "bft/core/turn_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bastion::bft {
namespace {

// A turn with one message whose bytes name it.
TurnQueue::Sends turn(const std::string& name, std::size_t reply_bytes = 0) {
  TurnQueue::Sends s;
  s.messages.push_back(
      OutMessage{std::nullopt, std::make_shared<const Bytes>(name.begin(), name.end())});
  if (reply_bytes > 0) {
    s.replies.push_back(OutReply{ClientKey{"c", 1}, std::make_shared<const Bytes>(reply_bytes, 0)});
  }
  return s;
}

struct Recorder {
  std::vector<std::string> sent;
  TurnQueue queue{[this](TurnQueue::Sends& s) {
    for (const OutMessage& m : s.messages) sent.emplace_back(m.bytes->begin(), m.bytes->end());
  }};
};

TEST(TurnQueue, ATurnWithNothingToWaitForLeavesAtOnce) {
  Recorder r;
  r.queue.submit(0, turn("a"));
  EXPECT_EQ(r.sent, std::vector<std::string>{"a"});
  EXPECT_EQ(r.queue.held_turns(), 0U);
}

TEST(TurnQueue, TurnsWaitForTheirRecordsAndForEarlierTurnsInOrder) {
  Recorder r;
  r.queue.submit(3, turn("a", 10));  // waits for the first 3 records
  r.queue.submit(0, turn("b"));      // waits for nothing of its own, but comes after "a"
  r.queue.submit(5, turn("c"));
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.queue.held_turns(), 3U);
  EXPECT_EQ(r.queue.held_bytes(), 1U + 10 + 1 + 1);

  r.queue.durable(2);
  EXPECT_TRUE(r.sent.empty());
  r.queue.durable(4);
  EXPECT_EQ(r.sent, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.queue.held_bytes(), 1U);
  r.queue.durable(3);  // counts only move forward
  EXPECT_EQ(r.queue.durable_records(), 4U);
  r.queue.durable(5);
  EXPECT_EQ(r.sent, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.queue.held_turns(), 0U);
  EXPECT_EQ(r.queue.held_bytes(), 0U);

  r.queue.submit(5, turn("d"));  // durable already
  EXPECT_EQ(r.sent.back(), "d");
}

}  // namespace
}  // namespace bastion::bft
