// Test helpers for bft/storage: seeded generators of PersistRecords, canonical bytes of a record
// (for comparing lists), and an independent reference of the compaction fold.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bft/core/persist.h"
#include "bft/core/state_capture.h"
#include "codec/codec.h"

namespace bastion::bft::storage::testing {

// A CheckpointRecord has no serialize() (its state is shared, and logged in a file of its own).
inline void append_checkpoint(Bytes& out, const CheckpointRecord& c) {
  codec::encode_into(out, c.seq);
  codec::encode_into(out, c.state_digest);
  codec::encode_into(out, *c.page_list);
  codec::encode_into(out, *c.state.whole());
}

// The record's alternative index followed by its canonical encoding: equal bytes, equal records.
inline Bytes record_bytes(const PersistRecord& r) {
  Bytes out{static_cast<std::uint8_t>(r.index())};
  if (const auto* c = std::get_if<CheckpointRecord>(&r)) {
    append_checkpoint(out, *c);
    return out;
  }
  std::visit(
      [&out](const auto& rec) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(rec)>, CheckpointRecord>) {
          codec::encode_into(out, rec);
        }
      },
      r);
  return out;
}

inline std::vector<Bytes> all_bytes(const std::vector<PersistRecord>& records) {
  std::vector<Bytes> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(record_bytes(r));
  return out;
}

inline SeqNum record_seq(const PersistRecord& r) {
  switch (r.index()) {
    case 1:
      return std::get<PrePreparedRecord>(r).pre_prepare.header.seq;
    case 2:
      return std::get<PreparedRecord>(r).cert.header.seq;
    case 3:
      return std::get<CommittedRecord>(r).header.seq;
    case 4:
      return std::get<CheckpointRecord>(r).seq;
    case 5:
      return std::get<StableRecord>(r).proof.seq;
    default:
      return 0;
  }
}

// Reference of the folding rule in bft/storage/retained.h, written independently: the latest
// record per (kind, seq) (one view, the highest stable), in the order of their latest versions,
// without what the final stable checkpoint makes obsolete.
inline std::vector<Bytes> reference_fold(const std::vector<Bytes>& records,
                                         const std::vector<std::pair<std::size_t, SeqNum>>& keys,
                                         std::size_t count) {
  std::list<std::size_t> order;  // indexes into records, latest version per key
  std::map<std::pair<std::size_t, SeqNum>, std::list<std::size_t>::iterator> position;
  std::optional<SeqNum> stable;
  for (std::size_t i = 0; i < count; ++i) {
    auto key = keys[i];
    if (key.first == 5) {
      if (stable && key.second <= *stable) continue;  // not above the current one: ignored
      stable = key.second;
    }
    if (key.first == 0 || key.first == 5) key.second = 0;
    if (auto it = position.find(key); it != position.end()) order.erase(it->second);
    order.push_back(i);
    position[key] = std::prev(order.end());
  }
  std::vector<Bytes> out;
  for (const std::size_t i : order) {
    const auto [kind, seq] = keys[i];
    if (stable) {
      if ((kind == 1 || kind == 2 || kind == 3) && seq <= *stable) continue;
      if (kind == 4 && seq < *stable) continue;
    }
    out.push_back(records[i]);
  }
  return out;
}

inline std::vector<std::pair<std::size_t, SeqNum>> keys_of(
    const std::vector<PersistRecord>& records) {
  std::vector<std::pair<std::size_t, SeqNum>> out;
  for (const auto& r : records) out.emplace_back(r.index(), record_seq(r));
  return out;
}

// How many seeds a randomized test runs: BASTION_STORAGE_SEEDS if set, else `normal` (divided
// by BASTION_STORAGE_SEED_DIVISOR, which sanitizer builds define to stay within the time limit).
#ifndef BASTION_STORAGE_SEED_DIVISOR
#define BASTION_STORAGE_SEED_DIVISOR 1
#endif
inline std::uint64_t seed_count(std::uint64_t normal) {
  if (const char* n = std::getenv("BASTION_STORAGE_SEEDS")) return std::strtoull(n, nullptr, 10);
  return std::max<std::uint64_t>(1, normal / BASTION_STORAGE_SEED_DIVISOR);
}

// Seeded records of every kind, shaped like a replica's: sequence numbers inside a log window
// above a stable checkpoint that advances by checkpoint_interval.
class RecordGen {
 public:
  explicit RecordGen(std::uint64_t seed, std::uint32_t checkpoint_interval = 8,
                     std::uint32_t window = 32)
      : rng_(seed), interval_(checkpoint_interval), window_(window) {}

  std::uint64_t u(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  Bytes bytes(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t r = rng_();
      std::memcpy(b.data() + i, &r, std::min<std::size_t>(8, n - i));
    }
    return b;
  }
  Digest digest() {
    Digest d;
    for (auto& x : d) x = static_cast<std::uint8_t>(rng_());
    return d;
  }
  Signature signature() {
    Signature s;
    for (auto& x : s) x = static_cast<std::uint8_t>(rng_());
    return s;
  }

