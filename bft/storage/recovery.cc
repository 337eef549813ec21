// ReplicaStorage::open: recovery of a storage directory.
//
// Steps (each failure stops the replica with a message naming the file and offset):
//   1. lock the directory; delete temp files (writes that never got their final name);
//   2. find the newest base segment (reading headers from the newest segment down); older
//      segments are superseded leftovers of a compaction; the segments from the base on must be
//      numbered without gaps;
//   3. verify every frame of every live segment (segment.h's rule: only the last segment may end
//      in a torn write, which is cut off durably) and decode every payload (bounded);
//   4. read every checkpoint state the live log refers to and check it against its digest;
//   5. delete superseded segments and checkpoint files the live log does not refer to;
//   6. rebuild the writer's state, and compact at once if a stable checkpoint made durable before
//      the crash was not compacted yet.
#include <sodium.h>

#include <algorithm>
#include <map>

#include "bft/core/state_capture.h"
#include "bft/storage/storage_impl.h"
#include "codec/digest.h"

namespace bastion::bft::storage {
namespace {

// Largest segment file read back: segments roll at segment_bytes_target, so one far larger is
// damage, not a reason to allocate.
constexpr std::uint64_t kSegmentReadBytesMax = std::uint64_t{16} << 30;

StorageError corruption(const std::string& where, std::uint64_t offset, const std::string& what) {
  return StorageError{StorageErrc::kCorruption,
                      where + " at offset " + std::to_string(offset) + ": " + what};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Located {
  LogEntry entry;
  ByteView payload;
  std::string segment_path;
  std::uint64_t offset = 0;
};

// Converts a decoded entry into the record handed back (a CheckpointRef gets its state, shared by
// every reference to the same file).
PersistRecord to_record(LogEntry&& e, const std::map<std::string, CapturedState>& states) {
  switch (e.index()) {
    case 0:
      return std::get<0>(std::move(e));
    case 1:
      return std::get<1>(std::move(e));
    case 2:
      return std::get<2>(std::move(e));
    case 3:
      return std::get<3>(std::move(e));
    case 4: {
      const CheckpointRef& ref = std::get<4>(e);
      const std::string name = checkpoint_file_name(ref.seq, ref.state_digest);
      const CapturedState& stored = states.at(name);
      return CheckpointRecord{ref.seq, ref.state_digest, stored.page_list, stored.state};
    }
    default:
      return std::get<5>(std::move(e));
  }
}

// The checkpoint state whose page list is `list`, its pages found in `pages` by digest; nullopt if
// the list is not whole entries, names a page no pack holds (or one of another length), or its
// pages do not add up to `state_bytes`.
std::optional<CapturedState> stored_state(Bytes list, std::uint64_t state_bytes,
                                          const PageStore::Pages& pages) {
  if (list.size() % kStatePageEntryBytes != 0) return std::nullopt;
  const std::uint64_t count = list.size() / kStatePageEntryBytes;
  StateBytes state;
  for (std::uint64_t i = 0; i < count; ++i) {
    const PageEntry e = page_entry(list, i);
    const auto it = pages.find(e.digest);
    if (it == pages.end() || it->second->size() != e.len) return std::nullopt;
    state.append(it->second);
  }
  if (state.size() != state_bytes || state.pieces().size() != count) return std::nullopt;
  std::vector<Digest> leaves = state_leaves(list);
  const Digest digest = state_root(state_bytes, count, leaves);
  return CapturedState{digest, std::make_shared<const Bytes>(std::move(list)), std::move(leaves),
                       std::move(state)};
}

}  // namespace

Result<OpenedStorage, StorageError> ReplicaStorage::open(FileSystem& fs, const std::string& dir,
                                                         StorageOptions options) {
  if (sodium_init() < 0) return fail(StorageError{StorageErrc::kIo, "libsodium failed to start"});
  auto impl = std::make_unique<Impl>(fs, dir, options);
  RecoveryReport report;

  // 1. Lock, list, delete temp files.
  if (auto r = fs.create_dir(dir); !r) return fail(std::move(r).error());
  auto lock = fs.lock(impl->path_of(kLockFileName));
  if (!lock) return fail(std::move(lock).error());
  impl->lock = std::move(lock).value();
  auto names = fs.list(dir);
  if (!names) return fail(std::move(names).error());
  std::map<std::uint64_t, std::string> segments;
  std::set<std::string> checkpoint_names;
  std::vector<std::uint64_t> packs;
  for (const std::string& name : *names) {
    if (name == kCleanStopFileName) {
      // Gone before anything else happens: a crash from now on must not look clean.
      if (auto r = fs.remove(impl->path_of(name)); !r) return fail(std::move(r).error());
      if (auto r = fs.sync_dir(dir); !r) return fail(std::move(r).error());
      report.clean_stop = true;
    } else if (ends_with(name, kTempSuffix)) {
      if (auto r = fs.remove(impl->path_of(name)); !r) return fail(std::move(r).error());
      ++report.files_removed;
    } else if (auto n = parse_segment_file_name(name)) {
      segments.emplace(*n, name);
    } else if (is_checkpoint_file_name(name)) {
      checkpoint_names.insert(name);
    } else if (auto p = parse_pack_file_name(name)) {
      packs.push_back(*p);
    }
    // Anything else (the lock file, an operator's notes) is not ours to touch.
  }
  // What the listing shows is made durable before anything is built on it: a file renamed into
  // place by a run whose directory sync then failed is listed, but would vanish at a crash
  // together with every record later appended to it.
  if (auto r = fs.sync_dir(dir); !r) return fail(std::move(r).error());

  if (segments.empty()) {
    if (!checkpoint_names.empty() || !packs.empty()) {
      return fail(StorageError{StorageErrc::kCorruption,
                               dir + ": checkpoint files but no log segment; refusing to start "
                                     "from an empty log"});
    }
    // A new storage: an empty base segment.
    const Salt salt = impl->new_salt();
    const Bytes bytes = SegmentBuilder(SegmentKind::kBase, 1, salt).seal();
    auto file = impl->write_new_segment(1, bytes);
    if (!file) return fail(std::move(file).error());
    impl->active =
        Impl::ActiveSegment{1, salt, impl->path_of(segment_file_name(1)), std::move(file).value()};
    impl->live_segments = {1};
    impl->log_bytes = bytes.size();
    impl->next_number = 2;
    return OpenedStorage{
        std::unique_ptr<ReplicaStorage>(new ReplicaStorage(std::move(impl))), {}, report};
  }

  // 2. The newest base segment.
  std::map<std::uint64_t, Bytes> contents;
  std::optional<std::uint64_t> base;
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    const std::string path = impl->path_of(it->second);
    auto bytes = fs.read_all(path, kSegmentReadBytesMax);
    if (!bytes) {
      if (bytes.error().code == StorageErrc::kInvalidArgument) {
        return fail(corruption(path, 0, bytes.error().message));
      }
      return fail(std::move(bytes).error());
    }
    auto header = decode_segment_header(*bytes);
    if (!header) return fail(corruption(path, 0, header.error()));
    if (header->number != it->first) {
      return fail(corruption(path, 0, "header names segment " + std::to_string(header->number)));
    }
    contents.emplace(it->first, std::move(bytes).value());
    if (header->kind == SegmentKind::kBase) {
      base = it->first;
      break;
    }
  }
  if (!base) {
    return fail(StorageError{StorageErrc::kCorruption,
                             dir + ": no base segment (the start of the log is missing)"});
  }
  std::uint64_t expected = *base;
  for (auto it = segments.find(*base); it != segments.end(); ++it, ++expected) {
    if (it->first != expected) {
      return fail(StorageError{StorageErrc::kCorruption,
                               dir + ": segment " + segment_file_name(expected) +
                                   " is missing (the next one is " + it->second + ")"});
    }
  }
  const std::uint64_t last = segments.rbegin()->first;

