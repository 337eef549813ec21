// TupleStore and ChainTable: the indexes against brute force, including forced hash clustering.
#include <gtest/gtest.h>
#include <cereal/types/vector.hpp>

#include <map>
#include <random>

#include "codec/codec.h"
#include "tuplespace/encoded.h"
#include "tuplespace/tuple_store.h"

namespace bastion::ts::detail {
namespace {

TEST(ChainTable, ClusteredKeysSurviveBackwardShiftErasure) {
  // Keys with equal low bits all share a home bucket: long probe runs, wrap-around, shifts.
  ChainTable table;
  std::map<std::uint64_t, std::uint32_t> expected;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const std::uint64_t key = (rng() % 64) << 40 | (rng() % 4);
    if (ChainTable::Entry* e = table.find(key)) {
      ASSERT_EQ(expected.count(key), 1u);
      if (rng() % 2 == 0) {
        table.erase(e);
        expected.erase(key);
      }
    } else {
      ASSERT_EQ(expected.count(key), 0u);
      ChainTable::Entry* n = table.insert(key);
      n->count = static_cast<std::uint32_t>(1 + rng() % 100);
      n->head = 1;
      expected[key] = n->count;
    }
    ASSERT_EQ(table.size(), expected.size());
  }
  for (const auto& [key, count] : expected) {
    const ChainTable::Entry* e = table.find(key);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->count, count);
  }
}

TEST(TupleStore, ScanFindsExactlyTheMatchesInSeqOrder) {
  std::mt19937_64 rng(11);
  TupleStore store;
  std::map<std::uint64_t, Tuple> live;  // seq -> tuple
  std::map<std::uint64_t, SlotId> slot_of;
  std::uint64_t seq = 0;
  auto value = [&]() -> Value {
    switch (rng() % 4) {
      case 0:
        return Value(static_cast<int>(rng() % 5));
      case 1:
        return Value(std::string(1 + rng() % 20, static_cast<char>('a' + rng() % 3)));
      case 2:
        return Value(rng() % 2 == 0);
      default:
        return Value(Blob{"b"});
    }
  };
  for (int round = 0; round < 4000; ++round) {
    if (live.empty() || rng() % 3 != 0) {
      Tuple t(1 + rng() % 3);
      for (Value& v : t) v = value();
      ++seq;
      slot_of[seq] = store.insert(seq, codec::encode(t));
      live[seq] = t;
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      store.erase(slot_of.at(it->first));
      live.erase(it);
    }
    if (round % 50 != 0) continue;
    ASSERT_EQ(store.size(), live.size());
    Template tmpl(1 + rng() % 3);
    for (Pattern& p : tmpl) p = rng() % 2 == 0 ? Pattern(value()) : Pattern::any();
    const CompiledTemplate compiled(tmpl);
    std::vector<std::uint64_t> got;
    store.scan(compiled, [&](SlotId, const TupleStore::Slot& slot) {
      if (compiled.matches(slot.encoding())) got.push_back(slot.seq);
      return true;
    });
    std::vector<std::uint64_t> want;
    for (const auto& [s, t] : live) {
      if (matches(tmpl, t)) want.push_back(s);
    }
    ASSERT_EQ(got, want) << "round " << round;
  }
  std::vector<std::uint64_t> order;
  for (SlotId id : store.slots_by_seq()) order.push_back(store.at(id).seq);
  std::vector<std::uint64_t> want;
  for (const auto& [s, t] : live) want.push_back(s);
  EXPECT_EQ(order, want);
}

TEST(CompiledTemplate, MatchesLikeTheValueModel) {
  const Tuple t{Value("ab"), Value(3), Value(2.5), Value(false), Value(Blob{"ab"})};
  const codec::Bytes enc = codec::encode(t);
  const std::vector<Template> templates = {
      {Pattern(Value("ab")), Pattern::any(), Pattern::any(), Pattern::any(), Pattern::any()},
      {Pattern(Value(Blob{"ab"})), Pattern::any(), Pattern::any(), Pattern::any(), Pattern::any()},
      {Pattern::typed(Type::kString), Pattern(Value(3)), Pattern(Value(2.5)), Pattern(Value(false)),
       Pattern(Value(Blob{"ab"}))},
      {Pattern::typed(Type::kInt), Pattern::any(), Pattern::any(), Pattern::any(), Pattern::any()},
      {Pattern(Value("a")), Pattern::any(), Pattern::any(), Pattern::any(), Pattern::any()},
      {Pattern::any(), Pattern::any(), Pattern::any(), Pattern::any()},
  };
  for (const Template& tmpl : templates) {
    EXPECT_EQ(CompiledTemplate(tmpl).matches(enc), matches(tmpl, t));
  }
}

}  // namespace
}  // namespace bastion::ts::detail
