// Admins and groups; see principals.h.
#include "policy/principals.h"

namespace bastion::policy {

Principals::Principals(const std::vector<std::string>& admins, const Groups& groups)
    : admins_(admins.begin(), admins.end()) {
  members_["admins"] = {admins.begin(), admins.end()};
  for (const auto& [name, members] : groups) members_[name].insert(members.begin(), members.end());
  for (const auto& [name, members] : members_) {
    for (const std::string& m : members) groups_of_[m].push_back(name);  // map order: sorted
  }
}

const std::vector<std::string>& Principals::groups_of(std::string_view principal) const {
  static const std::vector<std::string> kNone;
  auto it = groups_of_.find(principal);
  return it != groups_of_.end() ? it->second : kNone;
}

std::string_view Principals::group_of_entry(std::string_view entry) {
  return entry.size() > 1 && entry.front() == '@' ? entry.substr(1) : std::string_view{};
}

bool Principals::allows(const std::vector<std::string>& list, std::string_view principal) const {
  if (list.empty()) return true;
  for (const std::string& entry : list) {
    const std::string_view group = group_of_entry(entry);
    if (group.empty()) {
      if (entry == principal) return true;
      continue;
    }
    auto it = members_.find(group);
    if (it != members_.end() && it->second.contains(principal)) return true;
  }
  return false;
}

}  // namespace bastion::policy
