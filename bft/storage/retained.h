// The part of the log that recovery needs, kept in memory so that compaction can rewrite it.
//
// Folding rule (what PersistedStateBuilder keeps, see bft/core/persist.h): the latest ViewRecord,
// the highest StableRecord (the first one written for its seq), and above the stable checkpoint
// the latest record per (kind, seq):
// pre-prepared, prepared and committed records with seq > stable, checkpoints with seq >= stable
// (the stable checkpoint's own state is kept). Everything else is obsolete: a record replaced by
// a later one of the same kind and seq, or at or below a durable stable checkpoint (persist.h
// allows discarding those). Entries keep the order in which their latest version was written,
// so folding the compacted log gives what folding the whole log gave.
//
// Memory: one copy of each kept payload (checkpoints are kept as their small CheckpointRef), so
// about the bytes of the log window.
//
// Thread-safety: none; owned by one ReplicaStorage.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bft/storage/log_entry.h"

namespace bastion::bft::storage {

class RetainedLog {
 public:
  // Adds a record by its payload (kind byte + encoding). `checkpoint_file` names the state file
  // of a checkpoint entry (empty otherwise).
  void add(EntryKind kind, SeqNum seq, ByteView payload, std::string checkpoint_file = {});

  // The stable checkpoint's seq, if a StableRecord was added.
  std::optional<SeqNum> stable_seq() const { return stable_seq_; }
  // Kept payloads in the order their latest version was written.
  std::vector<ByteView> payloads() const;
  std::set<std::string> checkpoint_files() const;
  std::size_t size() const { return entries_.size(); }
  std::uint64_t payload_bytes() const { return payload_bytes_; }

 private:
  struct Entry {
    std::uint64_t order = 0;
    Bytes payload;
    std::string checkpoint_file;
  };
  using Key = std::pair<EntryKind, SeqNum>;

  bool obsolete(EntryKind kind, SeqNum seq) const;
  void drop_obsolete();

  std::map<Key, Entry> entries_;
  std::optional<SeqNum> stable_seq_;
  std::uint64_t next_order_ = 0;
  std::uint64_t payload_bytes_ = 0;
};

}  // namespace bastion::bft::storage
