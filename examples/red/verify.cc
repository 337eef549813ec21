#include "examples/red/verify.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace bastion::red {
namespace {

constexpr std::int64_t kForever = INT64_MAX;

// One node's replica as the logs show it.
struct Node {
  std::string role = "none";  // none, copier, writer; "dead" once killed
  std::set<std::string> copiers;
};

// A stretch of time during which one node considered itself the writer.
struct Term {
  std::string node;
  std::int64_t start = 0;
  std::int64_t end = kForever;  // when it stopped (role change, killed); kForever: end of run
  std::set<std::string> first_copiers;
};

std::string seconds(std::int64_t ms, std::int64_t origin) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << static_cast<double>(ms - origin) / 1000.0 << " s";
  return out.str();
}

class Checker {
 public:
  Checker(std::vector<LogLine> lines, std::chrono::milliseconds within)
      : lines_(std::move(lines)), within_(within.count()) {
    std::stable_sort(lines_.begin(), lines_.end(),
                     [](const LogLine& a, const LogLine& b) { return a.ms < b.ms; });
    if (!lines_.empty()) {
      origin_ = lines_.front().ms;
      last_ = lines_.back().ms;
    }
    replay();
  }

  std::vector<Verdict> verdicts() {
    return {s1(), s2(), liveness("L1", l1_), liveness("L2", l2_), liveness("L3", l3_)};
  }

