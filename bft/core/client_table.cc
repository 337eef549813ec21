// The client table (see client_table.h): at-most-once execution, cached replies, session eviction.
#include "bft/core/client_table.h"

#include <algorithm>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <limits>
#include <vector>

namespace bastion::bft {

namespace {
template <class Deque>
auto lower(Deque& executed, std::uint64_t number) {
  return std::lower_bound(executed.begin(), executed.end(), number,
                          [](const auto& e, std::uint64_t n) { return e.first < n; });
}
}  // namespace

ClientTable::Entry* ClientTable::Session::find(std::uint64_t number) {
  auto it = lower(executed, number);
  return it != executed.end() && it->first == number ? &it->second : nullptr;
}

const ClientTable::Entry* ClientTable::Session::find(std::uint64_t number) const {
  auto it = lower(executed, number);
  return it != executed.end() && it->first == number ? &it->second : nullptr;
}

ClientTable::ClientTable(const Config& config)
    : window_(config.client_window),
      sessions_per_principal_max_(config.sessions_per_principal_max),
      reply_cache_bytes_max_(config.reply_cache_bytes_max),
      principal_bytes_max_(config.principal_bytes_max) {}

bool ClientTable::stale(const Session& s, std::uint64_t number) const {
  return s.highest >= window_ && number <= s.highest - window_;
}

ClientTable::Verdict ClientTable::classify(const ClientKey& client, std::uint64_t number) const {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return Verdict::kNew;
  const Session& s = it->second;
  if (stale(s, number)) return Verdict::kStale;
  return s.find(number) != nullptr ? Verdict::kExecuted : Verdict::kNew;
}

const ClientTable::Entry* ClientTable::entry(const ClientKey& client, std::uint64_t number) const {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return nullptr;
  return it->second.find(number);
}

std::uint64_t ClientTable::highest(const ClientKey& client) const {
  auto it = sessions_.find(client);
  return it == sessions_.end() ? 0 : it->second.highest;
}

bool ClientTable::within_window(const ClientKey& client, std::uint64_t number) const {
  const std::uint64_t h = highest(client);
  return number <= h || number - h <= window_;
}

std::optional<ClientKey> ClientTable::admit(const ClientKey& client, SeqNum seq) {
  auto it = sessions_.find(client);
  if (it != sessions_.end()) {
    it->second.last_active = seq;
    return std::nullopt;
  }
  // A principal's sessions are contiguous in the map (ordered by principal, then session).
  std::optional<ClientKey> evicted;
  std::uint32_t count = 0;
  auto victim = sessions_.end();
  for (auto s = sessions_.lower_bound(ClientKey{client.principal, 0});
       s != sessions_.end() && s->first.principal == client.principal; ++s) {
    ++count;
    // Least recently active; ties broken by the lower session number (map order).
    if (victim == sessions_.end() || s->second.last_active < victim->second.last_active) {
      victim = s;
    }
  }
  if (count >= sessions_per_principal_max_ && victim != sessions_.end()) {
    evicted = victim->first;
    sessions_.erase(victim);
  }
  Session fresh;
  fresh.last_active = seq;
  sessions_.emplace(client, std::move(fresh));
  return evicted;
}

void ClientTable::record(const ClientKey& client, std::uint64_t number,
                         std::optional<Bytes> result) {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return;  // admit() first; a programmer error is harmless here
  Session& s = it->second;
  Entry e;
  e.waiting = !result.has_value();
  if (result) {
    e.cached = true;
    e.result = std::move(*result);
    s.cached_bytes += e.result.size();
  }
  if (s.executed.empty() || s.executed.back().first < number) {
    s.executed.emplace_back(number, std::move(e));
  } else {
    auto pos = lower(s.executed, number);
    if (pos != s.executed.end() && pos->first == number) {
      s.cached_bytes -= pos->second.result.size();
      pos->second = std::move(e);
    } else {
      s.executed.emplace(pos, number, std::move(e));
    }
  }
  if (number > s.highest) {
    s.highest = number;
    prune(s);
  }
  evict_results(s);
}

void ClientTable::complete(const ClientKey& client, std::uint64_t number, const Bytes& result) {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  Entry* e = s.find(number);
  if (e == nullptr || !e->waiting) return;
  e->waiting = false;
  e->cached = true;
  e->result = result;
  s.cached_bytes += result.size();
  evict_results(s);
}

void ClientTable::prune(Session& s) {
  if (s.highest < window_) return;
  const std::uint64_t floor = s.highest - window_;  // numbers <= floor are stale
  while (!s.executed.empty() && s.executed.front().first <= floor) {
    s.cached_bytes -= s.executed.front().second.result.size();
    s.executed.pop_front();
  }
}

void ClientTable::evict_results(Session& s) {
  for (auto it = s.executed.begin();
       s.cached_bytes > reply_cache_bytes_max_ && it != s.executed.end(); ++it) {
    if (!it->second.cached) continue;
    s.cached_bytes -= it->second.result.size();
    it->second.cached = false;
    it->second.result = Bytes{};
  }
}

std::uint64_t ClientTable::entries() const {
  std::uint64_t total = 0;
  for (const auto& [key, s] : sessions_) total += s.executed.size();
  return total;
}

std::uint64_t ClientTable::cached_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [key, s] : sessions_) total += s.cached_bytes;
  return total;
}

