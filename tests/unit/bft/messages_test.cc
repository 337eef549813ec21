// The wire format: every message type round-trips canonically; malformed input is rejected;
// signed bytes cover exactly the signed fields.
#include <gtest/gtest.h>

#include "bft/core/client_table.h"
#include "bft/core/messages.h"
#include "codec/codec.h"
#include "tests/unit/bft/sample_messages.h"

namespace bastion::bft::test {
namespace {

TEST(Messages, EveryTypeRoundTripsCanonically) {
  const auto samples = sample_messages();
  ASSERT_EQ(samples.size(), std::variant_size_v<Message>);
  for (const Message& m : samples) {
    const Bytes bytes = encode_message(m);
    ASSERT_NE(type_name(type_of(m)), nullptr);
    EXPECT_NE(std::string(type_name(type_of(m))), "unknown");
    ASSERT_EQ(bytes[0], kWireVersion);
    EXPECT_EQ(bytes[1], static_cast<std::uint8_t>(type_of(m)));
    auto decoded = decode_message(bytes);
    ASSERT_TRUE(decoded.ok()) << type_name(type_of(m)) << ": " << decoded.error();
    EXPECT_EQ(decoded->index(), m.index());
    EXPECT_EQ(encode_message(*decoded), bytes) << type_name(type_of(m));
  }
}

TEST(Messages, MalformedInputIsRejected) {
  const Bytes good = encode_message(sample_messages()[6]);  // a prepare
  EXPECT_FALSE(decode_message(Bytes{}).ok());
  EXPECT_FALSE(decode_message(Bytes{kWireVersion}).ok());
  Bytes b = good;
  b[0] = 2;
  EXPECT_FALSE(decode_message(b).ok());  // unknown version
  b = good;
  b[1] = 0;
  EXPECT_FALSE(decode_message(b).ok());  // unknown type
  b[1] = 21;
  EXPECT_FALSE(decode_message(b).ok());
  b = good;
  b.push_back(0);
  EXPECT_FALSE(decode_message(b).ok());  // trailing byte
  for (std::size_t len = 2; len < good.size(); ++len) {
    EXPECT_FALSE(decode_message(ByteView(good.data(), len)).ok()) << len;
  }
  // A reply status the client would not understand.
  ReplyMsg r;
  r.status = kReplyStatusMax + 1;
  EXPECT_FALSE(decode_message(encode_message(r)).ok());
  // A bool byte other than 0/1.
  Bytes req = encode_message(ClientRequestMsg{1, 2, false, {}});
  req[2 + 16] = 2;
  EXPECT_FALSE(decode_message(req).ok());
}

TEST(Messages, HugeLengthPrefixesDoNotAllocate) {
  // A vouch message claiming 2^62 entries in a few bytes.
  Bytes b{kWireVersion, static_cast<std::uint8_t>(MsgType::kVouch),
          0xff,         0xff,
          0xff,         0xff,
          0xff,         0xff,
          0xff,         0xff,
          0x3f};
  EXPECT_FALSE(decode_message(b).ok());
}

TEST(Messages, SignedBytesCoverEveryField) {
  PrepareMsg p{1, 2, Digest{3}, 4, {}, 5};
  const Bytes base = prepare_signed_bytes(p);
  auto differs = [&](auto mutate) {
    PrepareMsg q = p;
    mutate(q);
    return prepare_signed_bytes(q) != base;
  };
  EXPECT_TRUE(differs([](PrepareMsg& q) { q.view = 9; }));
  EXPECT_TRUE(differs([](PrepareMsg& q) { q.seq = 9; }));
  EXPECT_TRUE(differs([](PrepareMsg& q) { q.batch_digest[5] = 1; }));
  EXPECT_TRUE(differs([](PrepareMsg& q) { q.replica = 9; }));
  EXPECT_TRUE(differs([](PrepareMsg& q) { q.timestamp_us = 9; }));
  EXPECT_FALSE(differs([](PrepareMsg& q) { q.signature[0] = 1; }));
  BatchHeader h{1, 2, 3, Digest{4}, false};
  BatchHeader h2 = h;
  h2.null_batch = true;
  EXPECT_NE(pre_prepare_signed_bytes(h), pre_prepare_signed_bytes(h2));
}

TEST(Messages, BatchDigestDependsOnOrderAndContent) {
  Request a{ClientKey{"a", 1}, 1, false, Bytes{1}};
  Request b{ClientKey{"b", 1}, 1, false, Bytes{2}};
  EXPECT_NE(batch_digest({a, b}), batch_digest({b, a}));
  EXPECT_NE(batch_digest({a}), batch_digest({a, a}));
  EXPECT_NE(batch_digest({}), Digest{});  // an empty batch is not a null batch
  EXPECT_EQ(batch_digest({a, b}), batch_digest_of({request_digest(a), request_digest(b)}));
  Request a2 = a;
  a2.client.principal = "a2";
  EXPECT_NE(request_digest(a), request_digest(a2));
}

// ---- client table ----------------------------------------------------------------------------

Config table_config() {
  Config c;
  c.client_window = 4;
  c.sessions_per_principal_max = 2;
  c.reply_cache_bytes_max = 10;
  return c;
}

TEST(ClientTable, WindowExecutedAndStale) {
  ClientTable t(table_config());
  const ClientKey k{"alice", 1};
  EXPECT_EQ(t.classify(k, 1), ClientTable::Verdict::kNew);
  EXPECT_TRUE(t.within_window(k, 4));
  EXPECT_FALSE(t.within_window(k, 5));
  t.admit(k, 1);
  t.record(k, 1, Bytes{1});
  t.record(k, 3, std::nullopt);  // waiting
  EXPECT_EQ(t.classify(k, 1), ClientTable::Verdict::kExecuted);
  EXPECT_EQ(t.classify(k, 2), ClientTable::Verdict::kNew);  // concurrent, not yet executed
  EXPECT_TRUE(t.entry(k, 3)->waiting);
  t.complete(k, 3, Bytes{7});
  EXPECT_EQ(t.entry(k, 3)->result, Bytes{7});
  t.record(k, 9, Bytes{});
  EXPECT_EQ(t.classify(k, 5), ClientTable::Verdict::kStale);
  EXPECT_EQ(t.classify(k, 6), ClientTable::Verdict::kNew);
  EXPECT_EQ(t.entries(), 1u);  // 1 and 3 fell out of the window
}

TEST(ClientTable, EvictsLeastRecentlyActiveSessionAndOldestResults) {
  ClientTable t(table_config());
  EXPECT_FALSE(t.admit({"p", 1}, 10).has_value());
  EXPECT_FALSE(t.admit({"p", 2}, 5).has_value());
  EXPECT_FALSE(t.admit({"q", 1}, 1).has_value());  // another principal does not count
  const auto evicted = t.admit({"p", 3}, 11);
  ASSERT_TRUE(evicted.has_value());
  EXPECT_EQ(*evicted, (ClientKey{"p", 2}));
  t.record({"p", 3}, 1, Bytes(6, 1));
  t.record({"p", 3}, 2, Bytes(6, 2));  // over 10 bytes: the oldest result goes
  EXPECT_FALSE(t.entry({"p", 3}, 1)->cached);
  EXPECT_TRUE(t.entry({"p", 3}, 2)->cached);
  EXPECT_LE(t.cached_bytes(), 10u);
}

TEST(ClientTable, EncodingRoundTripsAndHostileTablesAreRejected) {
  const Config cfg = table_config();
  ClientTable t(cfg);
  t.admit({"alice", 1}, 3);
  t.record({"alice", 1}, 1, Bytes{1, 2});
  t.record({"alice", 1}, 2, std::nullopt);
  t.admit({"bob", 7}, 4);
  t.record({"bob", 7}, 5, Bytes{});
  Bytes bytes;
  {
    codec::OutputArchive ar{codec::VectorSink(bytes)};
    t.save(ar);
  }
  auto load = [&](const Bytes& b) {
    codec::BoundedInputArchive ar(b);
    auto r = ClientTable::load(ar, cfg);
    return r.ok() && ar.remaining() == 0 ? std::optional<ClientTable>(std::move(*r)) : std::nullopt;
  };
  auto back = load(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == t);
  // Every truncation is rejected, never a crash.
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    try {
      EXPECT_FALSE(load(cut).has_value());
    } catch (const codec::DecodeError&) {
    }
  }
  // Three sessions for one principal with a limit of two.
  ClientTable big(Config{});
  for (std::uint64_t s = 1; s <= 3; ++s) big.admit({"p", s}, s);
  Bytes big_bytes;
  {
    codec::OutputArchive ar{codec::VectorSink(big_bytes)};
    big.save(ar);
  }
  EXPECT_FALSE(load(big_bytes).has_value());
}

}  // namespace
}  // namespace bastion::bft::test
