// What a ReD node records, twice: for the verifier, a line `<epoch ms> <node> <event...>` in its
// log file (flushed at once, so a node killed with SIGKILL loses nothing it recorded); for the
// person watching, a timestamped sentence on standard output.
//
// The events the verifier reads (examples/red/verify.h) come from the replica stand-in:
//   start                    the node started (its replica considers itself nothing yet)
//   role copier              the replica considers itself a copier
//   role writer ID...        the replica considers itself the writer, with these copiers
//   role none                the replica stopped considering itself anything (its coordinator
//                            gave up: lease lost, or it stopped)
//   ack ID                   the writer's replica answered BOOTED ID with ACK (ID admitted)
//   failed ID                the replica was told that copier ID failed
//   killed                   appended by whoever killed the node (the demo, a test)
// Lines of other events (the coordinator's, prefixed `coord`) are for people and ignored.
//
// Thread-safety: record() may be called from any thread.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "codec/thread_annotations.h"

namespace bastion::red {

// Milliseconds since the Unix epoch, the clock every node's log uses (one machine in the demo).
std::int64_t now_ms();

class EventLog {
 public:
  // Appends to `path`. good() is false if it cannot be opened.
  EventLog(std::string node, const std::string& path, bool narrate);
  bool good() const {
    MutexLock lock(mu_);
    return file_.good();
  }
  const std::string& node() const { return node_; }

  // `event` goes to the file; `story` (when not empty) to standard output.
  void record(std::string_view event, std::string_view story);

 private:
  mutable Mutex mu_;
  std::string node_;
  std::ofstream file_ BASTION_GUARDED_BY(mu_);
  bool narrate_;
};

}  // namespace bastion::red
