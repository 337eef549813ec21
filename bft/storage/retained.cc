// RetainedLog: see retained.h for the folding rule.
#include "bft/storage/retained.h"

#include <algorithm>

namespace bastion::bft::storage {

bool RetainedLog::obsolete(EntryKind kind, SeqNum seq) const {
  if (!stable_seq_) return false;
  switch (kind) {
    case EntryKind::kPrePrepared:
    case EntryKind::kPrepared:
    case EntryKind::kCommitted:
      return seq <= *stable_seq_;
    case EntryKind::kCheckpoint:
      return seq < *stable_seq_;
    case EntryKind::kView:
    case EntryKind::kStable:
      return false;
  }
  return false;
}

void RetainedLog::drop_obsolete() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (obsolete(it->first.first, it->first.second)) {
      payload_bytes_ -= it->second.payload.size();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void RetainedLog::add(EntryKind kind, SeqNum seq, ByteView payload, std::string checkpoint_file) {
  // Like PersistedStateBuilder, a stable checkpoint that is not above the current one changes
  // nothing.
  if (kind == EntryKind::kStable && stable_seq_ && seq <= *stable_seq_) return;
  // The view and the stable checkpoint are single values: only the latest counts.
  const Key key{kind, (kind == EntryKind::kView || kind == EntryKind::kStable) ? 0 : seq};
  if (auto it = entries_.find(key); it != entries_.end()) {
    payload_bytes_ -= it->second.payload.size();
    entries_.erase(it);
  }
  if (kind == EntryKind::kStable) {
    stable_seq_ = seq;
    drop_obsolete();
  } else if (obsolete(kind, seq)) {
    return;
  }
  Entry e{next_order_++, Bytes(payload.begin(), payload.end()), std::move(checkpoint_file)};
  payload_bytes_ += e.payload.size();
  entries_.emplace(key, std::move(e));
}

std::vector<ByteView> RetainedLog::payloads() const {
  std::vector<const Entry*> ordered;
  ordered.reserve(entries_.size());
  for (const auto& [key, e] : entries_) ordered.push_back(&e);
  std::sort(ordered.begin(), ordered.end(),
            [](const Entry* a, const Entry* b) { return a->order < b->order; });
  std::vector<ByteView> out;
  out.reserve(ordered.size());
  for (const Entry* e : ordered) out.emplace_back(e->payload);
  return out;
}

std::set<std::string> RetainedLog::checkpoint_files() const {
  std::set<std::string> out;
  for (const auto& [key, e] : entries_) {
    if (!e.checkpoint_file.empty()) out.insert(e.checkpoint_file);
  }
  return out;
}

}  // namespace bastion::bft::storage
