#include "bft/core/waiting_reads.h"

#include <algorithm>
#include <utility>

#include "codec/check.h"

namespace bastion::bft {

WaitingReads::WaitingReads(const Config& config)
    : max_(config.read_queue_max),
      per_session_max_(config.client_window),
      per_principal_max_(std::max<std::uint32_t>(1, config.read_queue_max / 4)) {}

bool WaitingReads::has_room(const ClientKey& client) const {
  auto session = per_session_.find(client);
  auto principal = per_principal_.find(client.principal);
  return reads_.size() < max_ &&
         (session == per_session_.end() || session->second < per_session_max_) &&
         (principal == per_principal_.end() || principal->second < per_principal_max_);
}

void WaitingReads::add(SeqNum barrier, Request request) {
  BASTION_CHECK(has_room(request.client));
  ++per_session_[request.client];
  ++per_principal_[request.client.principal];
  reads_.emplace(barrier, std::move(request));
}

std::optional<Request> WaitingReads::take_ready(SeqNum executed) {
  if (reads_.empty() || reads_.begin()->first > executed) return std::nullopt;
  Request request = std::move(reads_.begin()->second);
  reads_.erase(reads_.begin());
  if (auto it = per_session_.find(request.client); --it->second == 0) per_session_.erase(it);
  if (auto it = per_principal_.find(request.client.principal); --it->second == 0) {
    per_principal_.erase(it);
  }
  return request;
}

}  // namespace bastion::bft
