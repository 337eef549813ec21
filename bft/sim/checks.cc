// Agreement and integrity checks; see checks.h.
#include "bft/sim/checks.h"

#include <sstream>

namespace bastion::bft::sim {

void SafetyChecker::executed(ReplicaId r, const Executed& e, const AppBatch& batch, TimeUs now_us) {
  auto [it, fresh] = by_seq_.emplace(e.seq, Seen{batch.fingerprint, e.batch_digest, e.null_batch, r,
                                                 batch.agreed_time_us, batch.requests.size()});
  const Seen& first = it->second;
  if (!fresh && (first.fingerprint != batch.fingerprint || first.batch_digest != e.batch_digest ||
                 first.null_batch != e.null_batch)) {
    std::ostringstream s;
    s << "agreement: at t=" << now_us << "us replica " << r << " executed a different batch at seq "
      << e.seq << (e.replayed ? " (replayed after a restart)" : "") << " than replica "
      << first.replica << " (batch digest " << codec::to_hex(e.batch_digest).substr(0, 12) << " vs "
      << codec::to_hex(first.batch_digest).substr(0, 12) << ", agreed time " << batch.agreed_time_us
      << " vs " << first.agreed_time_us << ", " << batch.requests.size() << " vs " << first.requests
      << " requests executed)";
    fail(s.str());
  }
  auto& mine = executed_at_[r];
  for (const ExecutedRequest& q : batch.requests) {
    executed_.insert(q.digest);
    if (!issued_.contains(q.digest)) {
      std::ostringstream s;
      s << "validity: at t=" << now_us << "us replica " << r << " executed request ("
        << q.client.principal << "/" << q.client.session << ", #" << q.number << ") at seq "
        << e.seq << " that no client issued";
      fail(s.str());
    }
    auto [at, once] = mine.emplace(std::pair{q.client, q.number}, e.seq);
    if (!once && at->second != e.seq && !churning_.contains(q.client.principal)) {
      std::ostringstream s;
      s << "integrity: replica " << r << " executed request (" << q.client.principal << "/"
        << q.client.session << ", #" << q.number << ") twice, at seq " << at->second << " and "
        << e.seq;
      fail(s.str());
    }
  }
}

}  // namespace bastion::bft::sim
