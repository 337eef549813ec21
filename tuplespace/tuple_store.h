// TupleStore: the stored tuples of one space and the indexes that find them.
//
// Each tuple lives in a Slot (a recycled array entry) and owns one heap block holding its
// canonical encoding and, per index it belongs to, a (prev, next) link pair. Tuples are threaded on
// circular doubly-linked chains in insertion (seq) order:
//   - per field position i < arity, the chain of tuples of this arity whose field i has this value
//     (looked up by field_key() in the ChainTable of position i);
//   - per arity, the chain of every tuple of that arity (for templates without concrete fields).
// Every tuple is also on one list of the whole store in seq order (two slot ids in its Slot), which
// snapshots walk.
// A template with concrete fields walks the shortest of their chains; one whose value is absent
// from the index matches nothing and costs one lookup. Insertion appends to each chain's tail and
// erasure unlinks: both O(arity), whatever the space's size.
//
// Invariants: a chain lists its tuples by increasing seq (seqs are handed out increasing and
// tuples are only appended); chains of one ChainTable use the same link position, so a hash
// collision can merge two chains' lists but never corrupt their links; slot order and slot ids are
// not observable (everything observable goes by seq).
//
// The store carries each tuple's expiry, access lists and owner but does not interpret them: time,
// permissions and quotas are the Engine's business.
//
// Thread-safety: none; one owner.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/archive.h"
#include "tuplespace/encoded.h"

namespace bastion::ts::detail {

using SlotId = std::uint32_t;
inline constexpr SlotId kNoSlot = 0xFFFFFFFFu;

// Per-tuple access lists, sorted and without duplicates; an empty list means everyone.
struct Acl {
  std::vector<std::string> readers;
  std::vector<std::string> removers;

  bool may_read(std::string_view client) const {
    return readers.empty() || std::binary_search(readers.begin(), readers.end(), client);
  }
  bool may_remove(std::string_view client) const {
    return removers.empty() || std::binary_search(removers.begin(), removers.end(), client);
  }
};

// What one client holds in one space (for quotas). An entry exists while either count is > 0.
struct Usage {
  std::uint64_t tuples = 0;
  std::uint32_t waiters = 0;
};
using UsageMap = std::map<std::string, Usage, std::less<>>;
using Owner = UsageMap::value_type;

// Maps a 64-bit key to a chain (head slot, length). Open addressing, linear probing, backward-shift
// erasure. Entry addresses change on every insert and erase.
class ChainTable {
 public:
  struct Entry {
    std::uint64_t key = 0;
    SlotId head = kNoSlot;
    std::uint32_t count = 0;  // 0: empty entry
  };

  Entry* find(std::uint64_t key);
  const Entry* find(std::uint64_t key) const;
  // Precondition: key absent. Returns the new entry (count 0: the caller fills it).
  Entry* insert(std::uint64_t key);
  void erase(Entry* entry);
  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  std::size_t home(std::uint64_t key) const { return key & (entries_.size() - 1); }
  void rehash(std::size_t capacity);

  std::vector<Entry> entries_;  // size 0 or a power of two
  std::size_t size_ = 0;
};

class TupleStore {
 public:
  struct Slot {
    std::uint64_t seq = 0;  // 0: free slot
    std::int64_t expiry_ms = 0;
    std::unique_ptr<std::uint32_t[]> block;  // 2 * (arity + 1) links, then the encoding
    std::unique_ptr<Acl> acl;                // null: everyone may read and remove
    Owner* owner = nullptr;                  // the inserting client's usage entry
    SlotId seq_prev = kNoSlot;               // neighbours in seq order
    SlotId seq_next = kNoSlot;
    std::uint32_t encoded_bytes = 0;
    std::uint16_t arity = 0;

    codec::ByteView encoding() const {
      return {reinterpret_cast<const std::uint8_t*>(block.get() + 2 * (arity + 1)), encoded_bytes};
    }
  };

  // Stores a tuple given by its well-formed encoding (1 <= arity <= 0xFFFF). seq must exceed every
  // seq stored so far.
  SlotId insert(std::uint64_t seq, codec::ByteView encoding);
  void erase(SlotId id);

  Slot& at(SlotId id) { return slots_[id]; }
  const Slot& at(SlotId id) const { return slots_[id]; }
  std::size_t size() const { return size_; }

  // Calls visit(id, slot) for the candidates of `tmpl` in seq order until it returns false. Every
  // tuple matching tmpl is a candidate; candidates need not match (the caller matches them).
  template <class F>
  void scan(const CompiledTemplate& tmpl, F&& visit) const;

  // The tuple of lowest seq and the one after `id` in seq order (kNoSlot: none).
  SlotId first_by_seq() const { return seq_head_; }
  SlotId next_by_seq(SlotId id) const { return slots_[id].seq_next; }
  // Every stored slot, by seq.
  std::vector<SlotId> slots_by_seq() const;

  // Heap bytes of the indexes and slot array (not the per-tuple blocks), for benchmarks.
  std::size_t index_memory_bytes() const;

 private:
  struct Chain {
    SlotId head = kNoSlot;
    std::uint32_t count = 0;
  };

  std::uint32_t* links(SlotId id, std::size_t link) { return slots_[id].block.get() + 2 * link; }
  const std::uint32_t* links(SlotId id, std::size_t link) const {
    return slots_[id].block.get() + 2 * link;
  }
  void link(SlotId id, std::size_t link_index, SlotId& head, std::uint32_t& count);
  void unlink(SlotId id, std::size_t link_index, SlotId& head, std::uint32_t& count);

  std::vector<Slot> slots_;
  std::vector<SlotId> free_;
  std::size_t size_ = 0;
  std::vector<ChainTable> by_field_;  // index: field position
  std::vector<Chain> by_arity_;       // index: arity
  SlotId seq_head_ = kNoSlot;         // the list of every tuple by seq
  SlotId seq_tail_ = kNoSlot;
};

template <class F>
void TupleStore::scan(const CompiledTemplate& tmpl, F&& visit) const {
  const std::size_t arity = tmpl.arity();
  SlotId head = kNoSlot;
  std::uint32_t count = 0;
  std::size_t link_index = arity;
  if (arity < by_arity_.size()) {
    head = by_arity_[arity].head;
    count = by_arity_[arity].count;
  }
  for (const auto& c : tmpl.concrete()) {
    if (count == 0) return;
    const ChainTable::Entry* e =
        c.position < by_field_.size() ? by_field_[c.position].find(c.key) : nullptr;
    if (e == nullptr) return;
    if (e->count < count) {
      head = e->head;
      count = e->count;
      link_index = c.position;
    }
  }
  SlotId id = head;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!visit(id, slots_[id])) return;
    id = links(id, link_index)[1];
  }
}

}  // namespace bastion::ts::detail
