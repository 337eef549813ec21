// Reply mapping; see reply.h.
#include "client/reply.h"

#include <string>
#include <utility>
#include <variant>

#include "codec/codec.h"

namespace bastion {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kOk:
      return "ok";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kNoSuchSpace:
      return "no_such_space";
    case Errc::kSpaceExists:
      return "space_exists";
    case Errc::kTooLarge:
      return "too_large";
    case Errc::kQuotaExceeded:
      return "quota_exceeded";
    case Errc::kDenied:
      return "denied";
    case Errc::kInvalidArgument:
      return "invalid_argument";
    case Errc::kTimedOut:
      return "timed_out";
    case Errc::kCancelled:
      return "cancelled";
    case Errc::kMalformed:
      return "malformed";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kRejected:
      return "rejected";
    case Errc::kConfig:
      return "config";
    case Errc::kProtocol:
      return "protocol";
  }
  return "unknown";
}

namespace client_detail {
namespace {

Error protocol_error(std::string message) { return Error{Errc::kProtocol, std::move(message)}; }

Error unexpected(const ts::Reply& reply, std::string_view op) {
  return protocol_error("unexpected reply '" + std::string(reply_name(reply)) + "' to " +
                        std::string(op));
}

}  // namespace

Errc errc_of(ts::ErrorCode code) {
  switch (code) {
    case ts::ErrorCode::kOk:
      return Errc::kOk;
    case ts::ErrorCode::kNotFound:
      return Errc::kNotFound;
    case ts::ErrorCode::kNoSuchSpace:
      return Errc::kNoSuchSpace;
    case ts::ErrorCode::kSpaceExists:
      return Errc::kSpaceExists;
    case ts::ErrorCode::kTooLarge:
      return Errc::kTooLarge;
    case ts::ErrorCode::kQuotaExceeded:
      return Errc::kQuotaExceeded;
    case ts::ErrorCode::kDenied:
      return Errc::kDenied;
    case ts::ErrorCode::kInvalidArgument:
      return Errc::kInvalidArgument;
    case ts::ErrorCode::kTimedOut:
      return Errc::kTimedOut;
    case ts::ErrorCode::kCancelled:
      return Errc::kCancelled;
    case ts::ErrorCode::kMalformed:
      return Errc::kMalformed;
    case ts::ErrorCode::kUnsupported:
      return Errc::kUnsupported;
  }
  return Errc::kProtocol;
}

Error service_error(const ts::Error& error) {
  if (error.code == ts::ErrorCode::kOk) {
    return protocol_error("the replicas sent an error reply with code ok");
  }
  return Error{errc_of(error.code), error.message};
}

std::string_view reply_name(const ts::Reply& reply) {
  struct Names {
    std::string_view operator()(const ts::Error&) const { return "error"; }
    std::string_view operator()(const ts::Ack&) const { return "ack"; }
    std::string_view operator()(const ts::Pending&) const { return "pending"; }
    std::string_view operator()(const ts::Found&) const { return "found"; }
    std::string_view operator()(const ts::FoundAll&) const { return "found_all"; }
    std::string_view operator()(const ts::CasResult&) const { return "cas_result"; }
    std::string_view operator()(const ts::Spaces&) const { return "spaces"; }
    std::string_view operator()(const ts::Confidential&) const { return "confidential"; }
  };
  return std::visit(Names{}, reply);
}

Expected<ts::Reply> to_reply(bft::ReplyStatus status, const codec::Bytes& result) {
  switch (status) {
    case bft::ReplyStatus::kOk: {
      auto reply = codec::decode<ts::Reply>(result);
      if (!reply) return fail(protocol_error("undecodable reply: " + reply.error()));
      if (const auto* error = std::get_if<ts::Error>(&*reply)) return fail(service_error(*error));
      return std::move(*reply);
    }
    case bft::ReplyStatus::kStale:
      return fail(Error{Errc::kRejected,
                        "the replicas refused the request as stale (its number fell behind the "
                        "session's window); it was not executed"});
    case bft::ReplyStatus::kTooLarge:
      return fail(Error{Errc::kRejected,
                        "the request is larger than the cluster accepts (request_bytes_max); it "
                        "was not executed"});
    case bft::ReplyStatus::kEvicted:
      return fail(Error{Errc::kRejected,
                        "the request was executed, but its result is no longer cached by the "
                        "replicas; its outcome is unknown"});
    case bft::ReplyStatus::kNotReadOnly:  // never accepted by ClientCore
    case bft::ReplyStatus::kPending:      // provisional: handled before a call completes
      break;
  }
  return fail(protocol_error("the replicas agreed on an unexpected reply status " +
                             std::to_string(static_cast<unsigned>(status))));
}

Expected<Done> as_done(Expected<ts::Reply> reply, std::string_view op) {
  if (!reply) return fail(std::move(reply).error());
  if (std::holds_alternative<ts::Ack>(*reply)) return Done{};
  return fail(unexpected(*reply, op));
}

Expected<std::optional<Tuple>> as_found(Expected<ts::Reply> reply, std::string_view op) {
  if (!reply) {
    const Errc code = reply.error().code;
    if (code == Errc::kNotFound) return std::optional<Tuple>{};
    const bool waits = op == "rd" || op == "in";
    if (waits && code == Errc::kTimedOut) return std::optional<Tuple>{};
    return fail(std::move(reply).error());
  }
  if (auto* found = std::get_if<ts::Found>(&*reply)) {
    return std::optional<Tuple>(std::move(found->tuple));
  }
  return fail(unexpected(*reply, op));
}

Expected<std::vector<Tuple>> as_found_all(Expected<ts::Reply> reply, std::string_view op) {
  if (!reply) return fail(std::move(reply).error());
  if (auto* all = std::get_if<ts::FoundAll>(&*reply)) return std::move(all->tuples);
  return fail(unexpected(*reply, op));
}

Expected<CasOutcome> as_cas(Expected<ts::Reply> reply) {
  if (!reply) return fail(std::move(reply).error());
  auto* cas = std::get_if<ts::CasResult>(&*reply);
  if (cas == nullptr) return fail(unexpected(*reply, "cas"));
  CasOutcome outcome;
  outcome.inserted = cas->inserted;
  if (!cas->inserted) outcome.existing = std::move(cas->existing);
  return outcome;
}

Expected<std::vector<ts::SpaceInfo>> as_spaces(Expected<ts::Reply> reply) {
  if (!reply) return fail(std::move(reply).error());
  if (auto* spaces = std::get_if<ts::Spaces>(&*reply)) return std::move(spaces->spaces);
  return fail(unexpected(*reply, "space list"));
}

Expected<ts::SpaceInfo> as_space(Expected<ts::Reply> reply) {
  if (!reply) return fail(std::move(reply).error());
  auto* spaces = std::get_if<ts::Spaces>(&*reply);
  if (spaces == nullptr) return fail(unexpected(*reply, "space show"));
  if (spaces->spaces.size() != 1) {
    return fail(protocol_error("space show: the replicas answered with " +
                               std::to_string(spaces->spaces.size()) + " spaces instead of one"));
  }
  return std::move(spaces->spaces.front());
}

}  // namespace client_detail
}  // namespace bastion
