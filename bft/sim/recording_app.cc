// The recording StateMachine decorator; see recording_app.h.
#include "bft/sim/recording_app.h"

#include <cstring>

namespace bastion::bft::sim {
namespace {

void append(Bytes& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
void append_u64(Bytes& out, std::uint64_t v) { append(out, &v, sizeof v); }
void append_bytes(Bytes& out, const Bytes& b) {
  append_u64(out, b.size());
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

void RecordingApp::feed(const std::vector<Completion>& completions) {
  Bytes& t = transcripts_.back();
  for (const Completion& c : completions) {
    append_bytes(t, Bytes(c.client.principal.begin(), c.client.principal.end()));
    append_u64(t, c.client.session);
    append_u64(t, c.number);
    append_bytes(t, c.result);
  }
}

std::vector<Completion> RecordingApp::begin_batch(TimeUs now_us) {
  batches_.push_back(AppBatch{now_us, {}, {}});
  transcripts_.emplace_back();
  append_u64(transcripts_.back(), static_cast<std::uint64_t>(now_us));
  auto completions = inner_->begin_batch(now_us);
  feed(completions);
  return completions;
}

ExecuteResult RecordingApp::execute(const Request& request) {
  if (batches_.empty()) {
    ++executes_outside_batch_;
    batches_.push_back(AppBatch{-1, {}, {}});
    transcripts_.emplace_back();
  }
  const Digest d = request_digest(request);
  batches_.back().requests.push_back(ExecutedRequest{request.client, request.number, d});
  auto r = inner_->execute(request);
  Bytes& t = transcripts_.back();
  append(t, d.data(), d.size());
  append_u64(t, r.result ? 1 : 0);
  if (r.result) append_bytes(t, *r.result);
  feed(r.completions);
  return r;
}

std::optional<Bytes> RecordingApp::execute_read_only(const Request& request) {
  ++read_only_executions_;
  return inner_->execute_read_only(request);
}

bool RecordingApp::restore(ByteView snapshot) {
  const bool ok = inner_->restore(snapshot);
  if (ok) restored_ = true;
  return ok;
}

std::vector<AppBatch> RecordingApp::take_batches() {
  for (std::size_t i = 0; i < batches_.size(); ++i) {
    batches_[i].fingerprint = codec::blake2b(transcripts_[i]);
  }
  transcripts_.clear();
  return std::exchange(batches_, {});
}

}  // namespace bastion::bft::sim
