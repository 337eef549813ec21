// What one log record holds, and the names of the files in a storage directory.
//
// A log payload is one kind byte followed by the canonical encoding (codec/) of the record. A
// CheckpointRecord is logged as a CheckpointRef: its state (possibly hundreds of MB) lives in its
// own file, named after the checkpoint's seq and digest, whose BLAKE2b must equal the digest.
// The kind byte values are part of the on-disk format and never change.
//
// Thread-safety: pure functions.
#pragma once

#include <cereal/types/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "bft/core/persist.h"
#include "codec/result.h"

namespace bastion::bft::storage {

enum class EntryKind : std::uint8_t {
  kView = 1,
  kPrePrepared = 2,
  kPrepared = 3,
  kCommitted = 4,
  kCheckpoint = 5,
  kStable = 6,
};

// A checkpoint as logged: its state's page list is in checkpoint_file_name(seq, state_digest), its
// pages in the page packs (page_store.h).
struct CheckpointRef {
  SeqNum seq = 0;
  Digest state_digest{};
  std::uint64_t state_bytes = 0;
  template <class A>
  void serialize(A& ar) {
    ar(seq, state_digest, state_bytes);
  }
};

// A decoded log payload; alternatives in the order of PersistRecord's.
using LogEntry = std::variant<ViewRecord, PrePreparedRecord, PreparedRecord, CommittedRecord,
                              CheckpointRef, StableRecord>;

EntryKind kind_of(const PersistRecord& r);
EntryKind kind_of(const LogEntry& e);
// The sequence number a record is about (0 for a ViewRecord).
SeqNum seq_of(const PersistRecord& r);
SeqNum seq_of(const LogEntry& e);

// Appends the payload of `r` to `out` (a CheckpointRecord as its CheckpointRef).
void encode_entry(const PersistRecord& r, Bytes& out);
// Bounded decoding of a payload read back; the error says what is wrong.
Result<LogEntry, std::string> decode_entry(ByteView payload);

// File names (without directory). Segment numbers and seqs are zero-padded so names sort.
std::string segment_file_name(std::uint64_t number);
std::optional<std::uint64_t> parse_segment_file_name(const std::string& name);
std::string checkpoint_file_name(SeqNum seq, const Digest& state_digest);
bool is_checkpoint_file_name(const std::string& name);
// The seq a checkpoint file name carries, if it is one.
std::optional<SeqNum> parse_checkpoint_file_seq(const std::string& name);
// The page packs (page_store.h).
std::string pack_file_name(std::uint64_t number);
std::optional<std::uint64_t> parse_pack_file_name(const std::string& name);
inline constexpr const char* kTempSuffix = ".tmp";
inline constexpr const char* kLockFileName = "LOCK";
// Written by ReplicaStorage::mark_clean_stop(), removed (durably) by open().
inline constexpr const char* kCleanStopFileName = "CLEAN-STOP";

}  // namespace bastion::bft::storage
