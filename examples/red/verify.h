// Checks the ReD election's properties (thesis, section 3.2) on the nodes' logs (event_log.h):
//
//   S1  at most one replica considers itself the writer at any time;
//   S2  a replica considers itself a copier only if the writer allowed it (acknowledged its
//       BOOTED) or no replica considered itself the writer;
//   L1  unless there are no copiers, a writer is designated: whenever there are copiers and no
//       writer, a writer appears within `within`;
//   L2  a failed writer stops being considered the writer: the writer elected after it does
//       not count it among its copiers (and S1 keeps anyone else from being writer meanwhile);
//   L3  a failed copier stops being considered a copier by the writer: `within` after it
//       failed, the writer's copiers do not include it.
//
// A node failed when its log says `killed` (whoever killed it appends that). All logs must come
// from one clock (one machine, as in the demo and the tests). The liveness properties are judged
// within the run: a run that ends less than `within` after a failure cannot show them and fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/result.h"

namespace bastion::red {

struct LogLine {
  std::int64_t ms = 0;
  std::string node;
  std::vector<std::string> words;  // the event and its arguments
};

// Reads `<ms> <node> <event...>` lines; an unreadable line is an error naming file and line.
Result<std::vector<LogLine>, std::string> read_logs(const std::vector<std::string>& paths);

struct Verdict {
  std::string property;  // "S1", ...
  bool holds = false;
  std::string detail;
};

std::vector<Verdict> verify(std::vector<LogLine> lines, std::chrono::milliseconds within);

}  // namespace bastion::red
