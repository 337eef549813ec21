// One non-trivial sample of every message type, in MsgType order (index i has type i+1). Used by
// the round-trip tests and to (re)generate the fuzz seed corpora (tests/fuzz/corpus/bft_*).
#pragma once

#include <vector>

#include "bft/core/messages.h"

namespace bastion::bft::test {

inline std::vector<Message> sample_messages() {
  const Request r1{ClientKey{"alice", 3}, 7, false, Bytes{'p', 'u', 't'}};
  const Request r2{ClientKey{"bob", 1}, 1, false, Bytes{}};
  const BatchHeader h{2, 9, 1'000'123, batch_digest({r1, r2}), false};
  Signature sig{};
  sig[0] = 0xab;
  sig[63] = 0xcd;
  const PrepareMsg prepare{2, 9, h.batch_digest, 1, sig, h.timestamp_us};
  const CheckpointMsg checkpoint{64, Digest{5, 6}, 3, sig};
  const CheckpointProofMsg proof{64, Digest{5, 6}, {checkpoint, checkpoint}};
  const PreparedCert cert{h, sig, {prepare, prepare}};
  const ViewChangeMsg view_change{3, proof, {cert}, 1, sig};
  std::vector<Message> out;
  out.emplace_back(ClientRequestMsg{3, 7, true, Bytes{'g', 'e', 't'}});
  out.emplace_back(ReplyMsg{3, 7, 2, 1, false, Bytes{'o', 'k'}, 0});
  out.emplace_back(VouchMsg{{VouchEntry{r1.client, r1.number, request_digest(r1)}}});
  out.emplace_back(FetchRequestsMsg{{request_digest(r1), request_digest(r2)}});
  out.emplace_back(RequestsMsg{{r1, r2}});
  out.emplace_back(PrePrepareMsg{h, sig, {r1, r2}});
  out.emplace_back(prepare);
  out.emplace_back(CommitMsg{2, 9, h.batch_digest, 1, h.timestamp_us});
  out.emplace_back(checkpoint);
  out.emplace_back(view_change);
  out.emplace_back(
      NewViewMsg{3, {view_change}, {h, BatchHeader{3, 10, 0, Digest{}, true}}, {sig, sig}, 3, sig});
  out.emplace_back(FetchBatchMsg{h.batch_digest});
  out.emplace_back(BatchMsg{{r1}});
  out.emplace_back(StatusMsg{2, true, 8, 4, 1});
  out.emplace_back(CommittedMsg{h, std::vector<Request>{r1, r2}, 2});
  out.emplace_back(proof);
  out.emplace_back(FetchStateMsg{64, 4096});
  out.emplace_back(StateChunkMsg{64, Digest{5, 6}, 10'000, 3, 4096, {Digest{7}}, Bytes{1, 2, 3}});
  out.emplace_back(StatusQueryMsg{99});
  out.emplace_back(StatusReportMsg{99, 1, 2, 2, false, 8, 4, 1'000'123});
  return out;
}

}  // namespace bastion::bft::test
