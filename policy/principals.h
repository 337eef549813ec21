// Who is who, for access lists and policies: the cluster's admins and groups (the cluster file),
// keyed by the principal names of client certificates.
//
// A list entry is a principal name or "@group". "admins" is the group of the cluster's admins.
// An empty list means every authenticated client.
//
// Thread-safety: immutable after construction.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::policy {

class Principals {
 public:
  using Groups = std::map<std::string, std::vector<std::string>, std::less<>>;

  Principals() = default;
  Principals(const std::vector<std::string>& admins, const Groups& groups);

  bool is_admin(std::string_view principal) const { return admins_.contains(principal); }
  bool has_group(std::string_view group) const { return members_.contains(group); }
  // The groups `principal` belongs to, sorted.
  const std::vector<std::string>& groups_of(std::string_view principal) const;
  // Does the list let `principal` in (empty: everyone)?
  bool allows(const std::vector<std::string>& list, std::string_view principal) const;
  // The group an entry names ("ops" for "@ops"), or empty for a plain name.
  static std::string_view group_of_entry(std::string_view entry);

 private:
  std::set<std::string, std::less<>> admins_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> members_;
  std::map<std::string, std::vector<std::string>, std::less<>> groups_of_;
};

}  // namespace bastion::policy
