// Requests and replies: option validation, names, and the wire-encoding wrappers (see ops.h).
// Stateless; thread-safe.
#include "tuplespace/ops.h"

#include <algorithm>
#include <string>
#include <utility>

namespace bastion::ts {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

Result<Done, Error> validate_access_list(std::string_view what,
                                         const std::vector<std::string>& list) {
  if (list.size() > kAclEntriesMax) {
    return fail(invalid(std::string(what) + " list of " + std::to_string(list.size()) +
                        " entries exceeds " + std::to_string(kAclEntriesMax)));
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].empty() || list[i].size() > kNameBytesMax) {
      return fail(invalid(std::string(what) + " list has an entry of " +
                          std::to_string(list[i].size()) + " bytes (1.." +
                          std::to_string(kNameBytesMax) + ")"));
    }
    if (i > 0 && !(list[i - 1] < list[i])) {
      return fail(invalid(std::string(what) + " list is not sorted or has duplicates"));
    }
  }
  return Done{};
}

}  // namespace

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kNoSuchSpace:
      return "no_such_space";
    case ErrorCode::kSpaceExists:
      return "space_exists";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kQuotaExceeded:
      return "quota_exceeded";
    case ErrorCode::kDenied:
      return "denied";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kTimedOut:
      return "timed_out";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kMalformed:
      return "malformed";
    case ErrorCode::kUnsupported:
      return "unsupported";
  }
  return "unknown";
}

Result<Done, Error> validate(const SpaceOptions& o) {
  if (o.tuple_bytes_max < 1 || o.tuple_bytes_max > kTupleBytesCap) {
    return fail(invalid("tuple_bytes_max " + std::to_string(o.tuple_bytes_max) + " is outside 1.." +
                        std::to_string(kTupleBytesCap)));
  }
  if (o.fields_max < 1 || o.fields_max > kFieldsCap) {
    return fail(invalid("fields_max " + std::to_string(o.fields_max) + " is outside 1.." +
                        std::to_string(kFieldsCap)));
  }
  if (o.tuples_max < 1 || o.tuples_max > kTuplesCap) {
    return fail(invalid("tuples_max " + std::to_string(o.tuples_max) + " is outside 1.." +
                        std::to_string(kTuplesCap)));
  }
  if (o.tuples_per_client_max < 1 || o.tuples_per_client_max > kTuplesCap) {
    return fail(invalid("tuples_per_client_max " + std::to_string(o.tuples_per_client_max) +
                        " is outside 1.." + std::to_string(kTuplesCap)));
  }
  if (o.waiters_per_client_max > kWaitersPerClientCap) {
    return fail(invalid("waiters_per_client_max " + std::to_string(o.waiters_per_client_max) +
                        " exceeds " + std::to_string(kWaitersPerClientCap)));
  }
  if (o.policy.size() > kPolicyBytesMax) {
    return fail(invalid("policy of " + std::to_string(o.policy.size()) + " bytes exceeds " +
                        std::to_string(kPolicyBytesMax)));
  }
  for (const auto& [what, list] :
       {std::pair{"inserters", &o.access.inserters}, std::pair{"readers", &o.access.readers},
        std::pair{"removers", &o.access.removers}}) {
    if (auto v = validate_access_list(what, *list); !v) return v;
  }
  if (!o.confidential) {
    if (!o.protection.empty() || !o.fingerprint_key.empty()) {
      return fail(invalid("protection and fingerprint keys are for confidential spaces only"));
    }
    return Done{};
  }
  if (o.protection.empty() || o.protection.size() > kFieldsCap) {
    return fail(invalid("a confidential space needs a protection vector of 1.." +
                        std::to_string(kFieldsCap) + " entries"));
  }
  for (std::uint8_t p : o.protection) {
    if (p > kProtectionPrivate) {
      return fail(
          invalid("protection " + std::to_string(p) + " is not public, comparable or private"));
    }
  }
  if (o.fingerprint_key.size() != kFingerprintKeyBytes) {
    return fail(invalid("a confidential space needs a fingerprint key of " +
                        std::to_string(kFingerprintKeyBytes) + " bytes"));
  }
  return Done{};
}

void normalize(SpaceAccess& access) {
  for (auto* list : {&access.inserters, &access.readers, &access.removers}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
}

bool read_only(const Request& request) {
  return std::holds_alternative<Rdp>(request) || std::holds_alternative<RdAll>(request) ||
         std::holds_alternative<SpaceList>(request) || std::holds_alternative<SpaceShow>(request);
}

std::string_view op_name(const Request& request) {
  return std::visit(Overloaded{
                        [](const SpaceCreate&) { return "space_create"; },
                        [](const SpaceDelete&) { return "space_delete"; },
                        [](const SpaceList&) { return "space_list"; },
                        [](const Out&) { return "out"; },
                        [](const OutAll&) { return "outAll"; },
                        [](const Rdp&) { return "rdp"; },
                        [](const Inp&) { return "inp"; },
                        [](const Rd&) { return "rd"; },
                        [](const In&) { return "in"; },
                        [](const Cas&) { return "cas"; },
                        [](const Replace&) { return "replace"; },
                        [](const Renew&) { return "renew"; },
                        [](const RdAll&) { return "rdAll"; },
                        [](const InAll&) { return "inAll"; },
                        [](const Cancel&) { return "cancel"; },
                        [](const SpaceSetPolicy&) { return "space_set_policy"; },
                        [](const SpaceSetAccess&) { return "space_set_access"; },
                        [](const SpaceShow&) { return "space_show"; },
                        [](const Repair&) { return "repair"; },
                    },
                    request);
}

std::string_view space_of(const Request& request) {
  return std::visit(
      [](const auto& op) -> std::string_view {
        if constexpr (requires { op.space; }) {
          return op.space;
        } else {
          return {};
        }
      },
      request);
}

bool is_tuple_op(const Request& request) {
  return std::visit(
      [](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        return std::is_same_v<T, Out> || std::is_same_v<T, OutAll> || std::is_same_v<T, Rdp> ||
               std::is_same_v<T, Inp> || std::is_same_v<T, Rd> || std::is_same_v<T, In> ||
               std::is_same_v<T, Cas> || std::is_same_v<T, Replace> || std::is_same_v<T, Renew> ||
               std::is_same_v<T, RdAll> || std::is_same_v<T, InAll>;
      },
      request);
}

ErrorCode code_of(const Reply& reply) {
  if (const auto* e = std::get_if<Error>(&reply)) return e->code;
  return ErrorCode::kOk;
}

codec::Bytes encode_request(const Request& request) { return codec::encode(request); }

Result<Request, Error> decode_request(codec::ByteView bytes) {
  auto r = codec::decode<Request>(bytes);
  if (!r) return fail(make_error(ErrorCode::kMalformed, "malformed request: " + r.error()));
  return std::move(r).value();
}

codec::Bytes encode_outcome(const Outcome& outcome) { return codec::encode(outcome); }

Result<Outcome, Error> decode_outcome(codec::ByteView bytes) {
  auto r = codec::decode<Outcome>(bytes);
  if (!r) return fail(make_error(ErrorCode::kMalformed, "malformed outcome: " + r.error()));
  return std::move(r).value();
}

}  // namespace bastion::ts
