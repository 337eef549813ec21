// Safety checks run on every simulated event: agreement and integrity of execution.
//
// (a) Agreement: every correct replica that executes sequence number s executes the same batch
//     there (same agreed time, same requests, same results: the RecordingApp fingerprint; and the
//     same batch digest when the core reports it).
// (b) Validity/integrity: every request a correct replica executes was issued by a client (its
//     digest was sent by some client, correct or Byzantine), and each (client, number) executes
//     at one sequence number only at each correct replica (re-execution of the same batch after a
//     restart is the same execution, not a second one). Except for principals that use more
//     sessions than a replica keeps (a Byzantine client churning sessions): an evicted session's
//     numbers are forgotten, and its old requests may execute again (docs/protocol.md, "Client
//     table"); that harms nobody but the principal itself.
// Byzantine replicas are not checked: they may claim anything.
//
// Thread-safety: none; one simulation thread.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bft/core/replica.h"
#include "bft/sim/recording_app.h"

namespace bastion::bft::sim {

class SafetyChecker {
 public:
  explicit SafetyChecker(std::uint32_t n) : executed_at_(n) {}

  void issued(const Request& r) { issued_.insert(request_digest(r)); }
  bool was_issued(const Digest& d) const { return issued_.contains(d); }
  // `principal` opens more sessions than sessions_per_principal_max: (b)'s "once" does not hold.
  void churns_sessions(const std::string& principal) { churning_.insert(principal); }

  // Replica `r` (correct) executed batch `e`; `batch` is what its application saw for it.
  void executed(ReplicaId r, const Executed& e, const AppBatch& batch, TimeUs now_us);
  // Some correct replica's application executed the request with digest `d`.
  bool was_executed(const Digest& d) const { return executed_.contains(d); }

  void fail(std::string what) {
    if (failures_.size() < 16) failures_.push_back(std::move(what));
  }
  const std::vector<std::string>& failures() const { return failures_; }
  SeqNum highest_seq() const { return by_seq_.empty() ? 0 : by_seq_.rbegin()->first; }

 private:
  struct Seen {
    Digest fingerprint{};
    Digest batch_digest{};
    bool null_batch = false;
    ReplicaId replica = 0;
    TimeUs agreed_time_us = 0;
    std::size_t requests = 0;
  };
  std::map<SeqNum, Seen> by_seq_;
  std::vector<std::map<std::pair<ClientKey, std::uint64_t>, SeqNum>> executed_at_;
  std::set<Digest> issued_;
  std::set<Digest> executed_;
  std::set<std::string> churning_;
  std::vector<std::string> failures_;
};

}  // namespace bastion::bft::sim
