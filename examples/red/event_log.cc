#include "examples/red/event_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace bastion::red {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

EventLog::EventLog(std::string node, const std::string& path, bool narrate)
    : node_(std::move(node)), file_(path, std::ios::app), narrate_(narrate) {}

void EventLog::record(std::string_view event, std::string_view story) {
  const std::int64_t ms = now_ms();
  MutexLock lock(mu_);
  file_ << ms << ' ' << node_ << ' ' << event << std::endl;  // flushed: survives SIGKILL
  if (!narrate_ || story.empty()) return;
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&secs, &local);
  char clock[16];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03d", local.tm_hour, local.tm_min,
                local.tm_sec, static_cast<int>(ms % 1000));
  std::cout << clock << "  " << node_ << "  " << story << std::endl;
}

}  // namespace bastion::red
