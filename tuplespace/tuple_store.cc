// TupleStore and ChainTable: slots, chains and the per-position hash index (see tuple_store.h).
// Invariants are checked with BASTION_CHECK; no thread-safety (one owner).
#include "tuplespace/tuple_store.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "codec/check.h"

namespace bastion::ts::detail {

// ---- ChainTable ------------------------------------------------------------------------------

ChainTable::Entry* ChainTable::find(std::uint64_t key) {
  return const_cast<Entry*>(std::as_const(*this).find(key));
}

const ChainTable::Entry* ChainTable::find(std::uint64_t key) const {
  if (size_ == 0) return nullptr;
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(key);; i = (i + 1) & mask) {
    const Entry& e = entries_[i];
    if (e.count == 0) return nullptr;
    if (e.key == key) return &e;
  }
}

ChainTable::Entry* ChainTable::insert(std::uint64_t key) {
  // Grow at 3/4 load: linear probing degrades quickly beyond that.
  if ((size_ + 1) * 4 > entries_.size() * 3) {
    rehash(entries_.empty() ? 8 : entries_.size() * 2);
  }
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = home(key);
  while (entries_[i].count != 0) i = (i + 1) & mask;
  ++size_;
  entries_[i].key = key;
  entries_[i].head = kNoSlot;
  return &entries_[i];
}

void ChainTable::erase(Entry* entry) {
  const std::size_t mask = entries_.size() - 1;
  std::size_t hole = static_cast<std::size_t>(entry - entries_.data());
  entries_[hole] = Entry{};
  --size_;
  // Backward shift: move later entries of the probe run into the hole when their home allows it,
  // so that lookups never stop early at an empty entry.
  for (std::size_t i = (hole + 1) & mask; entries_[i].count != 0; i = (i + 1) & mask) {
    const std::size_t h = home(entries_[i].key);
    const bool movable = ((i - h) & mask) >= ((i - hole) & mask);
    if (movable) {
      entries_[hole] = entries_[i];
      entries_[i] = Entry{};
      hole = i;
    }
  }
  // Shrink at 1/16 load so that a space that emptied gives its memory back.
  if (entries_.size() > 8 && size_ * 16 < entries_.size()) rehash(entries_.size() / 2);
}

void ChainTable::rehash(std::size_t capacity) {
  std::vector<Entry> old = std::move(entries_);
  entries_.assign(capacity, Entry{});
  const std::size_t mask = capacity - 1;
  for (const Entry& e : old) {
    if (e.count == 0) continue;
    std::size_t i = home(e.key);
    while (entries_[i].count != 0) i = (i + 1) & mask;
    entries_[i] = e;
  }
}

// ---- TupleStore ------------------------------------------------------------------------------

void TupleStore::link(SlotId id, std::size_t link_index, SlotId& head, std::uint32_t& count) {
  std::uint32_t* l = links(id, link_index);
  if (count == 0) {
    head = id;
    l[0] = id;
    l[1] = id;
  } else {
    const SlotId tail = links(head, link_index)[0];
    l[0] = tail;
    l[1] = head;
    links(tail, link_index)[1] = id;
    links(head, link_index)[0] = id;
  }
  ++count;
}

void TupleStore::unlink(SlotId id, std::size_t link_index, SlotId& head, std::uint32_t& count) {
  std::uint32_t* l = links(id, link_index);
  if (count == 1) {
    head = kNoSlot;
  } else {
    links(l[0], link_index)[1] = l[1];
    links(l[1], link_index)[0] = l[0];
    if (head == id) head = l[1];
  }
  --count;
}

SlotId TupleStore::insert(std::uint64_t seq, codec::ByteView encoding) {
  std::size_t first = 0;
  const std::size_t arity = encoded_arity(encoding, &first);
  BASTION_CHECK(arity >= 1 && arity <= 0xFFFF && seq != 0);

  BASTION_CHECK(seq_tail_ == kNoSlot || slots_[seq_tail_].seq < seq);
  SlotId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    BASTION_CHECK(slots_.size() < kNoSlot);  // the engine caps tuples_max below this
    id = static_cast<SlotId>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[id];
  s.seq = seq;
  s.arity = static_cast<std::uint16_t>(arity);
  s.encoded_bytes = static_cast<std::uint32_t>(encoding.size());
  const std::size_t link_words = 2 * (arity + 1);
  const std::size_t words = link_words + (encoding.size() + 3) / 4;
  s.block.reset(new std::uint32_t[words]);
  std::memcpy(s.block.get() + link_words, encoding.data(), encoding.size());
  ++size_;
  s.seq_prev = seq_tail_;
  (seq_tail_ == kNoSlot ? seq_head_ : slots_[seq_tail_].seq_next) = id;
  seq_tail_ = id;

  if (by_arity_.size() <= arity) by_arity_.resize(arity + 1);
  link(id, arity, by_arity_[arity].head, by_arity_[arity].count);
  if (by_field_.size() < arity) by_field_.resize(arity);
  for_each_field(encoding, [&](std::size_t i, codec::ByteView field) {
    ChainTable& table = by_field_[i];
    const std::uint64_t key = field_key(arity, field);
    ChainTable::Entry* e = table.find(key);
    if (e == nullptr) e = table.insert(key);
    link(id, i, e->head, e->count);
  });
  return id;
}

void TupleStore::erase(SlotId id) {
  Slot& s = slots_[id];
  BASTION_CHECK(s.seq != 0);
  const std::size_t arity = s.arity;
  const codec::ByteView enc = s.encoding();
  for_each_field(enc, [&](std::size_t i, codec::ByteView field) {
    ChainTable& table = by_field_[i];
    ChainTable::Entry* e = table.find(field_key(arity, field));
    BASTION_CHECK(e != nullptr);
    unlink(id, i, e->head, e->count);
    if (e->count == 0) table.erase(e);
  });
  unlink(id, arity, by_arity_[arity].head, by_arity_[arity].count);
  (s.seq_prev == kNoSlot ? seq_head_ : slots_[s.seq_prev].seq_next) = s.seq_next;
  (s.seq_next == kNoSlot ? seq_tail_ : slots_[s.seq_next].seq_prev) = s.seq_prev;
  s = Slot{};
  free_.push_back(id);
  --size_;
}

std::vector<SlotId> TupleStore::slots_by_seq() const {
  std::vector<SlotId> ids;
  ids.reserve(size_);
  for (SlotId id = seq_head_; id != kNoSlot; id = slots_[id].seq_next) ids.push_back(id);
  return ids;
}

std::size_t TupleStore::index_memory_bytes() const {
  std::size_t n = slots_.capacity() * sizeof(Slot) + free_.capacity() * sizeof(SlotId) +
                  by_arity_.capacity() * sizeof(Chain);
  for (const ChainTable& t : by_field_) n += t.memory_bytes();
  return n;
}

}  // namespace bastion::ts::detail