  // 3. Verify and decode every live record.
  std::vector<Located> entries;
  std::optional<SeqNum> base_stable;
  Salt last_salt{};
  for (std::uint64_t n = *base; n <= last; ++n) {
    const std::string path = impl->path_of(segments.at(n));
    auto scan = scan_segment(contents.at(n), n == last, options.record_bytes_max);
    if (!scan) return fail(corruption(path, scan.error().offset, scan.error().reason));
    for (const ScannedFrame& f : scan->frames) {
      auto entry = decode_entry(f.payload);
      if (!entry) return fail(corruption(path, f.offset, "undecodable record: " + entry.error()));
      if (n == *base && kind_of(*entry) == EntryKind::kStable) {
        base_stable = std::max(base_stable.value_or(0), seq_of(*entry));
      }
      entries.push_back(Located{std::move(entry).value(), f.payload, path, f.offset});
    }
    ++report.segments;
    if (scan->torn_tail) {
      report.torn_file = path;
      report.torn_offset = scan->valid_bytes;
      report.torn_bytes = contents.at(n).size() - scan->valid_bytes;
    }
    if (n == last) last_salt = scan->header.salt;
  }

  // 4. Checkpoint states: the pages in the packs (each checked against its digest as it is read),
  // then each state from its page list, checked against its digest.
  std::sort(packs.begin(), packs.end());
  PageStore::Pages pages;
  if (auto r = impl->pages.load(packs, kSegmentReadBytesMax, pages); !r)
    return fail(std::move(r).error());
  std::map<std::string, CapturedState> states;
  std::map<std::string, int> references;
  std::map<std::string, Digest> digests;
  for (const Located& e : entries) {
    const auto* ref = std::get_if<CheckpointRef>(&e.entry);
    if (ref == nullptr) continue;
    const std::string name = checkpoint_file_name(ref->seq, ref->state_digest);
    const std::string where =
        " (referred to by " + e.segment_path + " at offset " + std::to_string(e.offset) + ")";
    if (++references[name] > 1) {
      // Verified already; a second reference must describe the same state.
      if (digests.at(name) != ref->state_digest ||
          states.at(name).state.size() != ref->state_bytes) {
        return fail(corruption(e.segment_path, e.offset,
                               "checkpoint reference disagrees with an earlier one for " + name));
      }
      continue;
    }
    if (!checkpoint_names.contains(name)) {
      return fail(StorageError{StorageErrc::kCorruption,
                               "checkpoint file " + impl->path_of(name) + " is missing" + where});
    }
    if (ref->state_bytes > options.checkpoint_bytes_max) {
      return fail(corruption(e.segment_path, e.offset,
                             "checkpoint reference claims a state over the limit for " + name));
    }
    // The file holds the state's page list: at most one page (kStatePageEntryBytes) per byte.
    auto list = fs.read_all(impl->path_of(name), ref->state_bytes * kStatePageEntryBytes);
    if (!list) {
      if (list.error().code == StorageErrc::kInvalidArgument) {
        return fail(StorageError{StorageErrc::kCorruption, list.error().message + where});
      }
      return fail(std::move(list).error());
    }
    std::optional<CapturedState> stored =
        stored_state(std::move(list).value(), ref->state_bytes, pages);
    if (!stored || stored->digest != ref->state_digest) {
      return fail(StorageError{
          StorageErrc::kCorruption,
          "checkpoint file " + impl->path_of(name) +
              " does not match its digest, or lists a page that no page pack holds" + where});
    }
    report.checkpoint_bytes += ref->state_bytes;
    states.emplace(name, std::move(*stored));
    digests.emplace(name, ref->state_digest);
  }

