// The ReD election as a simulator application; see red_app.h.
#include "sim/red_app.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "codec/codec.h"
#include "sim/red_policy.h"
#include "sim/ts_app.h"
#include "sim/ts_model.h"

namespace bastion::sim {

using bft::TimeUs;
using bft::sim::WorkloadContext;
namespace {

constexpr const char* kSpace = "red";
constexpr TimeUs kNever = std::numeric_limits<TimeUs>::max();
constexpr TimeUs kRenewUs = 200'000;
constexpr TimeUs kIdleUs = 100'000;  // the sleep of a node that has not started or is down

enum class State { kStopped = 0, kCopier = 1, kWriter = 2 };
constexpr const char* kStateNames[] = {"STOPPED", "COPIER", "WRITER"};

ts::Tuple replica(const std::string& id, State s) {
  return {ts::Value("REPLICA"), ts::Value(id), ts::Value(kStateNames[static_cast<int>(s)])};
}
ts::Template any_writer() {
  return {ts::Value("REPLICA"), ts::Pattern::any(), ts::Value("WRITER")};
}
ts::Template any_replica() {
  return {ts::Value("REPLICA"), ts::Pattern::any(), ts::Pattern::any()};
}

// rdAll's tuples reduced to each replica's most advanced state (thesis, section 4.3.5).
std::map<std::string, State> reduce(const std::vector<ts::Tuple>& tuples) {
  std::map<std::string, State> view;
  for (const ts::Tuple& t : tuples) {
    if (t.size() != 3 || !t[1].is(ts::Type::kString) || !t[2].is(ts::Type::kString)) continue;
    for (int s = 0; s < 3; ++s) {
      if (t[2].as_string() != kStateNames[s]) continue;
      auto [it, fresh] = view.try_emplace(t[1].as_string(), static_cast<State>(s));
      if (!fresh) it->second = std::max(it->second, static_cast<State>(s));
    }
  }
  return view;
}

WorkloadOp op(const ts::Request& r) { return {ts::encode_request(r), false}; }

// The policy without its comment lines: the simulator's requests are at most 4 KiB.
std::string policy_without_comments() {
  std::string out;
  std::size_t at = 0;
  while (at < kRedPolicy.size()) {
    std::size_t end = kRedPolicy.find('\n', at);
    if (end == std::string_view::npos) end = kRedPolicy.size();
    const std::string_view line = kRedPolicy.substr(at, end - at);
    const std::size_t text = line.find_first_not_of(" \t");
    if (text != std::string_view::npos && line.substr(text, 2) != "--") {
      out.append(line);
      out += '\n';
    }
    at = end + 1;
  }
  return out;
}

// The steps of Algorithm 2; each issues one operation and is advanced by its result.
enum class Step {
  kCreateSpace,       // client 0, first: the space with its policy
  kDown,              // not started yet, crashed, or gave up: sleeps
  kOwnTuplesGone,     // rdp (REPLICA, me, *): a new incarnation waits until the tuples of the
                      // previous one expired (its COPIER tuple would pass for an admission)
  kBootSleep,         // then looks again
  kAnnounce,          // out STOPPED                                       (line 1)
  kKeepStopped,       // renew STOPPED while waiting
  kLookForWriter,     // rdp WRITER                                        (line 2)
  kMakeSelfCopier,    // no writer: out COPIER for itself                  (line 5)
  kWaitAdmitted,      // rd COPIER with a timeout of one period            (line 3)
  kDropStopped,       // in STOPPED                                        (line 6)
  kCopierSleep,       //                                                   (line 10)
  kRenewCopier,       //                                                   (line 11)
  kCas,               // cas WRITER                                        (line 12)
  kDropCopier,        // in COPIER                                         (line 13)
  kReadView,          // rdAll                                             (lines 14, 20)
  kAdmit,             // out COPIER for a STOPPED one, after its ACK       (line 31)
  kAdmitDropStopped,  // in its STOPPED                                  (line 32)
  kWriterSleep,       //                                                   (line 27)
  kRenewWriter,       //                                                   (line 19)
};

struct Term {
  std::string node;
  TimeUs start = 0;
  TimeUs end = 0;  // the deadline, or the crash if earlier
};

struct CopierStart {
  std::string node;
  TimeUs boot = 0;     // when this incarnation announced itself
  TimeUs invoke = 0;   // of the operation that made it a copier
  TimeUs observe = 0;  // when it learned it was one
  bool self = false;   // it inserted its COPIER tuple itself (no writer), else the writer did
};

struct Node {
  std::string id;
  Step step = Step::kDown;
  TimeUs start_at = 0;  // the next incarnation boots then (kNever: never again)
  TimeUs crash_at = kNever;
  TimeUs boot = 0;
  TimeUs sent = 0;  // invocation time of the operation in flight
  TimeUs deadline = 0;
  std::optional<std::size_t> term;  // index in terms_ while writer
  std::map<std::string, State> view;
  std::vector<std::string> to_admit;
};

class RedWorkload final : public Workload {
 public:
  RedWorkload(Rng rng, std::uint32_t clients) : rng_(rng), correct_(clients > 1 ? clients - 1 : 1) {
    for (std::uint32_t i = 0; i < correct_; ++i) {
      Node n;
      n.id = ts_sim_principal(i);
      // The admin (0) creates the space; everyone boots within the first two seconds.
      n.step = i == 0 ? Step::kCreateSpace : Step::kDown;
      n.start_at = static_cast<TimeUs>(rng_.uniform(0, 2'000'000));
      nodes_.push_back(std::move(n));
    }
  }

