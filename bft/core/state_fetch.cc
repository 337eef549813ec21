#include "bft/core/state_fetch.h"

#include <algorithm>

#include "bft/core/state_digest.h"
#include "codec/digest.h"

namespace bastion::bft {

StateFetch::StateFetch(CheckpointProofMsg proof, FetchPurpose purpose, ReplicaId self,
                       TimeUs now_us, const std::vector<ReplicaId>& tried,
                       std::optional<ReplicaId> prefer, PageIndex known)
    : proof_(std::move(proof)),
      purpose_(purpose),
      tried_(tried),
      known_(std::move(known)),
      source_start_us_(now_us) {
  for (const CheckpointMsg& c : proof_.checkpoints) {
    if (c.replica != self) sources_.push_back(c.replica);
  }
  std::sort(sources_.begin(), sources_.end());
  abandoned_.assign(sources_.size(), false);
  if (sources_.empty()) return;
  const auto was_tried = [this](ReplicaId r) {
    return std::find(tried_.begin(), tried_.end(), r) != tried_.end();
  };
  if (std::all_of(sources_.begin(), sources_.end(), was_tried)) tried_.clear();  // a new round
  std::size_t first = self % sources_.size();
  if (prefer) {
    const auto it = std::find(sources_.begin(), sources_.end(), *prefer);
    if (it != sources_.end()) first = static_cast<std::size_t>(it - sources_.begin());
  }
  source_index_ = first;
  for (std::size_t k = 0; k < sources_.size(); ++k) {
    const std::size_t i = (first + k) % sources_.size();
    if (!was_tried(sources_[i])) {
      source_index_ = i;
      break;
    }
  }
}

std::optional<ReplicaId> StateFetch::source() const {
  if (sources_.empty()) return std::nullopt;
  return sources_[source_index_];
}

std::vector<ReplicaId> StateFetch::tried() const {
  std::vector<ReplicaId> out = tried_;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    if ((abandoned_[i] || i == source_index_) &&
        std::find(out.begin(), out.end(), sources_[i]) == out.end()) {
      out.push_back(sources_[i]);
    }
  }
  return out;
}

std::optional<std::pair<ReplicaId, FetchStateMsg>> StateFetch::request(TimeUs now_us) {
  if (sources_.empty()) return std::nullopt;
  sent_us_ = now_us;
  return std::pair{sources_[source_index_], FetchStateMsg{proof_.seq, next_}};
}

StateFetch::Due StateFetch::on_tick(TimeUs now_us, const Config& config) {
  if (sources_.empty()) return Due::kNothing;
  // A source must keep up the minimum rate after the grace period: one that answers just before
  // each timeout would otherwise hold a replica out of service for as long as it likes (a 4 GiB
  // state a chunk per timeout).
  const TimeUs elapsed = now_us - source_start_us_ - config.state_transfer_grace_us;
  if (elapsed > 0 &&
      static_cast<double>(received_) < static_cast<double>(config.state_transfer_min_bytes_per_s) *
                                           static_cast<double>(elapsed) / 1e6) {
    return Due::kAbandon;
  }
  if (now_us - sent_us_ < config.retransmit_interval_us) return Due::kNothing;
  // A lost message is retried with the same source; a silent source is replaced.
  constexpr std::uint32_t kTimeoutsPerSource = 3;
  return ++timeouts_ >= kTimeoutsPerSource ? Due::kAbandon : Due::kResend;
}

void StateFetch::abandon(TimeUs now_us) {
  if (sources_.empty()) return;
  abandoned_[source_index_] = true;
  if (std::all_of(abandoned_.begin(), abandoned_.end(), [](bool a) { return a; })) {
    abandoned_.assign(sources_.size(), false);
  }
  do {
    source_index_ = (source_index_ + 1) % sources_.size();
  } while (abandoned_[source_index_]);
  timeouts_ = 0;
  received_ = 0;
  source_start_us_ = now_us;
  // What is checked stays; the bytes of the list leaf or the page not yet checked go.
  page_.clear();
  if (list_checked_) {
    next_ = list_.size() + pages_.size();
  } else {
    // The leaves checked, unless all were but the list is not one of a state (no correct
    // replica proves such a list): then all of it again.
    if (leaves_checked_ == leaves_.size()) leaves_checked_ = 0;
    list_.resize(leaves_checked_ * kStateLeafBytes);
    next_ = list_.size();
  }
}

void StateFetch::restart() {
  received_ = 0;
  next_ = 0;
  held_ = 0;
  total_bytes_ = 0;
  page_count_ = 0;
  leaves_.clear();
  leaves_checked_ = 0;
  list_.clear();
  list_checked_ = false;
  page_.clear();
  pages_ = StateBytes();
  known_.clear();
}

