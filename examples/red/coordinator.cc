#include "examples/red/coordinator.h"

#include <algorithm>
#include <thread>

#include "tuplespace/text.h"

namespace bastion::red {
namespace {

constexpr std::string_view kStateNames[] = {"STOPPED", "COPIER", "WRITER"};

std::string_view name(State s) { return kStateNames[static_cast<int>(s)]; }

std::optional<State> state_named(std::string_view text) {
  for (int i = 0; i < 3; ++i) {
    if (kStateNames[i] == text) return static_cast<State>(i);
  }
  return std::nullopt;
}

// Errors worth retrying: the service was out of reach, not against us.
bool transient(const Error& e) { return e.code == Errc::kUnavailable; }

std::string describe(std::string_view what, const Error& e) {
  return std::string(what) + ": " + std::string(errc_name(e.code)) + ": " + e.message;
}

ts::Template replica_template(const ts::Pattern& id, const ts::Pattern& state) {
  return {ts::Value("REPLICA"), id, state};
}

}  // namespace

std::optional<std::string> Timing::problem() const {
  if (renew.count() <= 0) return "the renew period must be positive";
  if (hold() <= renew) {
    return "a lease of " + std::to_string(lease.count()) + " ms is too short: it must exceed " +
           "twice the clock skew bound (" + std::to_string(skew.count()) +
           " ms) plus two renew periods (" + std::to_string(renew.count()) +
           " ms), or a writer could not give up its role before another is elected";
  }
  return std::nullopt;
}

std::map<std::string, State> replica_view(const std::vector<ts::Tuple>& tuples) {
  std::map<std::string, State> view;
  for (const ts::Tuple& t : tuples) {
    if (t.size() != 3 || !t[0].is(ts::Type::kString) || t[0].as_string() != "REPLICA" ||
        !t[1].is(ts::Type::kString) || !t[2].is(ts::Type::kString)) {
      continue;
    }
    const auto s = state_named(t[2].as_string());
    if (!s) continue;
    auto [it, inserted] = view.try_emplace(t[1].as_string(), *s);
    if (!inserted) it->second = std::max(it->second, *s);
  }
  return view;
}

Coordinator::Coordinator(Client& client, std::string space, Timing timing, LineChannel& replica,
                         EventLog& log)
    : client_(client),
      space_(std::move(space)),
      timing_(timing),
      replica_(replica),
      log_(log),
      me_(client.principal()) {}

ts::Tuple Coordinator::mine(State s) const {
  return {ts::Value("REPLICA"), ts::Value(me_), ts::Value(std::string(name(s)))};
}

void Coordinator::pause() const {
  std::this_thread::sleep_for(std::min(timing_.renew, Millis(200)));
}

std::optional<CallOptions> Coordinator::before_deadline() const {
  const auto left = std::chrono::duration_cast<Millis>(deadline_ - Clock::now());
  if (left.count() <= 0) return std::nullopt;
  return CallOptions{std::min(left, timing_.lease)};
}

Coordinator::Stop Coordinator::tell_replica(const Message& m) {
  if (!replica_.send(format(m))) return "the replica is gone";
  return std::nullopt;
}

std::string Coordinator::run() {
  Stop stop = on_start();
  if (!stop) stop = copier();
  if (!stop) stop = writer();
  log_.record("coord stop", "coordinator stops: " + *stop);
  return *stop;
}

// onStart(C), lines 1-8.
Coordinator::Stop Coordinator::on_start() {
  // A node restarted under the same id first lets the tuples of its previous run expire: its
  // old COPIER tuple would pass for an admission (its replica skipping BOOTED/ACK, so S2), its
  // old WRITER tuple for a writer that is gone. The simulator found this (docs/red.md).
  bool said = false;
  for (;;) {
    auto old = client_.rdp(space_, replica_template(ts::Value(me_), ts::Pattern::any()));
    if (old && !old->has_value()) break;
    if (!old && !transient(old.error())) return describe("rdp own tuples", old.error());
    if (old && !said) {
      log_.record("coord waits-for-old-tuples", "coordinator: tuples of a previous run (" +
                                                    ts::to_text(**old) + ") must expire first");
      said = true;
    }
    std::this_thread::sleep_for(timing_.renew);
  }
  for (;;) {
    auto r = client_.out(space_, mine(State::kStopped), leased());
    if (r) break;
    if (!transient(r.error())) return describe("out STOPPED", r.error());
    pause();
  }
  log_.record("coord stopped", "coordinator: out <REPLICA, " + me_ + ", STOPPED>");

  bool admitted = false;
  for (;;) {
    // Our STOPPED tuple must outlive the wait, which may last as long as the writer's lease.
    auto kept = client_.renew(space_, ts::exact(mine(State::kStopped)), timing_.lease);
    if (kept && !kept->has_value()) {
      if (auto again = client_.out(space_, mine(State::kStopped), leased()); !again) {
        if (!transient(again.error())) return describe("out STOPPED", again.error());
      }
    }
    auto writer = client_.rdp(space_, replica_template(ts::Pattern::any(), ts::Value("WRITER")));
    if (!writer) {
      if (!transient(writer.error())) return describe("rdp WRITER", writer.error());
      pause();
      continue;
    }
    if (!writer->has_value()) {
      // No valid WRITER tuple: either there never was a writer or it failed before admitting
      // us. The policy lets us make ourselves a copier only while no writer exists; if one won
      // the election in the meantime, it is refused and we wait for that writer instead.
      auto r = client_.out(space_, mine(State::kCopier), leased());
      if (r) break;
      if (!transient(r.error()) && r.error().code != Errc::kDenied) {
        return describe("out COPIER", r.error());
      }
      continue;
    }
    if (!admitted) {
      log_.record("coord waits", "coordinator: a writer exists (" + ts::to_text(**writer) +
                                     "), waiting to be admitted");
      admitted = true;  // say it once
    }
    auto copier = client_.rd(space_, ts::exact(mine(State::kCopier)), timing_.renew);
    if (copier && copier->has_value()) break;
    if (!copier && !transient(copier.error())) return describe("rd COPIER", copier.error());
  }
  // New state first, then the old one goes (4.3.5); the writer may have removed it already.
  (void)client_.inp(space_, ts::exact(mine(State::kStopped)));
  log_.record("coord copier", "coordinator: <REPLICA, " + me_ + ", COPIER> exists; MAKECOPIER");
  return tell_replica(Message{Kind::kMakeCopier, {}});
}

// copier(), lines 9-17 up to the writer loop.
Coordinator::Stop Coordinator::copier() {
  const auto any_writer = replica_template(ts::Pattern::any(), ts::Value("WRITER"));
  for (auto next = Clock::now();; next += timing_.renew) {
    std::this_thread::sleep_until(next);
    auto kept = client_.renew(space_, ts::exact(mine(State::kCopier)), timing_.lease);
    if (!kept) {
      if (!transient(kept.error())) return describe("renew COPIER", kept.error());
      continue;
    }
    if (!kept->has_value()) {
      // Our lease ran out (we could not reach the service in time): the writer has been told
      // we failed, so we must not go on as a copier.
      return std::string("its COPIER tuple expired");
    }
    const auto sent = Clock::now();
    auto won = client_.cas(space_, any_writer, mine(State::kWriter), leased());
    if (!won) {
      if (!transient(won.error())) return describe("cas WRITER", won.error());
      continue;
    }
    if (won->inserted) {
      deadline_ = sent + timing_.hold();
      log_.record("coord elected", "coordinator: cas won, <REPLICA, " + me_ + ", WRITER> inserted");
      return std::nullopt;
    }
  }
}

Coordinator::Stop Coordinator::read_view(std::map<std::string, State>& view) {
  for (;;) {
    const auto call = before_deadline();
    if (!call) return std::string("lease lost: no renewal succeeded in time");
    auto all =
        client_.rd_all(space_, replica_template(ts::Pattern::any(), ts::Pattern::any()), 0, *call);
    if (all) {
      view = replica_view(*all);
      return std::nullopt;
    }
    if (!transient(all.error())) return describe("rdAll", all.error());
  }
}

// dealWithStopped(R), lines 28-32.
Coordinator::Stop Coordinator::deal_with_stopped(std::map<std::string, State>& view) {
  for (auto& [id, state] : view) {
    if (state != State::kStopped || id == me_) continue;
    if (!before_deadline()) return std::string("lease lost: no renewal succeeded in time");
    if (Stop s = tell_replica(Message{Kind::kBooted, {id}})) return s;
    const auto left = std::chrono::duration_cast<Millis>(deadline_ - Clock::now());
    auto ack = replica_.receive(std::max(left, Millis(1)));
    if (!ack || parse(*ack) != Message{Kind::kAck, {}}) {
      return std::string("the replica did not answer BOOTED ") + id + " with ACK";
    }
    const auto call = before_deadline();
    if (!call) return std::string("lease lost: no renewal succeeded in time");
    const ts::Tuple copier = {ts::Value("REPLICA"), ts::Value(id), ts::Value("COPIER")};
    auto r = client_.out(space_, copier, leased(), *call);
    if (!r) {
      // Not admitted after all (its STOPPED tuple expired, or the service was out of reach):
      // take it back from the replica's copiers; it is tried again while its tuple lasts.
      if (Stop s = tell_replica(Message{Kind::kFailed, {id}})) return s;
      continue;
    }
    const ts::Tuple stopped = {ts::Value("REPLICA"), ts::Value(id), ts::Value("STOPPED")};
    (void)client_.inp(space_, ts::exact(stopped), *call);
    state = State::kCopier;
    log_.record("coord admitted " + id, "coordinator: BOOTED/ACK, " + id + " is now a copier");
  }
  return std::nullopt;
}

// Lines 13-17, then writer(R), lines 18-27.
Coordinator::Stop Coordinator::writer() {
  if (const auto call = before_deadline()) {
    (void)client_.inp(space_, ts::exact(mine(State::kCopier)), *call);
  }
  std::map<std::string, State> view;
  if (Stop s = read_view(view)) return s;
  if (Stop s = deal_with_stopped(view)) return s;
  Message make_writer{Kind::kMakeWriter, {}};
  for (const auto& [id, state] : view) {
    if (id != me_ && state == State::kCopier) make_writer.ids.push_back(id);
  }
  if (!before_deadline()) return std::string("lease lost: no renewal succeeded in time");
  if (Stop s = tell_replica(make_writer)) return s;

  for (;;) {
    const auto sent = Clock::now();
    const auto call = before_deadline();
    if (!call) return std::string("lease lost: no renewal succeeded in time");
    auto kept = client_.renew(space_, ts::exact(mine(State::kWriter)), timing_.lease, *call);
    if (kept && !kept->has_value()) return std::string("lease lost: its WRITER tuple expired");
    if (kept) {
      deadline_ = sent + timing_.hold();
    } else if (!transient(kept.error())) {
      return describe("renew WRITER", kept.error());
    }
    std::map<std::string, State> now;
    if (Stop s = read_view(now)) return s;
    for (const auto& [id, state] : view) {
      if (id == me_ || state != State::kCopier || now.contains(id)) continue;
      if (!before_deadline()) return std::string("lease lost: no renewal succeeded in time");
      log_.record("coord failed " + id, "coordinator: " + id + "'s tuple expired; FAILED " + id);
      if (Stop s = tell_replica(Message{Kind::kFailed, {id}})) return s;
    }
    view = std::move(now);
    if (Stop s = deal_with_stopped(view)) return s;
    std::this_thread::sleep_until(std::min(sent + timing_.renew, deadline_));
  }
}

}  // namespace bastion::red
