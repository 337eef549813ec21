// Message descriptions for the trace; see describe.h.
#include "bft/sim/describe.h"

#include <sstream>
#include <type_traits>
#include <variant>

#include "bft/core/messages.h"

namespace bastion::bft::sim {
namespace {

std::string d6(const Digest& d) { return codec::to_hex(d).substr(0, 6); }

std::string header(const BatchHeader& h) {
  std::ostringstream s;
  s << "v" << h.view << " s" << h.seq << " ts=" << h.timestamp_us << " d=" << d6(h.batch_digest)
    << (h.null_batch ? " null" : "");
  return s.str();
}

}  // namespace

std::string describe_message(ByteView bytes) {
  auto decoded = decode_message(bytes);
  if (!decoded) return "garbage(" + std::to_string(bytes.size()) + " bytes)";
  std::ostringstream s;
  s << type_name(type_of(*decoded));
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ClientRequestMsg>) {
          s << " session " << m.session << " #" << m.number << (m.read_only ? " ro" : "");
        } else if constexpr (std::is_same_v<T, ReplyMsg>) {
          s << " session " << m.session << " #" << m.number << " v" << m.view << " r" << m.replica
            << (m.read_only ? " ro" : "") << " status " << static_cast<int>(m.status);
        } else if constexpr (std::is_same_v<T, VouchMsg>) {
          for (const auto& e : m.entries) {
            s << " (" << e.client.principal << "/" << e.client.session << " #" << e.number << " "
              << d6(e.digest) << ")";
          }
        } else if constexpr (std::is_same_v<T, PrePrepareMsg>) {
          s << " " << header(m.header) << " n=" << m.batch.size();
        } else if constexpr (std::is_same_v<T, PrepareMsg> || std::is_same_v<T, CommitMsg>) {
          s << " v" << m.view << " s" << m.seq << " d=" << d6(m.batch_digest) << " r" << m.replica;
        } else if constexpr (std::is_same_v<T, CheckpointMsg>) {
          s << " s" << m.seq << " d=" << d6(m.state_digest) << " r" << m.replica;
        } else if constexpr (std::is_same_v<T, CheckpointProofMsg>) {
          s << " s" << m.seq << " d=" << d6(m.state_digest) << " n=" << m.checkpoints.size();
        } else if constexpr (std::is_same_v<T, ViewChangeMsg>) {
          s << " nv" << m.new_view << " r" << m.replica << " stable s" << m.stable.seq
            << " prepared";
          for (const auto& c : m.prepared) s << " [" << header(c.header) << "]";
        } else if constexpr (std::is_same_v<T, NewViewMsg>) {
          s << " v" << m.view << " r" << m.replica << " vcs=" << m.view_changes.size()
            << " proposals";
          for (const auto& h : m.proposals) s << " [" << header(h) << "]";
        } else if constexpr (std::is_same_v<T, StatusMsg>) {
          s << " r" << m.replica << " v" << m.view << (m.view_changing ? "*" : "") << " exec "
            << m.last_executed << " stable " << m.stable_seq;
        } else if constexpr (std::is_same_v<T, CommittedMsg>) {
          s << " r" << m.replica << " " << header(m.header) << (m.batch ? " +batch" : "");
        } else if constexpr (std::is_same_v<T, FetchStateMsg>) {
          s << " s" << m.seq << " off " << m.offset;
        } else if constexpr (std::is_same_v<T, StateChunkMsg>) {
          s << " s" << m.seq << " off " << m.offset << " len " << m.data.size() << "/"
            << m.total_bytes << " pages " << m.page_count;
        } else if constexpr (std::is_same_v<T, FetchBatchMsg>) {
          s << " d=" << d6(m.batch_digest);
        } else if constexpr (std::is_same_v<T, FetchRequestsMsg>) {
          s << " n=" << m.digests.size();
        } else if constexpr (std::is_same_v<T, RequestsMsg> || std::is_same_v<T, BatchMsg>) {
          if constexpr (std::is_same_v<T, RequestsMsg>) {
            s << " n=" << m.requests.size();
          } else {
            s << " n=" << m.batch.size();
          }
        }
      },
      *decoded);
  return s.str();
}

}  // namespace bastion::bft::sim
