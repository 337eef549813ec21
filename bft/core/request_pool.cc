// The request pool (see request_pool.h): storage, vouch counting and accounting.
#include "bft/core/request_pool.h"

#include <algorithm>

namespace bastion::bft {

void ReadyQueue::push_back(const RequestId& id) {
  auto& queue = by_principal_[id.client.principal];
  if (queue.empty()) turns_.push_back(id.client.principal);
  queue.push_back(id);
  ++size_;
}

void ReadyQueue::pop_front() {
  std::string principal = std::move(turns_.front());
  turns_.pop_front();
  auto it = by_principal_.find(principal);
  it->second.pop_front();
  --size_;
  if (it->second.empty()) {
    by_principal_.erase(it);
  } else {
    turns_.push_back(std::move(principal));
  }
}

void ReadyQueue::defer_front() {
  deferred_.push_back(std::move(turns_.front()));
  turns_.pop_front();
}

void ReadyQueue::end_batch() {
  turns_.insert(turns_.begin(), std::make_move_iterator(deferred_.begin()),
                std::make_move_iterator(deferred_.end()));
  deferred_.clear();
}

void ReadyQueue::clear() {
  by_principal_.clear();
  turns_.clear();
  deferred_.clear();
  size_ = 0;
}

RequestPool::RequestPool(const Config& config)
    : n_(config.n),
      per_replica_max_(config.pending_requests_per_replica_max),
      per_principal_entries_max_(std::uint64_t{config.sessions_per_principal_max} *
                                 config.client_window),
      per_principal_bytes_max_(config.pending_bytes_per_principal_max),
      charged_per_replica_(config.n, 0) {}

PoolEntry* RequestPool::find(const RequestId& id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

const PoolEntry* RequestPool::find(const RequestId& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

PoolEntry& RequestPool::find_or_create_for_client(const RequestId& id) { return entries_[id]; }

PoolEntry* RequestPool::find_or_create_for_vouch(const RequestId& id, ReplicaId voucher,
                                                 TimeUs now_us) {
  auto it = entries_.find(id);
  if (it != entries_.end()) return &it->second;
  if (voucher >= n_ || charged_per_replica_[voucher] >= per_replica_max_) return nullptr;
  auto [principal, inserted] = vouched_entries_per_principal_.try_emplace(id.client.principal, 0);
  if (principal->second >= per_principal_entries_max_) return nullptr;
  ++principal->second;
  ++charged_per_replica_[voucher];
  PoolEntry& e = entries_[id];
  e.charged_replica = voucher;
  e.created_us = now_us;
  by_age_.emplace(now_us, id);
  return &e;
}

std::size_t RequestPool::expire(TimeUs created_before) {
  std::size_t expired = 0;
  while (!by_age_.empty() && by_age_.begin()->first < created_before) {
    const RequestId id = by_age_.begin()->second;
    by_age_.erase(by_age_.begin());
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    const PoolEntry& e = it->second;
    // Still charged, but no longer aging: this replica holds it for a reason of its own.
    if (e.from_client || e.own_vouched || e.timer_start_us || e.queued) continue;
    release(id, it->second);
    entries_.erase(it);
    ++expired;
  }
  return expired;
}

bool RequestPool::add_vouch(PoolEntry& e, ReplicaId voucher, const Digest& d) {
  for (const auto& [r, digest] : e.vouches) {
    if (r == voucher) return false;
  }
  e.vouches.emplace_back(voucher, d);
  return true;
}

std::uint32_t RequestPool::others_for(const PoolEntry& e, const Digest& d) {
  std::uint32_t count = 0;
  for (const auto& [r, digest] : e.vouches) count += digest == d ? 1 : 0;
  return count;
}

std::uint32_t RequestPool::support_for(const PoolEntry& e, const Digest& d) {
  return others_for(e, d) + ((e.own_vouched && e.own_digest == d) ? 1 : 0);
}

std::pair<Digest, std::uint32_t> RequestPool::best_supported(const PoolEntry& e) {
  std::pair<Digest, std::uint32_t> best{Digest{}, 0};
  auto consider = [&](const Digest& d) {
    const std::uint32_t s = support_for(e, d);
    if (s > best.second || (s == best.second && s > 0 && d < best.first)) best = {d, s};
  };
  if (e.own_vouched) consider(e.own_digest);
  for (const auto& [r, d] : e.vouches) consider(d);
  return best;
}

RequestPtr RequestPool::body(const PoolEntry& e, const Digest& d) {
  for (const auto& [digest, request] : e.bodies) {
    if (digest == d) return request;
  }
  return nullptr;
}

bool RequestPool::store_body(const RequestId& id, PoolEntry& e, const Digest& d,
                             RequestPtr request) {
  if (body(e, d) != nullptr) return true;
  // The fixed overhead charges the entry's own memory, so a flood of tiny requests is bounded too.
  constexpr std::uint64_t kEntryOverheadBytes = 256;
  const std::uint64_t size =
      request->payload.size() + request->client.principal.size() + kEntryOverheadBytes;
  std::uint64_t& held = bytes_per_principal_[id.client.principal];
  if (held + size > per_principal_bytes_max_) {
    if (held == 0) bytes_per_principal_.erase(id.client.principal);
    return false;
  }
  held += size;
  e.charged_bytes += size;
  e.bodies.emplace_back(d, std::move(request));
  by_digest_.emplace(d, id);
  return true;
}

RequestPtr RequestPool::find_by_digest(const Digest& d) const {
  auto it = by_digest_.find(d);
  if (it == by_digest_.end()) return nullptr;
  const PoolEntry* e = find(it->second);
  return e == nullptr ? nullptr : body(*e, d);
}

void RequestPool::start_timer(const RequestId& id, PoolEntry& e, TimeUs now_us) {
  if (e.timer_start_us) return;
  e.timer_start_us = now_us;
  timers_.emplace(now_us, id);
}

void RequestPool::stop_timer(const RequestId& id, PoolEntry& e) {
  if (!e.timer_start_us) return;
  timers_.erase({*e.timer_start_us, id});
  e.timer_start_us.reset();
}

void RequestPool::restart_timers(TimeUs now_us) {
  std::set<std::pair<TimeUs, RequestId>> restarted;
  for (const auto& [t, id] : timers_) {
    entries_.at(id).timer_start_us = now_us;
    restarted.emplace(now_us, id);
  }
  timers_ = std::move(restarted);
}

std::optional<std::pair<TimeUs, RequestId>> RequestPool::earliest_timer() const {
  if (timers_.empty()) return std::nullopt;
  return *timers_.begin();
}

void RequestPool::release(const RequestId& id, PoolEntry& e) {
  stop_timer(id, e);
  if (e.charged_replica) {
    --charged_per_replica_[*e.charged_replica];
    by_age_.erase({e.created_us, id});
    auto it = vouched_entries_per_principal_.find(id.client.principal);
    if (it != vouched_entries_per_principal_.end() && --it->second == 0) {
      vouched_entries_per_principal_.erase(it);
    }
  }
  if (e.charged_bytes > 0) {
    auto it = bytes_per_principal_.find(id.client.principal);
    if (it != bytes_per_principal_.end()) {
      it->second -= std::min(it->second, e.charged_bytes);
      if (it->second == 0) bytes_per_principal_.erase(it);
    }
  }
  for (const auto& [d, request] : e.bodies) {
    auto it = by_digest_.find(d);
    if (it != by_digest_.end() && it->second == id) by_digest_.erase(it);
  }
}

void RequestPool::erase(const RequestId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  release(id, it->second);
  entries_.erase(it);
}

void RequestPool::erase_through(const ClientKey& client, std::uint64_t number) {
  auto it = entries_.lower_bound(RequestId{client, 0});
  while (it != entries_.end() && it->first.client == client && it->first.number <= number) {
    release(it->first, it->second);
    it = entries_.erase(it);
  }
}

std::uint64_t RequestPool::vouch_count() const {
  std::uint64_t total = 0;
  for (const auto& [id, e] : entries_) total += e.vouches.size();
  return total;
}

std::uint64_t RequestPool::held_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [principal, bytes] : bytes_per_principal_) total += bytes;
  return total;
}

}  // namespace bastion::bft
