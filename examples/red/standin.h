// A database replica's stand-in: the side of a ReD node that a real replicated database would
// implement. It keeps what the coordination layer tells it (its role, and as the writer its view
// of the copiers), answers BOOTED with ACK, and records every message it gets (event_log.h).
//
// When its coordinator goes away (the channel closes) it stops considering itself anything: a
// coordinator that can no longer renew the writer's lease closes the channel before another
// writer can be elected, and that is what keeps S1 true in practice (docs/red.md, "Timing").
#pragma once

#include <set>
#include <string>

#include "examples/red/event_log.h"
#include "examples/red/link.h"

namespace bastion::red {

enum class Role { kNone, kCopier, kWriter };

class StandIn {
 public:
  explicit StandIn(EventLog& log) : log_(log) {}

  // Serves the coordinator's messages until the channel closes.
  void run(LineChannel& coordinator);

  // One message; returns the answer to send, if any. (run() is this in a loop; tests call it.)
  std::optional<Message> handle(const Message& m);
  void coordinator_gone();

  Role role() const { return role_; }
  const std::set<std::string>& copiers() const { return copiers_; }

 private:
  EventLog& log_;
  Role role_ = Role::kNone;
  std::set<std::string> copiers_;
};

}  // namespace bastion::red
