// Log payload encoding and file names: see log_entry.h.
#include "bft/storage/log_entry.h"

#include <cstdio>

#include "codec/codec.h"

namespace bastion::bft::storage {
namespace {

constexpr const char* kSegmentPrefix = "wal-";
constexpr const char* kSegmentSuffix = ".log";
constexpr const char* kCheckpointPrefix = "ckpt-";
constexpr const char* kCheckpointSuffix = ".state";
constexpr const char* kPackPrefix = "pages-";
constexpr const char* kPackSuffix = ".pack";
constexpr std::size_t kNumberDigits = 20;
constexpr std::size_t kDigestHexChars = 16;

bool all_of_class(const std::string& s, std::size_t from, std::size_t n, bool hex) {
  if (s.size() < from + n) return false;
  for (std::size_t i = from; i < from + n; ++i) {
    const char c = s[i];
    const bool ok = (c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f');
    if (!ok) return false;
  }
  return true;
}

// The kNumberDigits decimal digits at `from` (already checked to be digits), if they fit 64 bits:
// 20 digits may exceed 2^64 - 1, and such a name is not ours.
std::optional<std::uint64_t> number_at(const std::string& name, std::size_t from) {
  const std::string digits = name.substr(from, kNumberDigits);
  if (digits > "18446744073709551615") return std::nullopt;
  return std::stoull(digits);
}

std::string padded(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(v));
  return buf;
}

template <class T>
Result<LogEntry, std::string> decode_as(ByteView body) {
  auto r = codec::decode<T>(body);
  if (!r) return fail(std::move(r).error());
  return LogEntry(std::move(r).value());
}

}  // namespace

EntryKind kind_of(const PersistRecord& r) { return static_cast<EntryKind>(r.index() + 1); }
EntryKind kind_of(const LogEntry& e) { return static_cast<EntryKind>(e.index() + 1); }

namespace {
struct SeqVisitor {
  SeqNum operator()(const ViewRecord&) const { return 0; }
  SeqNum operator()(const PrePreparedRecord& r) const { return r.pre_prepare.header.seq; }
  SeqNum operator()(const PreparedRecord& r) const { return r.cert.header.seq; }
  SeqNum operator()(const CommittedRecord& r) const { return r.header.seq; }
  SeqNum operator()(const CheckpointRecord& r) const { return r.seq; }
  SeqNum operator()(const CheckpointRef& r) const { return r.seq; }
  SeqNum operator()(const StableRecord& r) const { return r.proof.seq; }
};
}  // namespace

SeqNum seq_of(const PersistRecord& r) { return std::visit(SeqVisitor{}, r); }
SeqNum seq_of(const LogEntry& e) { return std::visit(SeqVisitor{}, e); }

void encode_entry(const PersistRecord& r, Bytes& out) {
  out.push_back(static_cast<std::uint8_t>(kind_of(r)));
  if (const auto* c = std::get_if<CheckpointRecord>(&r)) {
    codec::encode_into(out, CheckpointRef{c->seq, c->state_digest, c->state.size()});
    return;
  }
  std::visit(
      [&out](const auto& rec) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(rec)>, CheckpointRecord>) {
          codec::encode_into(out, rec);
        }
      },
      r);
}

Result<LogEntry, std::string> decode_entry(ByteView payload) {
  if (payload.empty()) return fail(std::string("empty record"));
  const ByteView body = payload.subspan(1);
  switch (static_cast<EntryKind>(payload[0])) {
    case EntryKind::kView:
      return decode_as<ViewRecord>(body);
    case EntryKind::kPrePrepared:
      return decode_as<PrePreparedRecord>(body);
    case EntryKind::kPrepared:
      return decode_as<PreparedRecord>(body);
    case EntryKind::kCommitted:
      return decode_as<CommittedRecord>(body);
    case EntryKind::kCheckpoint:
      return decode_as<CheckpointRef>(body);
    case EntryKind::kStable:
      return decode_as<StableRecord>(body);
  }
  return fail("unknown record kind " + std::to_string(payload[0]));
}

std::string segment_file_name(std::uint64_t number) {
  return kSegmentPrefix + padded(number) + kSegmentSuffix;
}

namespace {

// The number in a name `prefix` + kNumberDigits digits + `suffix`, if it is one.
std::optional<std::uint64_t> parse_numbered(const std::string& name, const std::string& prefix,
                                            const std::string& suffix) {
  if (name.size() != prefix.size() + kNumberDigits + suffix.size()) return std::nullopt;
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  if (name.compare(prefix.size() + kNumberDigits, suffix.size(), suffix) != 0) return std::nullopt;
  if (!all_of_class(name, prefix.size(), kNumberDigits, false)) return std::nullopt;
  return number_at(name, prefix.size());
}

}  // namespace

std::optional<std::uint64_t> parse_segment_file_name(const std::string& name) {
  return parse_numbered(name, kSegmentPrefix, kSegmentSuffix);
}

std::string pack_file_name(std::uint64_t number) {
  return kPackPrefix + padded(number) + kPackSuffix;
}

std::optional<std::uint64_t> parse_pack_file_name(const std::string& name) {
  return parse_numbered(name, kPackPrefix, kPackSuffix);
}

std::string checkpoint_file_name(SeqNum seq, const Digest& state_digest) {
  const std::string hex = codec::to_hex(state_digest).substr(0, kDigestHexChars);
  return kCheckpointPrefix + padded(seq) + "-" + hex + kCheckpointSuffix;
}

bool is_checkpoint_file_name(const std::string& name) {
  const std::string prefix = kCheckpointPrefix;
  const std::string suffix = kCheckpointSuffix;
  const std::size_t hex_at = prefix.size() + kNumberDigits + 1;
  if (name.size() != hex_at + kDigestHexChars + suffix.size()) return false;
  return name.compare(0, prefix.size(), prefix) == 0 &&
         all_of_class(name, prefix.size(), kNumberDigits, false) &&
         name[prefix.size() + kNumberDigits] == '-' &&
         all_of_class(name, hex_at, kDigestHexChars, true) &&
         name.compare(hex_at + kDigestHexChars, suffix.size(), suffix) == 0;
}

std::optional<SeqNum> parse_checkpoint_file_seq(const std::string& name) {
  if (!is_checkpoint_file_name(name)) return std::nullopt;
  return number_at(name, std::string(kCheckpointPrefix).size());
}

}  // namespace bastion::bft::storage