StateFetch::Chunk StateFetch::on_chunk(ReplicaId from, const StateChunkMsg& chunk,
                                       const Config& config) {
  if (sources_.empty() || from != sources_[source_index_] || chunk.seq != proof_.seq ||
      chunk.state_digest != proof_.state_digest) {
    return Chunk::kUnsolicited;
  }
  if (chunk.offset != next_) return Chunk::kDuplicate;
  // The first chunk brings the state's size, its page count and the leaf digests of its page
  // list, which must make up the proven digest; later ones bring none, and the same size.
  if (chunk.offset == 0) {
    if (chunk.total_bytes == 0 || chunk.total_bytes > config.snapshot_bytes_max ||
        chunk.page_count == 0 || chunk.page_count > chunk.total_bytes) {
      return Chunk::kInvalid;
    }
    if (chunk.leaves.size() != state_leaf_count(chunk.page_count * kStatePageEntryBytes) ||
        state_root(chunk.total_bytes, chunk.page_count, chunk.leaves) != proof_.state_digest) {
      return Chunk::kWrong;
    }
  } else if (!chunk.leaves.empty() || chunk.total_bytes != total_bytes_ ||
             chunk.page_count != page_count_) {
    return Chunk::kInvalid;
  }
  const std::uint64_t list_bytes = chunk.page_count * kStatePageEntryBytes;
  const std::uint64_t stream_bytes = list_bytes + chunk.total_bytes;
  // Every chunk is full-size (the last one: the rest): a correct source never sends less, and a
  // source dripping small chunks is given up at once.
  if (chunk.offset >= stream_bytes ||
      chunk.data.size() !=
          std::min<std::uint64_t>(config.state_chunk_bytes, stream_bytes - chunk.offset)) {
    return Chunk::kInvalid;
  }
  if (chunk.offset == 0) {
    total_bytes_ = chunk.total_bytes;
    page_count_ = chunk.page_count;
    leaves_ = chunk.leaves;
  }
  received_ += chunk.data.size();
  timeouts_ = 0;
  ByteView data(chunk.data);
  if (list_.size() < list_bytes) {
    const std::uint64_t n = std::min<std::uint64_t>(data.size(), list_bytes - list_.size());
    list_.insert(list_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    next_ += n;
    // Each leaf of the list whose bytes are all in.
    for (; leaves_checked_ < leaves_.size(); ++leaves_checked_) {
      const std::uint64_t begin = leaves_checked_ * kStateLeafBytes;
      const std::uint64_t end = std::min(begin + kStateLeafBytes, list_bytes);
      if (list_.size() < end) break;
      if (codec::blake2b(ByteView(list_).subspan(begin, end - begin)) != leaves_[leaves_checked_]) {
        return Chunk::kWrong;
      }
    }
    if (list_.size() == list_bytes) {
      // A proven list is one of non-empty pages adding up to the state (a correct replica's).
      std::uint64_t sum = 0;
      for (std::uint64_t i = 0; i < page_count_; ++i) {
        const std::uint64_t len = page_entry(list_, i).len;
        if (len == 0 || len > total_bytes_ - sum) return Chunk::kWrong;
        sum += len;
      }
      if (sum != total_bytes_) return Chunk::kWrong;
      list_checked_ = true;
      // Of the known pages, only those of this list can serve.
      PageIndex listed;
      for (std::uint64_t i = 0; i < page_count_; ++i) {
        const auto it = known_.find(page_entry(list_, i).digest);
        if (it != known_.end()) listed.insert(*it);
      }
      known_ = std::move(listed);
    }
  }
  if (list_checked_ && !take_pages(data)) return Chunk::kWrong;
  return pages_.pieces().size() == page_count_ ? Chunk::kComplete : Chunk::kMore;
}

bool StateFetch::take_pages(ByteView data) {
  while (pages_.pieces().size() < page_count_) {
    const PageEntry entry = page_entry(list_, pages_.pieces().size());
    if (page_.empty()) {
      const auto it = known_.find(entry.digest);
      if (it != known_.end() && it->second->size() == entry.len) {
        // Held already: its bytes, if the chunk brought them, are not needed.
        pages_.append(it->second);
        data = data.subspan(std::min<std::uint64_t>(data.size(), entry.len));
        next_ += entry.len;
        held_ += entry.len;
        continue;
      }
    }
    if (data.empty()) break;
    if (page_.empty()) page_.reserve(entry.len);
    const std::uint64_t n = std::min<std::uint64_t>(data.size(), entry.len - page_.size());
    page_.insert(page_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    next_ += n;
    if (page_.size() < entry.len) break;
    if (codec::blake2b(page_) != entry.digest) return false;
    auto page = std::make_shared<const Bytes>(std::move(page_));
    page_ = Bytes();
    known_.emplace(entry.digest, page);  // a later page with the same digest takes it
    pages_.append(std::move(page));
  }
  return true;
}

CapturedState StateFetch::take_state() {
  CapturedState state{proof_.state_digest, std::make_shared<const Bytes>(std::move(list_)),
                      std::move(leaves_), std::move(pages_)};
  restart();
  return state;
}

PageIndex StateFetch::take_known() {
  PageIndex known = std::move(known_);
  restart();
  return known;
}

}  // namespace bastion::bft
