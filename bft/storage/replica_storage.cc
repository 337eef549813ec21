// ReplicaStorage writer: append, group commit, compaction. Recovery is in recovery.cc.
//
// Write order that makes a crash at any point recoverable (see docs/storage.md):
//   - a checkpoint's pages are durable in the page packs before its page list is written, and
//     that list is durable under its final name before the log record that refers to it is
//     appended;
//   - a new segment gets its name only after its header and first group are durable;
//   - old segments and checkpoint files are deleted only after the base segment that supersedes
//     them is durable under its name, and old page packs only after the pack that holds their
//     live pages is durable.
#include <sodium.h>

#include <algorithm>

#include "bft/core/state_digest.h"
#include "bft/storage/storage_impl.h"
#include "codec/check.h"
#include "codec/digest.h"

namespace bastion::bft::storage {
namespace {

// Writes `bytes` to `dir`/`name`. Temp file, fdatasync, rename, directory fsync: the file exists
// complete or not at all.
Result<Done, StorageError> write_durably(FileSystem& fs, const std::string& dir,
                                         const std::string& name, ByteView bytes) {
  const std::string final_path = join_path(dir, name);
  const std::string temp_path = final_path + kTempSuffix;
  auto file = fs.create(temp_path);
  if (!file) return fail(std::move(file).error());
  if (!bytes.empty()) {
    if (auto r = (*file)->append(bytes); !r) return r;
  }
  if (auto r = (*file)->sync(); !r) return r;
  if (auto r = fs.rename(temp_path, final_path); !r) return r;
  return fs.sync_dir(dir);
}

}  // namespace

ReplicaStorage::Impl::Impl(FileSystem& file_system, std::string directory, StorageOptions opts)
    : fs(&file_system),
      dir(std::move(directory)),
      options(opts),
      durable(true),
      pages(file_system, dir, opts.page_rewrite_min_bytes) {}

ReplicaStorage::Impl::Impl() = default;

Salt ReplicaStorage::Impl::new_salt() const {
  Salt s;
  randombytes_buf(s.data(), s.size());
  return s;
}

Result<Done, StorageError> ReplicaStorage::Impl::fail_storage(StorageError e) {
  failed = true;
  pending.reset();
  return fail(std::move(e));
}

bool ReplicaStorage::Impl::file_exists(const std::string& name) const {
  auto names = fs->list(dir);
  return names && std::find(names->begin(), names->end(), name) != names->end();
}

Result<std::unique_ptr<WritableFile>, StorageError> ReplicaStorage::Impl::write_new_segment(
    std::uint64_t number, ByteView bytes) {
  const std::string final_path = path_of(segment_file_name(number));
  const std::string temp_path = final_path + kTempSuffix;
  auto file = fs->create(temp_path);
  if (!file) return file;
  if (auto r = (*file)->append(bytes); !r) return fail(std::move(r).error());
  if (auto r = (*file)->sync(); !r) return fail(std::move(r).error());
  if (auto r = fs->rename(temp_path, final_path); !r) return fail(std::move(r).error());
  if (auto r = fs->sync_dir(dir); !r) return fail(std::move(r).error());
  return file;
}

namespace {
// Larger group buffers (a burst of records) are freed rather than kept.
constexpr std::size_t kSpareGroupBufferMax = std::size_t{16} << 20;
}  // namespace

void ReplicaStorage::Impl::start_group() {
  PendingGroup g;
  if (active.file->size() >= options.segment_bytes_target) {
    g.number = next_number++;
    g.salt = new_salt();
    g.new_segment.emplace(SegmentKind::kContinuation, g.number, g.salt);
    g.file_offset = 0;
    g.group_offset = kSegmentHeaderBytes;
  } else {
    g.number = active.number;
    g.salt = active.salt;
    g.file_offset = active.file->size();
    g.group_offset = g.file_offset;
    g.appended = std::move(spare_group_buffer);
    g.appended.clear();
  }
  pending.emplace(std::move(g));
}

Result<Done, StorageError> ReplicaStorage::Impl::append(const PersistRecord& record) {
  if (failed) return fail(StorageError{StorageErrc::kFailed, "storage failed earlier"});
  ++counters.records_appended;
  if (!durable) return Done{};

  std::string checkpoint_file;
  if (const auto* c = std::get_if<CheckpointRecord>(&record)) {
    if (c->state.size() > options.checkpoint_bytes_max) {
      return fail(StorageError{StorageErrc::kInvalidArgument,
                               "checkpoint " + std::to_string(c->seq) + ": state of " +
                                   std::to_string(c->state.size()) + " bytes exceeds the limit"});
    }
    BASTION_CHECK(c->page_list != nullptr &&
                  c->page_list->size() == c->state.pieces().size() * kStatePageEntryBytes);
    checkpoint_file = checkpoint_file_name(c->seq, c->state_digest);
    // The pages first (those no pack holds yet), durably, then the page list that names them.
    if (auto r = pages.add(*c->page_list, c->state); !r) return fail_storage(std::move(r).error());
    // Same seq and digest means the same state: a list already there (written durably by this
    // storage, or by an earlier run that stopped before its record) needs no rewrite.
    if (!checkpoint_files.contains(checkpoint_file)) {
      if (!file_exists(checkpoint_file)) {
        if (auto r = write_durably(*fs, dir, checkpoint_file, *c->page_list); !r) {
          return fail_storage(std::move(r).error());
        }
      }
      checkpoint_files.emplace(checkpoint_file, PagedState{c->page_list, c->state});
    }
  }

  if (!pending) start_group();
  FrameWriter writer(pending->bytes(), pending->file_offset, pending->group_offset, pending->salt);
  const std::size_t at = writer.begin();
  encode_entry(record, pending->bytes());
  const std::size_t payload_bytes = pending->bytes().size() - at - kFrameHeaderBytes;
  if (payload_bytes > options.record_bytes_max) {
    writer.cancel(at);
    return fail(StorageError{
        StorageErrc::kInvalidArgument,
        "record of " + std::to_string(payload_bytes) + " bytes exceeds record_bytes_max"});
  }
  writer.end(at);
  ++pending->frames;
  const ByteView payload(pending->bytes().data() + at + kFrameHeaderBytes, payload_bytes);
  retained.add(kind_of(record), seq_of(record), payload, std::move(checkpoint_file));
  return Done{};
}

Result<Done, StorageError> ReplicaStorage::Impl::sync() {
  if (failed) return fail(StorageError{StorageErrc::kFailed, "storage failed earlier"});
  if (!durable || !pending) return Done{};
  if (pending->frames == 0) {
    pending.reset();
    return Done{};
  }
  PendingGroup& g = *pending;
  std::uint64_t written = 0;
  if (g.new_segment) {
    const Bytes bytes = std::move(*g.new_segment).seal();
    auto file = write_new_segment(g.number, bytes);
    if (!file) return fail_storage(std::move(file).error());
    active = ActiveSegment{g.number, g.salt, path_of(segment_file_name(g.number)),
                           std::move(file).value()};
    live_segments.push_back(g.number);
    written = bytes.size();
  } else {
    if (auto r = active.file->append(g.appended); !r) return fail_storage(std::move(r).error());
    if (auto r = active.file->sync(); !r) return fail_storage(std::move(r).error());
    written = g.appended.size();
    if (g.appended.capacity() <= kSpareGroupBufferMax) spare_group_buffer = std::move(g.appended);
  }
  pending.reset();
  log_bytes += written;
  ++counters.syncs;
  counters.bytes_synced += written;
  if (compaction_due()) {
    if (auto r = compact(); !r) return fail_storage(std::move(r).error());
  }
  return Done{};
}

bool ReplicaStorage::Impl::compaction_due() const {
  if (retained.stable_seq() != compacted_stable) return true;
  // Without new stable checkpoints (a partitioned replica changing views), obsolete records still
  // pile up: compact once they outweigh both a segment and the live records.
  const std::uint64_t live =
      kSegmentHeaderBytes + retained.size() * kFrameHeaderBytes + retained.payload_bytes();
  const std::uint64_t obsolete = log_bytes > live ? log_bytes - live : 0;
  return obsolete > std::max(options.segment_bytes_target, live);
}

Result<Done, StorageError> ReplicaStorage::Impl::compact() {
  const std::uint64_t number = next_number++;
  SegmentBuilder builder(SegmentKind::kBase, number, new_salt());
  FrameWriter writer(builder.bytes(), 0, kSegmentHeaderBytes, builder.salt());
  for (const ByteView payload : retained.payloads()) {
    const std::size_t at = writer.begin();
    builder.bytes().insert(builder.bytes().end(), payload.begin(), payload.end());
    writer.end(at);
  }
  const Salt salt = builder.salt();
  const Bytes bytes = std::move(builder).seal();
  auto file = write_new_segment(number, bytes);
  if (!file) return fail(std::move(file).error());

  const std::vector<std::uint64_t> superseded = std::move(live_segments);
  live_segments = {number};
  active = ActiveSegment{number, salt, path_of(segment_file_name(number)), std::move(file).value()};
  log_bytes = bytes.size();
  compacted_stable = retained.stable_seq();
  ++counters.compactions;

  // The new base is durable: what it supersedes may go. A file that cannot be deleted now is
  // harmless (recovery ignores and deletes it), so this never fails the storage.
  for (const std::uint64_t n : superseded) {
    if (!fs->remove(path_of(segment_file_name(n)))) ++counters.cleanup_errors;
  }
  const std::set<std::string> keep = retained.checkpoint_files();
  for (auto it = checkpoint_files.begin(); it != checkpoint_files.end();) {
    if (keep.contains(it->first)) {
      ++it;
      continue;
    }
    if (!fs->remove(path_of(it->first))) ++counters.cleanup_errors;
    it = checkpoint_files.erase(it);
  }
  // Files written by captures whose records never came (the replica had moved past them).
  if (auto names = fs->list(dir); names && compacted_stable) {
    for (const std::string& name : *names) {
      const auto seq = parse_checkpoint_file_seq(name);
      if (!seq || *seq >= *compacted_stable || checkpoint_files.contains(name)) continue;
      if (!fs->remove(path_of(name))) ++counters.cleanup_errors;
    }
  }
  return collect_pages();
}

Result<Done, StorageError> ReplicaStorage::Impl::collect_pages() {
  std::vector<const PagedState*> live;
  live.reserve(checkpoint_files.size());
  for (const auto& [name, c] : checkpoint_files) live.push_back(&c);
  return pages.collect(live, counters.cleanup_errors);
}

StorageStats ReplicaStorage::Impl::stats() const {
  StorageStats s = counters;
  s.segments = live_segments.size();
  s.log_bytes = log_bytes;
  s.checkpoint_files = checkpoint_files.size();
  const PageStoreStats p = pages.stats();
  s.page_packs = p.packs;
  s.page_pack_bytes = p.pack_bytes;
  s.page_bytes_written = p.page_bytes_written;
  s.page_rewrites = p.rewrites;
  s.retained_records = retained.size();
  s.retained_bytes = retained.payload_bytes();
  return s;
}

// ---- ReplicaStorage ----------------------------------------------------------------------------

ReplicaStorage::ReplicaStorage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplicaStorage::~ReplicaStorage() = default;

std::unique_ptr<ReplicaStorage> ReplicaStorage::in_memory() {
  return std::unique_ptr<ReplicaStorage>(new ReplicaStorage(std::make_unique<Impl>()));
}

Result<Done, StorageError> ReplicaStorage::append(const PersistRecord& record) {
  return impl_->append(record);
}

Result<Done, StorageError> ReplicaStorage::append(std::span<const PersistRecord> records) {
  for (const PersistRecord& r : records) {
    if (auto res = impl_->append(r); !res) return res;
  }
  return Done{};
}

Result<Done, StorageError> ReplicaStorage::sync() { return impl_->sync(); }

Result<Done, StorageError> ReplicaStorage::mark_clean_stop() {
  if (auto r = impl_->sync(); !r) return r;
  if (!impl_->durable) return Done{};
  return write_durably(*impl_->fs, impl_->dir, kCleanStopFileName, {});
}
bool ReplicaStorage::durable() const { return impl_->durable; }
bool ReplicaStorage::failed() const { return impl_->failed; }
StorageStats ReplicaStorage::stats() const { return impl_->stats(); }

}  // namespace bastion::bft::storage
