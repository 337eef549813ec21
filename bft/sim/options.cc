// Fault menu names and reproduction arguments; see options.h.
#include "bft/sim/options.h"

#include <sstream>

#include "bft/sim/app.h"

namespace bastion::bft::sim {
namespace {

struct Named {
  ByzBehaviour b;
  const char* name;
};
constexpr Named kBehaviours[] = {
    {ByzBehaviour::kSilence, "silence"},
    {ByzBehaviour::kEquivocate, "equivocate"},
    {ByzBehaviour::kCensorClient, "censor-client"},
    {ByzBehaviour::kDelayClient, "delay-client"},
    {ByzBehaviour::kBadTimestamp, "bad-timestamp"},
    {ByzBehaviour::kForgeRequest, "forge-request"},
    {ByzBehaviour::kWrongDigest, "wrong-digest"},
    {ByzBehaviour::kWrongCheckpoint, "wrong-checkpoint"},
    {ByzBehaviour::kCorruptReply, "corrupt-reply"},
    {ByzBehaviour::kForgeReply, "forge-reply"},
    {ByzBehaviour::kGarbage, "garbage"},
    {ByzBehaviour::kReplay, "replay"},
    {ByzBehaviour::kStaleRead, "stale-read"},
    {ByzBehaviour::kWrongVouch, "wrong-vouch"},
    {ByzBehaviour::kWrongRequests, "wrong-requests"},
    {ByzBehaviour::kWrongBatch, "wrong-batch"},
    {ByzBehaviour::kWrongCommitted, "wrong-committed"},
    {ByzBehaviour::kWrongStatus, "wrong-status"},
    {ByzBehaviour::kLargeGarbage, "large-garbage"},
    {ByzBehaviour::kViewChangeFlood, "view-change-flood"},
    {ByzBehaviour::kSlowState, "slow-state"},
    {ByzBehaviour::kEdgeTimestamp, "edge-timestamp"},
    {ByzBehaviour::kSlowPrimary, "slow-primary"},
};
static_assert(sizeof kBehaviours / sizeof kBehaviours[0] == kByzBehaviourCount);

struct NamedClient {
  ByzClientBehaviour b;
  const char* name;
};
constexpr NamedClient kClientBehaviours[] = {
    {ByzClientBehaviour::kEquivocate, "client-equivocate"},
    {ByzClientBehaviour::kOneReplica, "client-one-replica"},
    {ByzClientBehaviour::kFlood, "client-flood"},
    {ByzClientBehaviour::kChurn, "client-churn"},
    {ByzClientBehaviour::kWaiters, "client-waiters"},
};
static_assert(sizeof kClientBehaviours / sizeof kClientBehaviours[0] == kByzClientBehaviourCount);

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream s(list);
  std::string item;
  while (std::getline(s, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

const char* behaviour_name(ByzBehaviour b) {
  for (const auto& n : kBehaviours) {
    if (n.b == b) return n.name;
  }
  return "?";
}

const char* client_behaviour_name(ByzClientBehaviour b) {
  for (const auto& n : kClientBehaviours) {
    if (n.b == b) return n.name;
  }
  return "?";
}

std::set<ByzClientBehaviour> all_client_behaviours() {
  std::set<ByzClientBehaviour> out;
  for (const auto& n : kClientBehaviours) out.insert(n.b);
  return out;
}

std::set<ByzBehaviour> all_behaviours() {
  std::set<ByzBehaviour> out;
  for (const auto& n : kBehaviours) out.insert(n.b);
  return out;
}

bool parse_behaviours(const std::string& list, std::set<ByzBehaviour>& out) {
  out.clear();
  for (const std::string& item : split(list)) {
    if (item == "all") {
      out = all_behaviours();
      continue;
    }
    bool found = false;
    for (const auto& n : kBehaviours) {
      if (item == n.name) {
        out.insert(n.b);
        found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool FaultMenu::apply(const std::string& list, std::string& error) {
  for (std::string item : split(list)) {
    bool on = true;
    if (item[0] == '-' || item[0] == '+') {
      on = item[0] == '+';
      item.erase(0, 1);
    }
    bool* flag = nullptr;
    if (item == "drops") flag = &drops;
    if (item == "duplicates") flag = &duplicates;
    if (item == "reorder") flag = &reorder;
    if (item == "partitions") flag = &partitions;
    if (item == "crashes") flag = &crashes;
    if (item == "torn-writes") flag = &torn_writes;
    if (item == "clock-skew") flag = &clock_skew;
    if (item == "byzantine-clients") flag = &byzantine_clients;
    if (flag != nullptr) {
      *flag = on;
      continue;
    }
    bool client = false;
    for (const auto& n : kClientBehaviours) {
      if (item != n.name) continue;
      client = true;
      if (on) {
        client_behaviours.insert(n.b);
      } else {
        client_behaviours.erase(n.b);
      }
    }
    if (client) continue;
    // A behaviour name toggles it in the Byzantine menu.
    std::set<ByzBehaviour> one;
    if (!parse_behaviours(item, one) || one.empty()) {
      error = "unknown fault class '" + item + "'";
      return false;
    }
    for (ByzBehaviour b : one) {
      if (on) {
        behaviours.insert(b);
      } else {
        behaviours.erase(b);
      }
    }
  }
  return true;
}

std::string FaultMenu::describe() const {
  std::ostringstream s;
  const std::pair<const char*, bool> flags[] = {
      {"drops", drops},           {"duplicates", duplicates},
      {"reorder", reorder},       {"partitions", partitions},
      {"crashes", crashes},       {"torn-writes", torn_writes},
      {"clock-skew", clock_skew}, {"byzantine-clients", byzantine_clients}};
  const char* sep = "";
  for (const auto& [name, on] : flags) {
    if (!on) continue;
    s << sep << name;
    sep = ",";
  }
  s << "; byzantine behaviours:";
  for (ByzBehaviour b : behaviours) s << " " << behaviour_name(b);
  s << "; byzantine client behaviours:";
  for (ByzClientBehaviour b : client_behaviours) s << " " << client_behaviour_name(b);
  return s.str();
}

std::string SimOptions::repro_args() const {
  std::ostringstream s;
  s << "--seed " << seed << " --f " << f << " --clients " << clients << " --steps " << steps;
  if (byzantine) s << " --byzantine";
  if (plugin != nullptr && plugin->name != "kv") s << " --app " << plugin->name;
  if (throughput_strict) s << " --strict-throughput";
  if (real_storage) s << " --real-storage";
  const FaultMenu defaults;
  std::string toggles;
  auto add = [&](const char* name, bool now, bool def) {
    if (now == def) return;
    toggles += toggles.empty() ? "" : ",";
    toggles += (now ? "+" : "-");
    toggles += name;
  };
  add("drops", faults.drops, defaults.drops);
  add("duplicates", faults.duplicates, defaults.duplicates);
  add("reorder", faults.reorder, defaults.reorder);
  add("partitions", faults.partitions, defaults.partitions);
  add("crashes", faults.crashes, defaults.crashes);
  add("torn-writes", faults.torn_writes, defaults.torn_writes);
  add("clock-skew", faults.clock_skew, defaults.clock_skew);
  add("byzantine-clients", faults.byzantine_clients, defaults.byzantine_clients);
  for (const auto& n : kBehaviours) {
    add(n.name, faults.behaviours.contains(n.b), defaults.behaviours.contains(n.b));
  }
  for (const auto& n : kClientBehaviours) {
    add(n.name, faults.client_behaviours.contains(n.b), defaults.client_behaviours.contains(n.b));
  }
  if (!toggles.empty()) s << " --faults " << toggles;
  return s.str();
}

}  // namespace bastion::bft::sim