  Request request(std::size_t payload_bytes) {
    Request r;
    r.client = ClientKey{"client-" + std::to_string(u(5)), u(3)};
    r.number = rng_();
    r.read_only = u(2) == 0;
    r.payload = bytes(payload_bytes);
    return r;
  }
  BatchHeader header(SeqNum seq) {
    return BatchHeader{view_, seq, static_cast<TimeUs>(rng_() >> 1), digest(), u(10) == 0};
  }

  ViewRecord view_record() {
    view_ += u(2);
    return ViewRecord{view_, u(2) == 0};
  }
  PrePreparedRecord pre_prepared(SeqNum seq, std::size_t payload_bytes_max = 200) {
    PrePreparedRecord r;
    r.pre_prepare.header = header(seq);
    r.pre_prepare.signature = signature();
    const std::size_t n = u(4);
    for (std::size_t i = 0; i < n; ++i)
      r.pre_prepare.batch.push_back(request(u(payload_bytes_max)));
    return r;
  }
  PreparedRecord prepared(SeqNum seq) {
    PreparedRecord r;
    r.cert.header = header(seq);
    r.cert.primary_signature = signature();
    for (ReplicaId i = 1; i <= 2; ++i) {
      r.cert.prepares.push_back(PrepareMsg{view_, seq, r.cert.header.batch_digest, i, signature()});
    }
    return r;
  }
  CommittedRecord committed(SeqNum seq) {
    CommittedRecord r;
    r.header = header(seq);
    if (u(2) == 0) {
      std::vector<Request> batch;
      const std::size_t n = u(3);
      for (std::size_t i = 0; i < n; ++i) batch.push_back(request(u(100)));
      r.batch = std::move(batch);
    }
    return r;
  }
  CheckpointRecord checkpoint(SeqNum seq, std::size_t state_bytes) {
    CheckpointRecord r;
    r.seq = seq;
    // In pages of random sizes, as a tuple space's state is, half of them (where they fit) pages
    // of the previous checkpoint, as a state that changed a little shares most of its pages.
    StateBytes pages;
    for (std::size_t left = state_bytes; left > 0;) {
      if (!last_pages_.empty() && u(2) == 0) {
        const SharedBytes& shared = last_pages_[u(last_pages_.size())];
        if (shared->size() <= left) {
          pages.append(shared);
          left -= shared->size();
          continue;
        }
      }
      const std::size_t n = std::min<std::size_t>(left, 1 + u(2 * 1024));
      pages.append(std::make_shared<const Bytes>(bytes(n)));
      left -= n;
    }
    last_pages_ = pages.pieces();
    CapturedState captured = CapturedState::of(std::move(pages));
    r.state_digest = captured.digest;
    r.page_list = captured.page_list;
    r.state = std::move(captured.state);
    return r;
  }
  StableRecord stable(SeqNum seq) {
    StableRecord r;
    r.proof.seq = seq;
    r.proof.state_digest = digest();
    for (ReplicaId i = 0; i < 3; ++i) {
      r.proof.checkpoints.push_back(CheckpointMsg{seq, r.proof.state_digest, i, signature()});
    }
    return r;
  }

  // Any kind, seqs in the window above the current stable checkpoint, which advances.
  PersistRecord next() {
    const std::uint64_t pick = u(100);
    const SeqNum seq = stable_ + 1 + u(window_);
    if (pick < 5) return view_record();
    if (pick < 35) return pre_prepared(seq);
    if (pick < 60) return prepared(seq);
    if (pick < 85) return committed(seq);
    if (pick < 93) {
      const SeqNum c = stable_ + interval_ * (1 + u(window_ / interval_));
      return checkpoint(c, u(10) == 0 ? 20000 : u(3000));
    }
    // Now and then a stable checkpoint that is not above the current one (a repeated proof).
    if (stable_ > 0 && u(5) == 0) return stable(stable_ - interval_ * u(2));
    stable_ += interval_;
    return stable(stable_);
  }

  // Records that never replace one another (increasing seqs, no view or stable records), so the
  // storage never compacts and recovery must return exactly a prefix of what was appended.
  PersistRecord next_unique() {
    const SeqNum seq = ++unique_seq_;
    switch (u(4)) {
      case 0:
        return pre_prepared(seq);
      case 1:
        return prepared(seq);
      case 2:
        return committed(seq);
      default:
        return checkpoint(seq, u(2000));
    }
  }

 private:
  std::mt19937_64 rng_;
  std::vector<SharedBytes> last_pages_;  // of the last checkpoint() made
  std::uint32_t interval_;
  std::uint32_t window_;
  ViewNum view_ = 0;
  SeqNum stable_ = 0;
  SeqNum unique_seq_ = 0;
};

}  // namespace bastion::bft::storage::testing
