#include "server/tuplespace_app.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace bastion::server {
namespace {

// Snapshot format 1 (see tuplespace_app.h).
constexpr std::uint8_t kSnapshotMarker = 0xA5;
constexpr std::uint8_t kSnapshotVersion = 1;
constexpr std::size_t kSnapshotHeaderBytes = 2 + std::tuple_size_v<bft::Digest>;

std::int64_t to_ms(bft::TimeUs us) { return us / 1000; }

bft::Bytes encode_reply(const ts::Reply& reply) { return codec::encode(reply); }

}  // namespace

std::vector<bft::Completion> TupleSpaceApp::to_bft(std::vector<ts::Completion> completions) const {
  std::vector<bft::Completion> out;
  out.reserve(completions.size());
  for (ts::Completion& c : completions) {
    out.push_back({bft::ClientKey{std::move(c.key.client), c.key.session}, c.key.request,
                   encode_reply(wrap_confidential(c.space, std::move(c.reply)))});
  }
  return out;
}

ts::Reply TupleSpaceApp::wrap_confidential(std::string_view space, ts::Reply reply) const {
  const bool carries_tuples =
      std::holds_alternative<ts::Found>(reply) || std::holds_alternative<ts::FoundAll>(reply) ||
      (std::holds_alternative<ts::CasResult>(reply) && !std::get<ts::CasResult>(reply).inserted);
  if (!carries_tuples || space.empty()) return reply;
  const ts::SpaceOptions* options = engine_.space_options(space);
  if (options == nullptr || !options->confidential) return reply;
  return ts::Confidential{std::string(space), encode_reply(reply)};
}

TupleSpaceApp::TupleSpaceApp(const AppSettings& settings)
    : settings_digest_(settings.settings_digest),
      engine_limits_(settings.engine_limits),
      principals_(settings.admins, settings.groups),
      confidentiality_(engine_, confidentiality::Pvss::of_cluster(settings.pvss_public_keys),
                       bottom_),
      policy_(engine_, principals_, settings.policy_limits, confidentiality_),
      access_(engine_, principals_, policy_) {
  engine_.set_limits(engine_limits_);
}

ts::Context TupleSpaceApp::context(const bft::Request& request) const {
  return ts::Context{request.client.principal, request.client.session, request.number,
                     engine_.now_ms()};
}

std::vector<bft::Completion> TupleSpaceApp::begin_batch(bft::TimeUs now_us) {
  return to_bft(engine_.advance(to_ms(now_us)));
}

bft::ExecuteResult TupleSpaceApp::execute(const bft::Request& request) {
  bft::ExecuteResult result;
  auto op = ts::decode_request(request.payload);
  if (!op) {
    result.result = encode_reply(op.error());
    return result;
  }
  ts::Outcome outcome = access_.execute(context(request), *op);
  if (!std::holds_alternative<ts::Pending>(outcome.reply)) {
    result.result = encode_reply(wrap_confidential(ts::space_of(*op), std::move(outcome.reply)));
  }
  result.completions = to_bft(std::move(outcome.completions));
  return result;
}

std::optional<bft::Bytes> TupleSpaceApp::execute_read_only(const bft::Request& request) {
  auto op = ts::decode_request(request.payload);
  if (!op || !ts::read_only(*op)) return std::nullopt;
  return encode_reply(
      wrap_confidential(ts::space_of(*op), access_.execute_read_only(context(request), *op)));
}

std::optional<bft::TimeUs> TupleSpaceApp::next_deadline_us() const {
  auto ms = engine_.next_deadline();
  if (!ms) return std::nullopt;
  if (*ms > std::numeric_limits<bft::TimeUs>::max() / 1000) return std::nullopt;
  return *ms * 1000;
}

void TupleSpaceApp::session_evicted(const bft::ClientKey& client) {
  // The session is gone from the client table: nobody is left to answer.
  (void)engine_.cancel_session(client.principal, client.session);
}

bft::Bytes TupleSpaceApp::snapshot_header() const {
  bft::Bytes out{kSnapshotMarker, kSnapshotVersion};
  out.insert(out.end(), settings_digest_.begin(), settings_digest_.end());
  return out;
}

bft::Bytes TupleSpaceApp::snapshot() const {
  bft::StateBytes pieces;
  snapshot_pieces(pieces);
  bft::Bytes out;
  pieces.copy_to(0, pieces.size(), out);
  return out;
}

void TupleSpaceApp::snapshot_pieces(bft::StateBytes& out) const {
  out.append(std::make_shared<const bft::Bytes>(snapshot_header()));
  engine_.snapshot_pieces([&out](ts::Engine::Piece piece) { out.append(std::move(piece)); });
}

bft::Digest TupleSpaceApp::digest() const {
  codec::Blake2b hasher;
  hasher.update(snapshot_header());
  engine_.hash_snapshot(hasher);
  return hasher.finish();
}

bool TupleSpaceApp::restore(bft::ByteView snapshot) {
  std::optional<bft::Digest> theirs;
  bft::ByteView engine_bytes = snapshot;
  if (!snapshot.empty() && snapshot[0] == kSnapshotMarker) {
    if (snapshot.size() < kSnapshotHeaderBytes || snapshot[1] != kSnapshotVersion) return false;
    bft::Digest d;
    std::copy_n(snapshot.begin() + 2, d.size(), d.begin());
    theirs = d;
    engine_bytes = snapshot.subspan(kSnapshotHeaderBytes);
  }
  const bool foreign = theirs && *theirs != settings_digest_;
  if (foreign && foreign_ == ForeignSettings::kRefuse) {
    conflict_ = theirs;
    return false;
  }
  auto restored = ts::Engine::restore(engine_bytes);
  if (!restored) return false;
  engine_ = std::move(*restored);
  engine_.set_limits(engine_limits_);
  policy_.forget();
  if (foreign) adopted_ = theirs;
  return true;
}

}  // namespace bastion::server
