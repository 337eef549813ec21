// Closed-loop drivers; see driver.h.
#include "bench/cluster/driver.h"

#include <future>
#include <utility>

namespace bastion::bench {
namespace {

struct InFlight {
  Lane lane;
  Step step;
  Clock::time_point sent_at;
  std::future<Expected<ts::Reply>> reply;
  bool active = false;
};

bool ready(const std::future<Expected<ts::Reply>>& reply) {
  // A zero wait checks the shared state without sleeping.
  return reply.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace

void Recorder::merge(const Recorder& other) {
  for (std::size_t k = 0; k < kStepKinds; ++k) {
    latency_ns[k].insert(latency_ns[k].end(), other.latency_ns[k].begin(),
                         other.latency_ns[k].end());
  }
  for (const auto& [name, count] : other.errors) errors[name] += count;
  refills += other.refills;
  sent += other.sent;
}

Driver::Driver(std::vector<Lane> lanes, const Window& window, CallOptions call)
    : lanes_(std::move(lanes)), window_(&window), call_(call) {}

void Driver::run() {
  std::vector<InFlight> slots(lanes_.size());
  auto send = [this](InFlight& slot) {
    slot.step = slot.lane.state->next();
    slot.sent_at = Clock::now();
    slot.reply = slot.lane.client->execute_async(slot.step.request, call_);
    slot.active = true;
    ++recorder_.sent;
  };
  std::size_t active = 0;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    slots[i].lane = lanes_[i];
    send(slots[i]);
    ++active;
  }

  auto finish = [&](InFlight& slot) {
    const Clock::time_point now = Clock::now();
    const StepResult result = slot.lane.state->finish(slot.step, slot.reply.get());
    const Clock::time_point end = window_->end();
    if (now >= window_->start() && now < end) {
      if (!result.ok) {
        ++recorder_.errors[result.error];
      } else if (slot.step.kind == StepKind::kRefill) {
        ++recorder_.refills;
      } else {
        const auto ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.sent_at).count();
        recorder_.latency_ns[static_cast<std::size_t>(slot.step.kind)].push_back(
            static_cast<std::uint64_t>(ns));
      }
    }
    if (now < end) {
      send(slot);
    } else {
      slot.active = false;
      --active;
    }
  };

  while (active > 0) {
    bool handled = false;
    InFlight* oldest = nullptr;
    for (InFlight& slot : slots) {
      if (!slot.active) continue;
      if (ready(slot.reply)) {
        finish(slot);
        handled = true;
      } else if (oldest == nullptr || slot.sent_at < oldest->sent_at) {
        oldest = &slot;
      }
    }
    if (!handled && oldest != nullptr) oldest->reply.wait();
  }
}

}  // namespace bastion::bench
