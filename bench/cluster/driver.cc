// Closed-loop drivers; see driver.h.
#include "bench/cluster/driver.h"

#include <future>
#include <utility>

namespace bastion::bench {

void Recorder::merge(const Recorder& other) {
  for (std::size_t k = 0; k < kStepKinds; ++k) {
    latency_ns[k].insert(latency_ns[k].end(), other.latency_ns[k].begin(),
                         other.latency_ns[k].end());
  }
  for (const auto& [name, count] : other.errors) errors[name] += count;
  refills += other.refills;
  sent += other.sent;
  acked_writes.insert(acked_writes.end(), other.acked_writes.begin(), other.acked_writes.end());
}

Driver::Driver(Client& client, std::vector<ClientState*> states, const Window& window,
               CallOptions call)
    : client_(&client), window_(&window), call_(call) {
  lanes_.resize(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) lanes_[i].state = states[i];
}

void Driver::start() {
  {
    MutexLock lock(mutex_);
    running_ = lanes_.size();
  }
  // Before the first call: from then on only the I/O thread touches the recorder.
  recorder_.sent = lanes_.size();
  for (std::size_t i = 0; i < lanes_.size(); ++i) send(i);
}

void Driver::send(std::size_t lane) {
  Lane& l = lanes_[lane];
  l.step = l.state->next();
  l.sent_at = Clock::now();
  client_->execute_then(
      l.step.request, [this, lane](Expected<ts::Reply> reply) { on_reply(lane, std::move(reply)); },
      call_);
}

void Driver::on_reply(std::size_t lane, Expected<ts::Reply> reply) {
  const Clock::time_point now = Clock::now();
  Lane& l = lanes_[lane];
  const StepResult result = l.state->finish(l.step, std::move(reply));
  const Clock::time_point end = window_->end();
  if (result.ok && (l.step.kind == StepKind::kOut || l.step.kind == StepKind::kCas)) {
    recorder_.acked_writes.emplace_back(l.state->client(), l.step.key);
  }
  if (now >= window_->start() && now < end) {
    if (!result.ok) {
      ++recorder_.errors[result.error];
    } else if (l.step.kind == StepKind::kRefill) {
      ++recorder_.refills;
    } else {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - l.sent_at).count();
      recorder_.latency_ns[static_cast<std::size_t>(l.step.kind)].push_back(
          static_cast<std::uint64_t>(ns));
    }
  }
  if (now < end) {
    ++recorder_.sent;
    send(lane);
    return;
  }
  MutexLock lock(mutex_);
  if (--running_ == 0) stopped_.notify_all();
}

void Driver::wait() {
  MutexLock lock(mutex_);
  while (running_ != 0) stopped_.wait(lock);
}

}  // namespace bastion::bench
