// Admins and space access lists; see access_layer.h.
#include "policy/access_layer.h"

#include <string>
#include <vector>

namespace bastion::policy {
namespace {

enum Right : std::uint8_t { kInsert = 1, kRead = 2, kRemove = 4 };

std::uint8_t rights_needed(const ts::Request& request) {
  return std::visit(
      [](const auto& op) -> std::uint8_t {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, ts::Out> || std::is_same_v<T, ts::OutAll>) {
          return kInsert;
        } else if constexpr (std::is_same_v<T, ts::Rdp> || std::is_same_v<T, ts::Rd> ||
                             std::is_same_v<T, ts::RdAll> || std::is_same_v<T, ts::Repair>) {
          // A repair names a tuple the caller read.
          return kRead;
        } else if constexpr (std::is_same_v<T, ts::Inp> || std::is_same_v<T, ts::In> ||
                             std::is_same_v<T, ts::InAll> || std::is_same_v<T, ts::Renew>) {
          return kRead | kRemove;
        } else if constexpr (std::is_same_v<T, ts::Cas>) {
          return kRead | kInsert;
        } else if constexpr (std::is_same_v<T, ts::Replace>) {
          return kRead | kRemove | kInsert;
        } else {
          return 0;
        }
      },
      request);
}

bool is_administration(const ts::Request& r) {
  return std::holds_alternative<ts::SpaceCreate>(r) || std::holds_alternative<ts::SpaceDelete>(r) ||
         std::holds_alternative<ts::SpaceSetPolicy>(r) ||
         std::holds_alternative<ts::SpaceSetAccess>(r);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 8; ++i) out += (i > 0 ? ", " : "") + names[i];
  if (names.size() > 8) out += ", ...";
  return out;
}

}  // namespace

std::optional<ts::Error> AccessLayer::check_groups(const ts::SpaceAccess& access) const {
  for (const auto* list : {&access.inserters, &access.readers, &access.removers}) {
    for (const std::string& entry : *list) {
      const std::string_view group = Principals::group_of_entry(entry);
      if (!group.empty() && !principals_.has_group(group)) {
        return ts::Error{ts::ErrorCode::kInvalidArgument,
                         "access list entry '" + entry +
                             "' names no group of the cluster file ([groups], or @admins)"};
      }
    }
  }
  return std::nullopt;
}

std::optional<ts::Error> AccessLayer::refuse(const ts::Context& ctx,
                                             const ts::Request& request) const {
  if (is_administration(request)) {
    if (!principals_.is_admin(ctx.client)) {
      return ts::Error{ts::ErrorCode::kDenied, "space administration is reserved to admins; '" +
                                                   ctx.client +
                                                   "' is not an admin of this cluster"};
    }
    if (const auto* create = std::get_if<ts::SpaceCreate>(&request)) {
      return check_groups(create->options.access);
    }
    if (const auto* set = std::get_if<ts::SpaceSetAccess>(&request))
      return check_groups(set->access);
    return std::nullopt;
  }
  const std::uint8_t needed = rights_needed(request);
  if (needed == 0) return std::nullopt;
  const std::string_view space = ts::space_of(request);
  const ts::SpaceOptions* options = engine_.space_options(space);
  if (options == nullptr) return std::nullopt;  // the engine answers no_such_space
  struct Rule {
    Right right;
    const std::vector<std::string>* list;
    const char* verb;
    const char* role;
  };
  const Rule rules[] = {{kInsert, &options->access.inserters, "insert into", "inserters"},
                        {kRead, &options->access.readers, "read from", "readers"},
                        {kRemove, &options->access.removers, "remove from", "removers"}};
  for (const Rule& rule : rules) {
    if ((needed & rule.right) == 0 || principals_.allows(*rule.list, ctx.client)) continue;
    return ts::Error{ts::ErrorCode::kDenied, "client '" + ctx.client + "' may not " + rule.verb +
                                                 " space '" + std::string(space) + "' (its " +
                                                 rule.role + ": " + joined(*rule.list) + ")"};
  }
  return std::nullopt;
}

ts::Outcome AccessLayer::execute(const ts::Context& ctx, const ts::Request& request) {
  if (auto refused = refuse(ctx, request)) return ts::Outcome{std::move(*refused), {}};
  return next_.execute(ctx, request);
}

ts::Reply AccessLayer::execute_read_only(const ts::Context& ctx, const ts::Request& request) {
  if (auto refused = refuse(ctx, request)) return std::move(*refused);
  return next_.execute_read_only(ctx, request);
}

}  // namespace bastion::policy
