#include "examples/red/standin.h"

namespace bastion::red {
namespace {

std::string joined(const std::set<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : " ") + id;
  return out;
}

}  // namespace

void StandIn::run(LineChannel& coordinator) {
  log_.record("start", "replica up, waiting for its coordinator");
  while (auto line = coordinator.receive()) {
    const auto m = parse(*line);
    if (!m) {
      log_.record("coord bad-message", "replica <- unreadable message '" + *line + "', ignored");
      continue;
    }
    if (auto answer = handle(*m)) coordinator.send(format(*answer));
  }
  coordinator_gone();
}

std::optional<Message> StandIn::handle(const Message& m) {
  const std::string received = "replica <- " + format(m);
  switch (m.kind) {
    case Kind::kMakeCopier:
      role_ = Role::kCopier;
      copiers_.clear();
      log_.record("role copier", received + ": now a copier");
      return std::nullopt;
    case Kind::kMakeWriter: {
      role_ = Role::kWriter;
      copiers_ = std::set<std::string>(m.ids.begin(), m.ids.end());
      const std::string list = joined(copiers_);
      log_.record("role writer" + (list.empty() ? "" : " " + list),
                  received + ": now the WRITER, copiers: " + (list.empty() ? "none" : list));
      return std::nullopt;
    }
    case Kind::kBooted: {
      // Whatever a real database does to let a replica in (send it a snapshot, ...) happens
      // before the ACK; the stand-in only counts it among its copiers.
      const std::string& id = m.ids.front();
      copiers_.insert(id);
      log_.record("ack " + id, received + ", answers ACK: " + id + " may join");
      return Message{Kind::kAck, {}};
    }
    case Kind::kFailed: {
      const std::string& id = m.ids.front();
      copiers_.erase(id);
      const std::string list = joined(copiers_);
      log_.record("failed " + id, received + ": copiers now " + (list.empty() ? "none" : list));
      return std::nullopt;
    }
    case Kind::kAck:
      log_.record("coord unexpected-ack", received + ": unexpected, ignored");
      return std::nullopt;
  }
  return std::nullopt;
}

void StandIn::coordinator_gone() {
  role_ = Role::kNone;
  copiers_.clear();
  log_.record("role none", "replica: its coordinator is gone; it is no longer writer or copier");
}

}  // namespace bastion::red
