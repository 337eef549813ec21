// Reply routing by client session (see client_routes.h).
#include "server/client_routes.h"

#include "bft/core/messages.h"
#include "codec/archive.h"

namespace bastion::server {

ClientRoutes::ClientRoutes(std::size_t sessions_per_connection_max)
    : sessions_per_connection_max_(sessions_per_connection_max == 0 ? 1
                                                                    : sessions_per_connection_max) {
}

void ClientRoutes::note(const bft::ClientKey& key, net::ConnectionId connection) {
  auto it = by_key_.find(key);
  if (it != by_key_.end() && it->second == connection) return;  // the common case: no change
  if (it == by_key_.end()) {
    by_key_.emplace(key, connection);
  } else {
    it->second = connection;
  }
  auto& noted = by_connection_[connection];
  noted.push_back(key);
  while (noted.size() > sessions_per_connection_max_) {
    auto old = by_key_.find(noted.front());
    if (old != by_key_.end() && old->second == connection) by_key_.erase(old);
    noted.pop_front();
  }
}

std::optional<net::ConnectionId> ClientRoutes::find(const bft::ClientKey& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

void ClientRoutes::drop_connection(net::ConnectionId connection) {
  auto it = by_connection_.find(connection);
  if (it == by_connection_.end()) return;
  for (const bft::ClientKey& key : it->second) {
    auto k = by_key_.find(key);
    if (k != by_key_.end() && k->second == connection) by_key_.erase(k);
  }
  by_connection_.erase(it);
}

namespace {

// The first field of a message body, if the envelope is of the given type: both REQUEST
// (session) and STATUS-QUERY (nonce) start with a fixed-width u64.
std::optional<std::uint64_t> peek_first_u64(bft::ByteView frame, bft::MsgType type) {
  if (frame.size() < 2 || frame[0] != bft::kWireVersion ||
      frame[1] != static_cast<std::uint8_t>(type)) {
    return std::nullopt;
  }
  try {
    codec::BoundedInputArchive ar(frame.subspan(2));
    std::uint64_t value = 0;
    ar(value);
    return value;
  } catch (const codec::DecodeError&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::uint64_t> peek_request_session(bft::ByteView frame) {
  return peek_first_u64(frame, bft::MsgType::kRequest);
}

std::optional<std::uint64_t> peek_status_query_nonce(bft::ByteView frame) {
  return peek_first_u64(frame, bft::MsgType::kStatusQuery);
}

}  // namespace bastion::server
