// PageStore: the pages of a replica's checkpoint states on disk, each page once.
//
// A checkpoint state is a list of pages (bft/core/state_digest.h). Written whole into a file of
// its own, every checkpoint wrote the whole state again, although most of its pages were those of
// the previous one (83 MB per checkpoint for 1,000,000 small tuples). Here a checkpoint's file
// holds its page list only, and the pages go to append-only pack files, each page once under its
// digest: a checkpoint writes the pages that no earlier one wrote, and its list.
//
// Pack format ("pages-<number>.pack"): records of  len u64 (little-endian) | BLAKE2b [32] | bytes.
// Reading stops at the first record that runs past the file's end or whose bytes do not hash to
// its digest: only a torn tail can be such (a pack is synced before any page list naming its pages
// is written, so no durable checkpoint needs a page of a torn tail). Each open starts a new pack,
// so nothing is ever appended after a torn tail.
//
// Pages that no retained checkpoint lists any more stay in their packs until collect() finds that
// the packs hold more bytes of them than of live pages (and at least rewrite_min_bytes): it then
// writes the live pages into a new pack and deletes the older ones. Each page is written about
// twice over its life, so a checkpoint costs about twice the pages it changed.
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bft/core/state_bytes.h"
#include "bft/core/state_capture.h"
#include "bft/core/types.h"
#include "bft/storage/error.h"
#include "bft/storage/file_system.h"

namespace bastion::bft::storage {

struct PageStoreStats {
  std::uint64_t packs = 0;               // pack files
  std::uint64_t pack_bytes = 0;          // in them, pages no checkpoint lists any more included
  std::uint64_t pages_written = 0;       // by add() since open
  std::uint64_t page_bytes_written = 0;  // records written by add() and collect() since open
  std::uint64_t rewrites = 0;            // collect() rewrites since open
};

// A checkpoint state as stored: its page list (an entry per piece) and its pages.
struct PagedState {
  SharedBytes page_list;
  StateBytes state;
};

class PageStore {
 public:
  using Pages = PageIndex;

  PageStore() = default;
  PageStore(FileSystem& fs, std::string dir, std::uint64_t rewrite_min_bytes);

  // Reads the packs numbered `numbers` (page by page, verified) and adds their pages to `pages`;
  // the store writes a new pack, numbered after them, from the first add() on.
  Result<Done, StorageError> load(const std::vector<std::uint64_t>& numbers,
                                  std::uint64_t pack_bytes_max, Pages& pages);

  // Makes every page of `state` durable (their digests are in `page_list`, state_digest.h): the
  // pages no pack holds are appended to the current pack, which is then synced.
  Result<Done, StorageError> add(ByteView page_list, const StateBytes& state);

  // `live`: the states that retained checkpoints still list. Rewrites their pages into a new pack
  // and deletes the others when the packs hold more bytes of other pages than of theirs, and at
  // least rewrite_min_bytes (or any, when no state is live). A pack that cannot be deleted is
  // counted in `cleanup_errors` (read again, and dropped, at the next open).
  Result<Done, StorageError> collect(const std::vector<const PagedState*>& live,
                                     std::uint64_t& cleanup_errors);

  PageStoreStats stats() const;

 private:
  struct Location {
    std::uint64_t pack = 0;
    std::uint64_t len = 0;
  };
  // Appends the records of `pages` (not held yet, distinct) to the current pack, then syncs it.
  Result<Done, StorageError> write(const std::vector<std::pair<Digest, const Bytes*>>& pages);
  std::string path_of(std::uint64_t pack) const;

  FileSystem* fs_ = nullptr;
  std::string dir_;
  std::uint64_t rewrite_min_bytes_ = 0;
  std::unordered_map<Digest, Location, DigestHash> where_;
  std::map<std::uint64_t, std::uint64_t> packs_;  // number -> bytes
  std::uint64_t current_ = 1;                     // the pack add() writes to
  std::unique_ptr<WritableFile> file_;            // current_, once created
  PageStoreStats counters_;
};

}  // namespace bastion::bft::storage