void ClientTable::save(codec::OutputArchive& ar) const {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(sessions_.size())));
  for (const auto& [key, s] : sessions_) {
    ar(key, s.highest, s.last_active);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.executed.size())));
    for (const auto& [number, e] : s.executed) ar(number, e.waiting, e.cached, e.result);
  }
}

Result<ClientTable, std::string> ClientTable::load(codec::BoundedInputArchive& ar,
                                                   const Config& config) {
  ClientTable table(config);
  cereal::size_type session_count = 0;
  ar(cereal::make_size_tag(session_count));
  const ClientKey* previous = nullptr;
  std::string principal;
  std::uint32_t principal_sessions = 0;
  for (cereal::size_type i = 0; i < session_count; ++i) {
    ClientKey key;
    Session s;
    ar(key, s.highest, s.last_active);
    if (key.principal.empty() || key.principal.size() > table.principal_bytes_max_) {
      return fail(std::string("client table: bad principal"));
    }
    if (previous != nullptr && !(*previous < key)) {
      return fail(std::string("client table: sessions out of order"));
    }
    if (previous == nullptr || key.principal != principal) {
      principal = key.principal;
      principal_sessions = 0;
    }
    if (++principal_sessions > table.sessions_per_principal_max_) {
      return fail(std::string("client table: too many sessions for a principal"));
    }
    cereal::size_type entry_count = 0;
    ar(cereal::make_size_tag(entry_count));
    if (entry_count > table.window_) return fail(std::string("client table: too many entries"));
    std::uint64_t last = 0;
    for (cereal::size_type j = 0; j < entry_count; ++j) {
      std::uint64_t number = 0;
      Entry e;
      ar(number, e.waiting, e.cached, e.result);
      if (j > 0 && number <= last) return fail(std::string("client table: entries out of order"));
      if (number > s.highest || table.stale(s, number)) {
        return fail(std::string("client table: entry outside the window"));
      }
      if ((e.waiting && e.cached) || (!e.cached && !e.result.empty())) {
        return fail(std::string("client table: inconsistent entry"));
      }
      last = number;
      s.cached_bytes += e.result.size();
      s.executed.emplace_back(number, std::move(e));
    }
    if (s.cached_bytes > table.reply_cache_bytes_max_) {
      return fail(std::string("client table: cached results over the limit"));
    }
    auto [it, inserted] = table.sessions_.emplace(std::move(key), std::move(s));
    previous = &it->first;
  }
  return table;
}

}  // namespace bastion::bft