  // Cut the torn tail durably before anything is appended after it.
  const std::string last_path = impl->path_of(segments.at(last));
  if (report.torn_bytes > 0) {
    if (auto r = fs.truncate(last_path, report.torn_offset); !r) return fail(std::move(r).error());
  }

  // 5. Delete what the live log does not need.
  for (auto it = segments.begin(); it != segments.end() && it->first < *base; ++it) {
    if (auto r = fs.remove(impl->path_of(it->second)); !r) return fail(std::move(r).error());
    ++report.files_removed;
  }
  for (const std::string& name : checkpoint_names) {
    if (states.contains(name)) continue;
    if (auto r = fs.remove(impl->path_of(name)); !r) return fail(std::move(r).error());
    ++report.files_removed;
  }

  // 6. The writer's state.
  auto active = fs.open_append(last_path);
  if (!active) return fail(std::move(active).error());
  impl->active = Impl::ActiveSegment{last, last_salt, last_path, std::move(active).value()};
  for (std::uint64_t n = *base; n <= last; ++n) {
    impl->live_segments.push_back(n);
    impl->log_bytes += n == last ? impl->active.file->size() : contents.at(n).size();
  }
  impl->next_number = last + 1;
  for (const Located& e : entries) {
    std::string file;
    if (const auto* ref = std::get_if<CheckpointRef>(&e.entry)) {
      file = checkpoint_file_name(ref->seq, ref->state_digest);
    }
    impl->retained.add(kind_of(e.entry), seq_of(e.entry), e.payload, std::move(file));
  }
  for (const auto& [name, stored] : states) {
    impl->checkpoint_files.emplace(name, PagedState{stored.page_list, stored.state});
  }
  impl->compacted_stable = base_stable;

  OpenedStorage opened;
  opened.records.reserve(entries.size());
  for (Located& e : entries) opened.records.push_back(to_record(std::move(e.entry), states));
  report.records = opened.records.size();
  contents.clear();

  pages.clear();  // the pages no retained checkpoint lists
  if (impl->compaction_due()) {
    if (auto r = impl->compact(); !r) return fail(std::move(r).error());
  } else if (auto r = impl->collect_pages(); !r) {
    return fail(std::move(r).error());
  }
  opened.storage.reset(new ReplicaStorage(std::move(impl)));
  opened.report = std::move(report);
  return opened;
}

}  // namespace bastion::bft::storage
