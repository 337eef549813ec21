// From agreed replies to client results: core statuses and service errors become Errc with
// messages, typed results come out of the right reply kinds, and anything unexpected (bytes that
// do not decode, a reply kind the operation never gets) is a protocol error, not a crash.
#include <gtest/gtest.h>

#include "client/reply.h"
#include "codec/codec.h"
#include "tuplespace/text.h"

namespace bastion::client_detail {
namespace {

codec::Bytes encoded(const ts::Reply& reply) { return codec::encode(reply); }
Tuple tup(std::string_view text) { return *ts::parse_tuple(text); }
Expected<ts::Reply> ok(ts::Reply r) { return r; }
Expected<ts::Reply> err(Errc code) { return fail(Error{code, "m"}); }

TEST(ClientReply, CoreStatuses) {
  auto r = to_reply(bft::ReplyStatus::kOk, encoded(ts::Found{tup("(1)")}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ts::Reply(ts::Found{tup("(1)")}));

  for (auto status :
       {bft::ReplyStatus::kStale, bft::ReplyStatus::kTooLarge, bft::ReplyStatus::kEvicted}) {
    r = to_reply(status, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kRejected);
    EXPECT_FALSE(r.error().message.empty());
  }
  for (auto status : {bft::ReplyStatus::kNotReadOnly, bft::ReplyStatus::kPending,
                      static_cast<bft::ReplyStatus>(200)}) {
    r = to_reply(status, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kProtocol);
  }
}

TEST(ClientReply, ServiceErrorsKeepCodeAndMessage) {
  auto r = to_reply(bft::ReplyStatus::kOk,
                    encoded(ts::Error{ts::ErrorCode::kDenied, "client 'x' may not remove"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kDenied);
  EXPECT_EQ(r.error().message, "client 'x' may not remove");
  for (std::uint8_t c = 1; c < ts::kErrorCodeCount; ++c) {
    const auto code = static_cast<ts::ErrorCode>(c);
    EXPECT_EQ(static_cast<std::uint8_t>(errc_of(code)), c);
    EXPECT_EQ(errc_name(errc_of(code)), ts::error_code_name(code));
  }
}

TEST(ClientReply, UndecodableBytesAreAProtocolError) {
  for (const codec::Bytes& bytes : {codec::Bytes{}, codec::Bytes{0xff}, codec::Bytes{3, 1}}) {
    auto r = to_reply(bft::ReplyStatus::kOk, bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kProtocol);
  }
  codec::Bytes trailing = encoded(ts::Ack{});
  trailing.push_back(0);
  EXPECT_EQ(to_reply(bft::ReplyStatus::kOk, trailing).error().code, Errc::kProtocol);
}

TEST(ClientReply, TypedViews) {
  EXPECT_TRUE(as_done(ok(ts::Ack{}), "out").ok());
  EXPECT_EQ(as_done(ok(ts::Found{}), "out").error().code, Errc::kProtocol);
  EXPECT_EQ(as_done(ok(ts::Found{}), "out").error().message, "unexpected reply 'found' to out");

  EXPECT_EQ(**as_found(ok(ts::Found{tup("(1)")}), "rdp"), tup("(1)"));
  EXPECT_FALSE(as_found(err(Errc::kNotFound), "rdp")->has_value());
  EXPECT_FALSE(as_found(err(Errc::kTimedOut), "rd")->has_value());
  EXPECT_FALSE(as_found(err(Errc::kTimedOut), "in")->has_value());
  EXPECT_EQ(as_found(err(Errc::kTimedOut), "rdp").error().code, Errc::kTimedOut);
  EXPECT_EQ(as_found(err(Errc::kDenied), "inp").error().code, Errc::kDenied);
  EXPECT_EQ(as_found(ok(ts::Ack{}), "rdp").error().code, Errc::kProtocol);

  EXPECT_EQ(*as_found_all(ok(ts::FoundAll{{tup("(1)"), tup("(2)")}}), "rdAll"),
            (std::vector<Tuple>{tup("(1)"), tup("(2)")}));
  EXPECT_EQ(as_found_all(ok(ts::Ack{}), "rdAll").error().code, Errc::kProtocol);

  auto inserted = as_cas(ok(ts::CasResult{true, {}}));
  EXPECT_TRUE(inserted->inserted);
  EXPECT_FALSE(inserted->existing.has_value());
  auto existing = as_cas(ok(ts::CasResult{false, tup("(\"held\")")}));
  EXPECT_FALSE(existing->inserted);
  EXPECT_EQ(existing->existing, tup("(\"held\")"));
  EXPECT_EQ(as_cas(ok(ts::Ack{})).error().code, Errc::kProtocol);

  EXPECT_EQ(as_spaces(ok(ts::Spaces{{ts::SpaceInfo{"a", {}, 1}}}))->size(), 1u);
  EXPECT_EQ(as_spaces(err(Errc::kUnavailable)).error().code, Errc::kUnavailable);

  // space show: exactly one space.
  EXPECT_EQ(as_space(ok(ts::Spaces{{ts::SpaceInfo{"a", {}, 1, 0}}}))->name, "a");
  EXPECT_EQ(as_space(err(Errc::kNoSuchSpace)).error().code, Errc::kNoSuchSpace);
  EXPECT_EQ(as_space(ok(ts::Spaces{})).error().code, Errc::kProtocol);
  EXPECT_EQ(as_space(ok(ts::Spaces{{ts::SpaceInfo{"a", {}, 0, 0}, ts::SpaceInfo{"b", {}, 0, 0}}}))
                .error()
                .code,
            Errc::kProtocol);
  EXPECT_EQ(as_space(ok(ts::Ack{})).error().message, "unexpected reply 'ack' to space show");
}

TEST(ClientReply, StableNames) {
  EXPECT_EQ(errc_name(Errc::kUnavailable), "unavailable");
  EXPECT_EQ(errc_name(Errc::kRejected), "rejected");
  EXPECT_EQ(errc_name(Errc::kConfig), "config");
  EXPECT_EQ(errc_name(Errc::kProtocol), "protocol");
  EXPECT_EQ(errc_name(Errc::kOk), "ok");
}

}  // namespace
}  // namespace bastion::client_detail
