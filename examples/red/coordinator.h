// A ReD coordinator: Algorithm 2 of the thesis (shared/reference, section 4.3.2) over a Bastion
// space whose policy is examples/policies/red.lua. It elects one writer among the database
// replicas, admits new replicas as copiers, and tells its own replica its role over the text
// protocol (link.h). docs/red.md walks through it.
//
// Tuples are ("REPLICA", C, state) with state STOPPED, COPIER or WRITER, C the coordinator's
// certificate name, all with a lease. onStart: wait until no tuple of a previous run under the
// same id is left (they expire); out STOPPED; while a WRITER tuple exists, wait
// (a blocking rd with a timeout, where the thesis polls) for the writer to insert our COPIER
// tuple; if there is no writer, insert it ourselves; then MAKECOPIER. copier(): renew our COPIER
// tuple, cas(("REPLICA", *, WRITER), ("REPLICA", C, WRITER)) until it wins; then remove our
// COPIER tuple, read every REPLICA tuple (rdAll), admit the STOPPED ones (BOOTED/ACK, out their
// COPIER tuple, in their STOPPED tuple) and send MAKEWRITER with the copiers. writer(): renew the
// WRITER tuple, rdAll again, send FAILED for copiers whose tuples vanished, admit new ones.
// A new state's tuple is inserted before the old one is removed, and rdAll's result is reduced
// to each replica's most advanced state (section 4.3.5).
//
// Timing (what makes S1 hold in practice). A lease of L granted by a renewal can end, measured
// in real time from the moment the renewal was sent, up to twice the clock skew bound early
// (agreed time runs ahead of a correct clock by less than that; docs/protocol.md, "Agreed
// time"). So the writer considers itself the writer only until
//     sent + hold,   hold = L - 2 * clock_skew_max - renew_period
// where `sent` is when it sent the last renewal (or the winning cas) that succeeded, and every
// call it makes as writer has that deadline as its timeout. When the deadline passes without a
// newer successful renewal, the coordinator closes its replica's channel (its replica stops
// considering itself the writer) and stops: before any other coordinator's cas can succeed.
// The renew period is also the margin for the local processing between the deadline and the
// replica's reaction. Timing::problem() refuses settings where hold is not above one period.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "examples/red/event_log.h"
#include "examples/red/link.h"

namespace bastion::red {

using Millis = std::chrono::milliseconds;

struct Timing {
  Millis lease{8000};  // of every tuple this coordinator inserts or renews
  Millis renew{1000};  // how often it renews and looks at the space
  Millis skew{2000};   // the cluster's clock_skew_max_ms
  Millis hold() const { return lease - 2 * skew - renew; }
  // Why these settings cannot keep S1, or nullopt.
  std::optional<std::string> problem() const;
};

enum class State { kStopped = 0, kCopier = 1, kWriter = 2 };

// rdAll's REPLICA tuples reduced to each replica's most advanced state (section 4.3.5: a replica
// may briefly have the tuples of two states). Tuples of any other shape are ignored.
std::map<std::string, State> replica_view(const std::vector<ts::Tuple>& tuples);

class Coordinator {
 public:
  Coordinator(Client& client, std::string space, Timing timing, LineChannel& replica,
              EventLog& log);

  // Runs the algorithm until this node must stop; returns why (lease lost, its tuple expired, a
  // policy denial that retrying cannot fix, the replica gone).
  std::string run();

 private:
  using Clock = std::chrono::steady_clock;
  using Stop = std::optional<std::string>;  // a reason to stop, or nullopt to go on

  Stop on_start();
  Stop copier();
  Stop writer();
  Stop deal_with_stopped(std::map<std::string, State>& view);
  Stop read_view(std::map<std::string, State>& view);
  Stop tell_replica(const Message& m);

  ts::Tuple mine(State s) const;
  Insert leased() const { return Insert{timing_.lease, {}, {}}; }
  // Call options for a call made as the writer: it must return by the deadline.
  std::optional<CallOptions> before_deadline() const;
  void pause() const;

  Client& client_;
  std::string space_;
  Timing timing_;
  LineChannel& replica_;
  EventLog& log_;
  std::string me_;
  Clock::time_point deadline_{};  // as the writer: consider ourselves writer until then
};

}  // namespace bastion::red