 private:
  bool writer_exists() const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [](const auto& n) { return n.second.role == "writer"; });
  }
  bool copier_exists() const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [](const auto& n) { return n.second.role == "copier"; });
  }
  std::string at(std::int64_t ms) const { return seconds(ms, origin_); }

  // Goes through the events in time order, building the writer terms and checking S2 and the
  // liveness obligations as they arise.
  void replay() {
    std::optional<std::int64_t> leaderless_since;  // copiers but no writer, since
    for (const LogLine& l : lines_) {
      Node& n = nodes_[l.node];
      const std::string& event = l.words.front();
      const bool was_writer = n.role == "writer";
      if (event == "role" && l.words.size() >= 2) {
        const std::string& role = l.words[1];
        if (role == "copier") check_copier_allowed(l);
        if (was_writer && role != "writer") end_term(l.node, l.ms, false);
        n.role = role;
        n.copiers.clear();
        if (role == "writer") {
          n.copiers.insert(l.words.begin() + 2, l.words.end());
          terms_.push_back(Term{l.node, l.ms, kForever, n.copiers});
          writer_started(l);
        }
      } else if (event == "ack" && l.words.size() == 2) {
        n.copiers.insert(l.words[1]);
        acked_[l.words[1]].push_back(l.ms);
      } else if (event == "failed" && l.words.size() == 2) {
        n.copiers.erase(l.words[1]);
      } else if (event == "killed") {
        if (was_writer) end_term(l.node, l.ms, true);
        if (n.role == "copier") {
          copier_deaths_.push_back({l.node, l.ms});
        }
        n.role = "dead";
        n.copiers.clear();
      }
      settle(l.ms);
      // L1: a stretch with copiers and no writer must end with a writer within the bound.
      if (!writer_exists() && copier_exists()) {
        if (!leaderless_since) leaderless_since = l.ms;
      } else if (leaderless_since) {
        if (writer_exists() && l.ms - *leaderless_since > within_) {
          l1_.push_back("copiers without a writer from " + at(*leaderless_since) + " to " +
                        at(l.ms));
        }
        leaderless_since.reset();
      }
    }
    settle(kForever);
    if (leaderless_since) {
      l1_.push_back("copiers without a writer from " + at(*leaderless_since) +
                    " to the end of the run (" + at(last_) + ")");
    }
  }

  void check_copier_allowed(const LogLine& l) {
    const auto it = acked_.find(l.node);
    const bool acked = it != acked_.end() && !it->second.empty() && it->second.front() <= l.ms;
    if (acked) return;
    for (const auto& [name, n] : nodes_) {
      if (name != l.node && n.role == "writer") {
        s2_.push_back(l.node + " became a copier at " + at(l.ms) + " while " + name +
                      " was the writer and had not acknowledged it");
      }
    }
  }

  void end_term(const std::string& node, std::int64_t ms, bool failed) {
    for (Term& t : terms_) {
      if (t.node == node && t.end == kForever) t.end = ms;
    }
    if (failed) writer_deaths_.push_back({node, ms});
  }

  // L2: the first writer elected after a failed writer must not count it among its copiers.
  void writer_started(const LogLine& l) {
    for (auto it = writer_deaths_.begin(); it != writer_deaths_.end();) {
      if (it->second <= l.ms && it->first != l.node) {
        if (terms_.back().first_copiers.contains(it->first)) {
          l2_.push_back(l.node + " became the writer at " + at(l.ms) + " counting " + it->first +
                        " (failed at " + at(it->second) + ") among its copiers");
        }
        it = writer_deaths_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // L3: a failed copier's obligation is met once the writer of the moment does not count it
  // among its copiers (it got FAILED, or a new writer never counted it); `within` after the
  // failure, a writer that still counts it violates L3. Called after each event with its time,
  // and with kForever at the end of the run.
  void settle(std::int64_t now) {
    std::optional<std::string> writer;
    for (const auto& [name, n] : nodes_) {
      if (n.role == "writer") writer = name;
    }
    for (auto it = copier_deaths_.begin(); it != copier_deaths_.end();) {
      const auto& [copier, died] = *it;
      const bool counted = writer && nodes_.at(*writer).copiers.contains(copier);
      const std::int64_t due = died + within_;
      if (counted && due <= now && now != kForever) {
        l3_.push_back(*writer + " still counted " + copier + " among its copiers " +
                      seconds(due, died) + " after it failed (at " + at(died) + ")");
      } else if (counted && now == kForever) {
        l3_.push_back("the run ended at " + at(last_) + " with " + *writer + " still counting " +
                      copier + " (failed at " + at(died) + ") among its copiers");
      } else if (counted) {
        ++it;
        continue;
      }
      it = copier_deaths_.erase(it);
    }
    if (now == kForever) {
      for (const auto& [writer_node, died] : writer_deaths_) {
        if (died + within_ > last_ && copier_exists()) {
          l2_.push_back("the run ended at " + at(last_) + ", before a writer replaced " +
                        writer_node + " (failed at " + at(died) + ")");
        }
      }
    }
  }

  Verdict s1() const {
    Verdict v{"S1", true, ""};
    std::vector<Term> sorted = terms_;
    std::sort(sorted.begin(), sorted.end(),
              [](const Term& a, const Term& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i].start < sorted[i - 1].end) {
        v.holds = false;
        v.detail += sorted[i].node + " became the writer at " + at(sorted[i].start) + " while " +
                    sorted[i - 1].node + " still was; ";
      }
    }
    if (v.holds) {
      v.detail = "at most one writer at any time; writers in order:";
      for (const Term& t : sorted) {
        v.detail += " " + t.node + " (" + at(t.start) + " to " +
                    (t.end == kForever ? std::string("the end") : at(t.end)) + ")";
      }
      if (sorted.empty()) v.detail += " none";
    }
    return v;
  }

  Verdict s2() const {
    if (!s2_.empty()) return {"S2", false, join(s2_)};
    return {"S2", true, "every copier was admitted by the writer, or there was no writer"};
  }

  static Verdict liveness(const std::string& name, const std::vector<std::string>& problems) {
    static const std::map<std::string, std::string> kHolds = {
        {"L1", "whenever there were copiers, a writer was designated within the bound"},
        {"L2", "every failed writer was replaced, and its successor did not count it a copier"},
        {"L3", "every failed copier was dropped from the writer's copiers within the bound"}};
    if (!problems.empty()) return {name, false, join(problems)};
    return {name, true, kHolds.at(name)};
  }

  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : "; ") + s;
    return out;
  }

  std::vector<LogLine> lines_;
  std::int64_t within_;
  std::int64_t origin_ = 0;
  std::int64_t last_ = 0;
  std::map<std::string, Node> nodes_;
  std::vector<Term> terms_;
  std::map<std::string, std::vector<std::int64_t>> acked_;  // node -> times a writer ACKed it
  std::vector<std::pair<std::string, std::int64_t>> copier_deaths_;
  std::vector<std::pair<std::string, std::int64_t>> writer_deaths_;
  std::vector<std::string> s2_, l1_, l2_, l3_;
};

}  // namespace

Result<std::vector<LogLine>, std::string> read_logs(const std::vector<std::string>& paths) {
  std::vector<LogLine> lines;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    if (!in) return fail(path + ": cannot be read");
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
      std::istringstream fields(text);
      LogLine l;
      if (!(fields >> l.ms >> l.node)) {
        return fail(path + ":" + std::to_string(number) + ": not `<ms> <node> <event>`");
      }
      for (std::string w; fields >> w;) l.words.push_back(w);
      if (l.words.empty()) {
        return fail(path + ":" + std::to_string(number) + ": no event");
      }
      lines.push_back(std::move(l));
    }
  }
  return lines;
}

std::vector<Verdict> verify(std::vector<LogLine> lines, std::chrono::milliseconds within) {
  return Checker(std::move(lines), within).verdicts();
}

}  // namespace bastion::red
