#include "bft/storage/page_store.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "bft/core/state_digest.h"
#include "bft/storage/log_entry.h"
#include "codec/check.h"
#include "codec/digest.h"

namespace bastion::bft::storage {
namespace {

// A record's header is a page list entry: the page's length and digest.
constexpr std::uint64_t kRecordHeaderBytes = kStatePageEntryBytes;
// Small records are gathered into writes of up to this size.
constexpr std::size_t kWriteBytes = std::size_t{1} << 20;
// A large write (the first checkpoint after a start, a rewrite) is synced every so many bytes on
// the way: the pack then never holds much unsynced data, which a concurrent log sync might
// otherwise wait for (ext4's ordered mode flushes other files' new data with the journal).
constexpr std::size_t kSyncEveryBytes = std::size_t{4} << 20;

StorageError corrupt(const std::string& path, const std::string& what) {
  return StorageError{StorageErrc::kCorruption, path + ": " + what};
}

}  // namespace

PageStore::PageStore(FileSystem& fs, std::string dir, std::uint64_t rewrite_min_bytes)
    : fs_(&fs), dir_(std::move(dir)), rewrite_min_bytes_(rewrite_min_bytes) {}

std::string PageStore::path_of(std::uint64_t pack) const {
  return join_path(dir_, pack_file_name(pack));
}

Result<Done, StorageError> PageStore::load(const std::vector<std::uint64_t>& numbers,
                                           std::uint64_t pack_bytes_max, Pages& pages) {
  for (const std::uint64_t n : numbers) {
    auto bytes = fs_->read_all(path_of(n), pack_bytes_max);
    if (!bytes) {
      if (bytes.error().code == StorageErrc::kInvalidArgument) {
        return fail(corrupt(path_of(n), bytes.error().message));
      }
      return fail(std::move(bytes).error());
    }
    const ByteView pack(*bytes);
    std::uint64_t at = 0;
    while (pack.size() - at >= kRecordHeaderBytes) {
      const PageEntry e = page_entry(pack.subspan(at, kRecordHeaderBytes), 0);
      if (e.len == 0 || e.len > pack.size() - at - kRecordHeaderBytes) break;  // a torn tail
      const ByteView page = pack.subspan(at + kRecordHeaderBytes, e.len);
      if (codec::blake2b(page) != e.digest) break;
      if (where_.emplace(e.digest, Location{n, e.len}).second) {
        pages.emplace(e.digest, std::make_shared<const Bytes>(page.begin(), page.end()));
      }
      at += kRecordHeaderBytes + e.len;
    }
    packs_[n] = pack.size();
    current_ = std::max(current_, n + 1);
  }
  return Done{};
}

Result<Done, StorageError> PageStore::add(ByteView page_list, const StateBytes& state) {
  BASTION_CHECK(page_list.size() == state.pieces().size() * kStatePageEntryBytes);
  std::vector<std::pair<Digest, const Bytes*>> missing;
  std::unordered_set<Digest, DigestHash> taken;
  for (std::size_t i = 0; i < state.pieces().size(); ++i) {
    const Digest d = page_entry(page_list, i).digest;
    if (where_.contains(d) || !taken.insert(d).second) continue;
    missing.emplace_back(d, state.pieces()[i].get());
  }
  if (auto r = write(missing); !r) return r;
  counters_.pages_written += missing.size();
  return Done{};
}

Result<Done, StorageError> PageStore::write(
    const std::vector<std::pair<Digest, const Bytes*>>& pages) {
  if (pages.empty()) return Done{};
  const bool created = !file_;
  if (created) {
    auto file = fs_->create(path_of(current_));
    if (!file) return fail(std::move(file).error());
    file_ = std::move(file).value();
    packs_[current_] = 0;
  }
  std::uint64_t unsynced = 0;
  const auto append = [&](ByteView bytes) -> Result<Done, StorageError> {
    if (auto r = file_->append(bytes); !r) return r;
    unsynced += bytes.size();
    if (unsynced < kSyncEveryBytes) return Done{};
    unsynced = 0;
    return file_->sync();
  };
  Bytes gathered;
  const auto flush = [&]() -> Result<Done, StorageError> {
    if (gathered.empty()) return Done{};
    auto r = append(gathered);
    gathered.clear();
    return r;
  };
  std::uint64_t written = 0;
  for (const auto& [digest, bytes] : pages) {
    append_page_entry(gathered, bytes->size(), digest);
    if (gathered.size() + bytes->size() <= kWriteBytes) {
      gathered.insert(gathered.end(), bytes->begin(), bytes->end());
    } else {
      if (auto r = flush(); !r) return r;
      if (auto r = append(*bytes); !r) return r;
    }
    written += kRecordHeaderBytes + bytes->size();
  }
  if (auto r = flush(); !r) return r;
  if (auto r = file_->sync(); !r) return r;
  if (created) {
    if (auto r = fs_->sync_dir(dir_); !r) return r;
  }
  for (const auto& [digest, bytes] : pages) where_[digest] = Location{current_, bytes->size()};
  packs_[current_] += written;
  counters_.page_bytes_written += written;
  return Done{};
}

Result<Done, StorageError> PageStore::collect(const std::vector<const PagedState*>& live,
                                              std::uint64_t& cleanup_errors) {
  std::vector<std::pair<Digest, const Bytes*>> pages;
  std::unordered_set<Digest, DigestHash> taken;
  std::uint64_t live_bytes = 0;
  for (const PagedState* l : live) {
    const std::vector<SharedBytes>& pieces = l->state.pieces();
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const Digest d = page_entry(*l->page_list, i).digest;
      if (!taken.insert(d).second) continue;
      pages.emplace_back(d, pieces[i].get());
      live_bytes += kRecordHeaderBytes + pieces[i]->size();
    }
  }
  std::uint64_t total = 0;
  for (const auto& [n, bytes] : packs_) total += bytes;
  const std::uint64_t dead = total > live_bytes ? total - live_bytes : 0;
  // With no live page the rewrite writes nothing: the packs just go.
  if (dead == 0 || (live_bytes > 0 && (dead <= live_bytes || dead < rewrite_min_bytes_))) {
    return Done{};
  }

  std::vector<std::uint64_t> old;
  for (const auto& [n, bytes] : packs_) old.push_back(n);
  file_.reset();
  if (!packs_.empty()) current_ = std::max(current_, packs_.rbegin()->first + 1);
  where_.clear();
  if (auto r = write(pages); !r) return r;
  // The live pages are durable in the new pack: the old ones may go.
  for (const std::uint64_t n : old) {
    if (!fs_->remove(path_of(n))) ++cleanup_errors;
    packs_.erase(n);
  }
  ++counters_.rewrites;
  return Done{};
}

PageStoreStats PageStore::stats() const {
  PageStoreStats s = counters_;
  s.packs = packs_.size();
  for (const auto& [n, bytes] : packs_) s.pack_bytes += bytes;
  return s;
}

}  // namespace bastion::bft::storage