  void attach(const WorkloadContext& context) override {
    ctx_ = context;
    lease_us_ = 2 * ctx_.clock_skew_max_us + 10 * kRenewUs;
    hold_us_ = lease_us_ - 2 * ctx_.clock_skew_max_us - kRenewUs;
  }

  WorkloadOp next_op(std::uint32_t client) override {
    Node& n = nodes_.at(client);
    const TimeUs now = ctx_.now();
    n.sent = now;
    check_crash(n, now);
    if (n.step == Step::kDown && now >= n.start_at && space_created_) boot(n, now);
    if (n.term && now >= n.deadline) give_up(n);
    switch (n.step) {
      case Step::kCreateSpace: {
        ts::SpaceOptions options;
        options.policy = policy_without_comments();
        return op(ts::SpaceCreate{kSpace, std::move(options)});
      }
      case Step::kDown:
        return sleep(n, kIdleUs);
      case Step::kOwnTuplesGone:
        return op(ts::Rdp{kSpace, {ts::Value("REPLICA"), ts::Value(n.id), ts::Pattern::any()}});
      case Step::kBootSleep:
        return sleep(n, kRenewUs);
      case Step::kAnnounce:
        return op(ts::Out{kSpace, leased(replica(n.id, State::kStopped))});
      case Step::kKeepStopped:
        return op(ts::Renew{kSpace, ts::exact(replica(n.id, State::kStopped)), lease_ms()});
      case Step::kLookForWriter:
        return op(ts::Rdp{kSpace, any_writer()});
      case Step::kMakeSelfCopier:
        return op(ts::Out{kSpace, leased(replica(n.id, State::kCopier))});
      case Step::kWaitAdmitted:
        return op(ts::Rd{kSpace, ts::exact(replica(n.id, State::kCopier)), ms(kRenewUs)});
      case Step::kDropStopped:
        return op(ts::Inp{kSpace, ts::exact(replica(n.id, State::kStopped))});
      case Step::kCopierSleep:
        return sleep(n, kRenewUs);
      case Step::kRenewCopier:
        return op(ts::Renew{kSpace, ts::exact(replica(n.id, State::kCopier)), lease_ms()});
      case Step::kCas:
        return op(ts::Cas{kSpace, any_writer(), leased(replica(n.id, State::kWriter))});
      case Step::kDropCopier:
        return op(ts::Inp{kSpace, ts::exact(replica(n.id, State::kCopier))});
      case Step::kReadView:
        return op(ts::RdAll{kSpace, any_replica(), 0});
      case Step::kAdmit:
        // The writer's replica answered BOOTED with ACK just now (the stand-in always does).
        acks_[n.to_admit.back()].push_back(now);
        return op(ts::Out{kSpace, leased(replica(n.to_admit.back(), State::kCopier))});
      case Step::kAdmitDropStopped:
        return op(ts::Inp{kSpace, ts::exact(replica(n.to_admit.back(), State::kStopped))});
      case Step::kWriterSleep:
        // Now and then the writer's process stalls (a long pause, a swapped-out machine) for
        // up to two leases: its deadline passes meanwhile, and the others elect a new writer.
        if (rng_.chance(0.02)) {
          return sleep(
              n, static_cast<TimeUs>(rng_.uniform(static_cast<std::uint64_t>(lease_us_ / 2),
                                                  static_cast<std::uint64_t>(2 * lease_us_))));
        }
        return sleep(n, std::min(kRenewUs, std::max<TimeUs>(n.deadline - now, 1'000)));
      case Step::kRenewWriter:
        return op(ts::Renew{kSpace, ts::exact(replica(n.id, State::kWriter)), lease_ms()});
    }
    return sleep(n, kIdleUs);
  }

  void observe(std::uint32_t client, const WorkloadOp& /*op*/, const Bytes& result) override {
    Node& n = nodes_.at(client);
    const TimeUs now = ctx_.now();
    auto decoded = codec::decode<ts::Reply>(result);
    if (!decoded) return;
    const ts::Reply& reply = *decoded;
    const ts::ErrorCode code = ts::code_of(reply);
    check_crash(n, now);
    // A writer whose deadline passed has given up, whatever this result says (its calls have the
    // deadline as their timeout).
    if (n.term && now >= n.deadline) give_up(n);
    switch (n.step) {
      case Step::kCreateSpace:
        if (code == ts::ErrorCode::kOk || code == ts::ErrorCode::kSpaceExists) {
          space_created_ = true;
          n.step = Step::kDown;
        }
        return;
      case Step::kDown:
        return;
      case Step::kOwnTuplesGone:
        if (code == ts::ErrorCode::kNotFound) n.step = Step::kAnnounce;
        if (std::holds_alternative<ts::Found>(reply)) n.step = Step::kBootSleep;
        return;
      case Step::kBootSleep:
        n.step = Step::kOwnTuplesGone;
        return;
      case Step::kAnnounce:
        if (code == ts::ErrorCode::kOk) n.step = Step::kLookForWriter;
        return;
      case Step::kKeepStopped:
        n.step = code == ts::ErrorCode::kNotFound ? Step::kAnnounce : Step::kLookForWriter;
        return;
      case Step::kLookForWriter:
        if (code == ts::ErrorCode::kNotFound) {
          n.step = Step::kMakeSelfCopier;
        } else if (std::holds_alternative<ts::Found>(reply)) {
          n.step = Step::kWaitAdmitted;
        } else {
          n.step = Step::kKeepStopped;
        }
        return;
      case Step::kMakeSelfCopier:
        if (code == ts::ErrorCode::kOk) {
          copiers_.push_back(CopierStart{n.id, n.boot, n.sent, now, true});
          n.step = Step::kDropStopped;
        } else {
          n.step = Step::kKeepStopped;  // a writer was elected meanwhile: wait for it
        }
        return;
      case Step::kWaitAdmitted:
        if (std::holds_alternative<ts::Found>(reply)) {
          copiers_.push_back(CopierStart{n.id, n.boot, n.sent, now, false});
          n.step = Step::kDropStopped;
        } else {
          n.step = Step::kKeepStopped;
        }
        return;
      case Step::kDropStopped:
        n.step = Step::kCopierSleep;
        return;
      case Step::kCopierSleep:
        n.step = Step::kRenewCopier;
        return;
      case Step::kRenewCopier:
        if (code == ts::ErrorCode::kNotFound) {
          go_down(n, now);  // its lease ran out: the writer counts it failed
        } else {
          n.step = code == ts::ErrorCode::kOk ? Step::kCas : Step::kCopierSleep;
        }
        return;
      case Step::kCas:
        if (const auto* cas = std::get_if<ts::CasResult>(&reply); cas != nullptr && cas->inserted) {
          n.deadline = n.sent + hold_us_;
          n.term = terms_.size();
          terms_.push_back(Term{n.id, now, n.deadline});
          n.view.clear();
          n.step = Step::kDropCopier;
        } else {
          n.step = Step::kCopierSleep;
        }
        return;
      case Step::kDropCopier:
        n.step = Step::kReadView;
        return;
      case Step::kReadView:
        if (const auto* all = std::get_if<ts::FoundAll>(&reply)) {
          n.view = reduce(all->tuples);
          n.to_admit.clear();
          for (const auto& [id, state] : n.view) {
            if (id != n.id && state == State::kStopped) n.to_admit.push_back(id);
          }
          n.step = n.to_admit.empty() ? Step::kWriterSleep : Step::kAdmit;
        }
        return;
      case Step::kAdmit:
        if (code == ts::ErrorCode::kOk) {
          n.step = Step::kAdmitDropStopped;
        } else {
          next_admission(n);  // not admitted after all (its STOPPED tuple expired)
        }
        return;
      case Step::kAdmitDropStopped:
        next_admission(n);
        return;
      case Step::kWriterSleep:
        n.step = Step::kRenewWriter;
        return;
      case Step::kRenewWriter:
        if (code == ts::ErrorCode::kOk) {
          n.deadline = n.sent + hold_us_;
          terms_[*n.term].end = n.deadline;
          n.step = Step::kReadView;
        } else if (code == ts::ErrorCode::kNotFound) {
          terms_[*n.term].end = std::min(terms_[*n.term].end, now);
          go_down(n, now);
        } else {
          n.step = Step::kReadView;
        }
        return;
    }
  }

  std::vector<Bytes> equivocation(std::uint32_t client) override {
    (void)client;
    // A Byzantine coordinator (a stranger to the election) tries to take the writer's role from
    // a correct node or to remove its tuples: the policy denies every one of these.
    const std::string victim = nodes_.at(rng_.index(nodes_.size())).id;
    const auto lease = lease_ms();
    std::vector<Bytes> attempts = {
        ts::encode_request(
            ts::Out{kSpace, ts::TupleSpec{replica(victim, State::kWriter), lease, {}, {}}}),
        ts::encode_request(ts::Inp{kSpace, ts::exact(replica(victim, State::kWriter))}),
        ts::encode_request(ts::Renew{kSpace, ts::exact(replica(victim, State::kWriter)), 60'000}),
        ts::encode_request(ts::Cas{kSpace, any_writer(),
                                   ts::TupleSpec{replica(victim, State::kWriter), lease, {}, {}}}),
        ts::encode_request(
            ts::Out{kSpace, ts::TupleSpec{replica(victim, State::kCopier), lease, {}, {}}}),
        ts::encode_request(ts::Inp{kSpace, ts::exact(replica(victim, State::kCopier))}),
    };
    std::vector<Bytes> chosen;
    const std::size_t k = 1 + rng_.index(2);
    for (std::size_t i = 0; i < k; ++i) chosen.push_back(rng_.pick(attempts));
    return chosen;
  }

  WorkloadOp harmless(std::uint32_t /*client*/, bool blocking) override {
    if (!blocking) return op(ts::Rdp{kSpace, any_writer()});
    const ts::Template nobody{ts::Value("TICK"), ts::Value("byzantine")};
    return op(ts::Rd{kSpace, nobody, rng_.chance(0.3) ? 0 : rng_.uniform(5'000, 60'000)});
  }

  std::vector<std::string> problems() const override {
    std::vector<std::string> out;
    std::vector<Term> sorted = terms_;
    std::sort(sorted.begin(), sorted.end(),
              [](const Term& a, const Term& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
      const Term& a = sorted[i - 1];
      const Term& b = sorted[i];
      if (b.start < a.end) {
        out.push_back("red S1: " + b.node + " became the writer at t=" + std::to_string(b.start) +
                      "us while " + a.node + " could still consider itself the writer (until t=" +
                      std::to_string(a.end) + "us)");
      }
    }
    for (const CopierStart& c : copiers_) {
      if (c.self) {
        for (const Term& t : terms_) {
          if (t.node != c.node && t.start <= c.invoke && c.observe <= t.end) {
            out.push_back("red S2: " + c.node +
                          " made itself a copier during t=" + std::to_string(c.invoke) + ".." +
                          std::to_string(c.observe) + "us while " + t.node + " was the writer");
          }
        }
        continue;
      }
      const auto it = acks_.find(c.node);
      const bool acked = it != acks_.end() &&
                         std::any_of(it->second.begin(), it->second.end(),
                                     [&](TimeUs at) { return at >= c.boot && at <= c.observe; });
      if (!acked) {
        out.push_back("red S2: " + c.node + " found its COPIER tuple at t=" +
                      std::to_string(c.observe) + "us without a writer having acknowledged it");
      }
    }
    return out;
  }

 private:
  WorkloadOp sleep(const Node& n, TimeUs us) {
    const ts::Template nothing{ts::Value("TICK"), ts::Value(n.id)};
    return op(ts::Rd{kSpace, nothing, ms(us)});
  }
  static std::uint64_t ms(TimeUs us) {
    return static_cast<std::uint64_t>(std::max<TimeUs>(us / 1000, 1));
  }
  std::uint64_t lease_ms() const { return ms(lease_us_); }
  ts::TupleSpec leased(ts::Tuple t) const {
    return ts::TupleSpec{std::move(t), lease_ms(), {}, {}};
  }

  void boot(Node& n, TimeUs now) {
    n.step = Step::kOwnTuplesGone;
    n.boot = now;
    n.term.reset();
    n.view.clear();
    n.to_admit.clear();
    // Some incarnations crash (SIGKILL: nothing more from them) within a few seconds.
    n.crash_at =
        rng_.chance(0.35) ? now + static_cast<TimeUs>(rng_.uniform(500'000, 6'000'000)) : kNever;
  }

  // Down until a later incarnation boots (or for good).
  void go_down(Node& n, TimeUs now) {
    n.step = Step::kDown;
    n.term.reset();
    n.start_at =
        rng_.chance(0.6) ? now + static_cast<TimeUs>(rng_.uniform(300'000, 3'000'000)) : kNever;
  }

  void check_crash(Node& n, TimeUs now) {
    if (n.step == Step::kDown || n.step == Step::kCreateSpace || now < n.crash_at) return;
    if (n.term) terms_[*n.term].end = std::min(terms_[*n.term].end, n.crash_at);
    go_down(n, n.crash_at);
  }

  // The deadline passed without a newer successful renewal: the coordinator closed its
  // replica's channel at the deadline and stopped.
  void give_up(Node& n) { go_down(n, n.deadline); }

  void next_admission(Node& n) {
    n.to_admit.pop_back();
    n.step = n.to_admit.empty() ? Step::kWriterSleep : Step::kAdmit;
  }

  Rng rng_;
  std::uint32_t correct_;
  WorkloadContext ctx_;
  TimeUs lease_us_ = 0;
  TimeUs hold_us_ = 0;
  bool space_created_ = false;
  std::vector<Node> nodes_;
  std::vector<Term> terms_;
  std::vector<CopierStart> copiers_;
  std::map<std::string, std::vector<TimeUs>> acks_;  // node -> when a writer ACKed its BOOTED
};

// Every result is possible: the election's properties are checked by the workload itself.
class AnyModel final : public SequentialModel {
 public:
  State initial() const override { return {}; }
  std::string partition(const Bytes&) const override { return kSpace; }
  std::optional<State> step(const State& s, const Bytes&,
                            const std::optional<Bytes>&) const override {
    return s;
  }
  bool is_read(const Bytes&) const override { return true; }
  std::string describe_op(const Bytes& op) const override { return ts_.describe_op(op); }
  std::string describe_result(const Bytes& result) const override {
    return ts_.describe_result(result);
  }
  std::string describe_state(const State&) const override { return "-"; }

 private:
  TsModel ts_;  // for the descriptions
};

}  // namespace

AppPlugin red_app_plugin() {
  AppPlugin p;
  p.name = "red";
  p.make_state_machine = make_ts_state_machine;
  p.make_workload = [](Rng rng, std::uint32_t clients) {
    return std::make_unique<RedWorkload>(rng, clients);
  };
  p.make_model = [] { return std::make_unique<AnyModel>(); };
  return p;
}

}  // namespace bastion::sim
