// Client::Impl; see client_impl.h.
#include "client/client_impl.h"

#include <sodium.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "client/reply.h"
#include "tuplespace/ops.h"

namespace bastion {
namespace {

// Bytes a ClientRequestMsg adds around its payload (envelope, session, number, flag, length):
// at most 2 + 10 + 10 + 1 + 10 with LEB128 lengths; rounded up.
constexpr std::size_t kRequestOverheadBytes = 64;

std::string seconds_text(Millis ms) {
  const auto count = ms.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + " s";
  return std::to_string(count) + " ms";
}

}  // namespace

std::uint64_t random_session() {
  std::uint64_t session = 0;
  // Session 0 is never used, so it can stand for "no session" in logs and tools.
  while (session == 0) randombytes_buf(&session, sizeof session);
  return session;
}

Client::Impl::Impl(ClientSetup setup)
    : setup_(std::move(setup)),
      work_(boost::asio::make_work_guard(io_)),
      transport_(io_, setup_.transport),
      core_(make_core()),
      timer_(io_) {}

Client::Impl::~Impl() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] { shutdown(); });
  thread_.join();
}

Result<Done, std::string> Client::Impl::start() {
  transport_.on_frame(
      [this](bft::ReplicaId replica, codec::ByteView frame) { on_frame(replica, frame); });
  auto started = transport_.start();
  if (!started) return started;
  principal_ = transport_.principal();
  if (setup_.pvss) {
    confidential_.emplace(std::move(*setup_.pvss), setup_.fingerprint_secret, principal_,
                          setup_.identity_dir);
    setup_.pvss.reset();
  }
  if (auto& secret = setup_.fingerprint_secret) sodium_memzero(secret->data(), secret->size());
  setup_.fingerprint_secret.reset();
  thread_ = std::thread([this] { io_.run(); });
  return Done{};
}

Client::Impl::TimeUs Client::Impl::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Client::Impl::TimeUs Client::Impl::timeout_us(Millis timeout) const {
  // Saturating: a huge timeout means "no deadline", never an overflow.
  constexpr auto kMaxMs = std::numeric_limits<TimeUs>::max() / 4000;
  if (timeout.count() >= kMaxMs) return kNever / 2;
  return std::max<TimeUs>(0, timeout.count()) * 1000;
}

bft::ClientCore Client::Impl::make_core() {
  const bft::ClientConfig config{.n = setup_.n, .f = setup_.f, .session = setup_.session};
  if (!setup_.pvss && !confidential_) return bft::ClientCore(config);
  // The hooks run on the I/O thread, after start() set confidential_.
  return bft::ClientCore(
      config, [this](const codec::Bytes& result) { return confidential_->split_common(result); },
      [this](bft::ReplicaId replica, const codec::Bytes& result) {
        return confidential_->verify_shares(replica, result);
      });
}

void Client::Impl::submit(const ts::Request& request, CallOptions options, Callback done) {
  Parked p{request, std::move(options), std::move(done), false, std::nullopt};
  if (needs_space(p)) {
    boost::asio::post(io_, [this, p = std::move(p)]() mutable {
      parked_.push_back(std::move(p));
      drain_parked();
    });
    return;
  }
  std::optional<Call> call = make_call(std::move(p));
  if (!call) return;
  boost::asio::post(io_, [this, c = std::move(*call)]() mutable {
    if (parked_.empty()) {
      start_call(std::move(c));
    } else {  // behind the calls that wait for their space: call order is kept
      parked_.push_back(Parked{{}, {}, {}, true, std::move(c)});
    }
  });
}

bool Client::Impl::needs_space(const Parked& p) const {
  return confidential_ && !p.resolved && ts::is_tuple_op(p.request) &&
         !spaces_.knows(ts::space_of(p.request));
}

void Client::Impl::drain_parked() {
  while (!parked_.empty()) {
    Parked& front = parked_.front();
    if (front.ready) {
      Call c = std::move(*front.ready);
      parked_.pop_front();
      start_call(std::move(c));
      continue;
    }
    if (needs_space(front)) {
      if (!resolving_) resolve_front();
      return;
    }
    Parked p = std::move(front);
    parked_.pop_front();
    if (std::optional<Call> call = make_call(std::move(p))) start_call(std::move(*call));
  }
}

void Client::Impl::resolve_front() {
  resolving_ = true;
  Parked& front = parked_.front();
  Parked show{ts::SpaceShow{std::string(ts::space_of(front.request))}, {}, {}, true, std::nullopt};
  show.options.timeout = front.options.timeout;
  show.done = [this](Expected<ts::Reply> reply) {
    resolving_ = false;
    if (parked_.empty()) return;  // closed meanwhile
    Parked& waiting = parked_.front();
    auto info = client_detail::as_space(std::move(reply));
    if (info) {
      spaces_.learn(*info);
    } else if (info.error().code == Errc::kNoSuchSpace || info.error().code == Errc::kDenied) {
      waiting.resolved = true;  // the request goes as it is: the replicas answer for it
    } else {
      Callback done = std::move(waiting.done);
      parked_.pop_front();
      done(fail(std::move(info).error()));
    }
    drain_parked();
  };
  // Straight to the core: it must not wait behind the calls it unblocks.
  if (std::optional<Call> call = make_call(std::move(show))) start_call(std::move(*call));
}

std::optional<Client::Impl::Call> Client::Impl::make_call(Parked p) {
  ts::Request& request = p.request;
  Callback& done = p.done;
  std::string space;
  bool sealed_space = false;
  if (auto* create = std::get_if<ts::SpaceCreate>(&request)) {
    spaces_.forget(create->space);
    if (create->options.confidential) {
      if (!confidential_) {
        done(fail(Error{Errc::kUnsupported,
                        "the cluster's replicas have no PVSS keys, which confidential spaces "
                        "need (see docs/confidentiality.md, \"Keys\"); nothing was created"}));
        return std::nullopt;
      }
      auto prepared = confidential_->prepare_create(*create);
      if (!prepared) {
        done(fail(std::move(prepared).error()));
        return std::nullopt;
      }
    }
  } else if (const auto* del = std::get_if<ts::SpaceDelete>(&request)) {
    spaces_.forget(del->space);
  } else if (ts::is_tuple_op(request)) {
    space = ts::space_of(request);
    const std::optional<client_detail::SpaceState> state = spaces_.find(space);
    if (state && state->confidential) {
      auto sealed = confidential_->seal(request, *state, p.options.protection);
      if (!sealed) {
        done(fail(std::move(sealed).error()));
        return std::nullopt;
      }
      request = std::move(*sealed);
      sealed_space = true;
    } else if (!p.options.protection.empty()) {
      done(fail(Error{Errc::kInvalidArgument,
                      "a protection vector applies to confidential "
                      "spaces only; '" +
                          space + "' is not one"}));
      return std::nullopt;
    }
  }
  Call call;
  call.op = std::string(ts::op_name(request));
  call.space = std::move(space);
  call.payload = ts::encode_request(request);
  call.read_only = ts::read_only(request);
  if (const auto* rd = std::get_if<ts::Rd>(&request)) {
    call.waits = true;
    call.wait = Millis(rd->timeout_ms);
  } else if (const auto* in = std::get_if<ts::In>(&request)) {
    call.waits = true;
    call.wait = Millis(in->timeout_ms);
  }
  call.timeout = p.options.timeout.value_or(setup_.timeout);
  call.done = std::move(done);
  if (sealed_space) {
    call.retry_payload = call.payload;
    call.retries_left = kRepairRetries;
  }
  if (call.payload.size() + kRequestOverheadBytes > setup_.request_bytes_max) {
    call.done(
        fail(Error{Errc::kTooLarge,
                   "the " + call.op + " request of " + std::to_string(call.payload.size()) +
                       " bytes exceeds the cluster's limit of " +
                       std::to_string(setup_.request_bytes_max) + " bytes per client message"}));
    return std::nullopt;
  }
  return call;
}

void Client::Impl::start_call(Call call) {
  if (closed_) {
    if (call.done) call.done(fail(Error{Errc::kUnavailable, "client closed"}));
    return;
  }
  const TimeUs now = now_us();
  TimeUs budget = timeout_us(call.timeout);
  // Until the replicas confirm waiting requests (kPending replies), a rd/in cannot tell a slow
  // service from a legitimate wait: give it the whole wait on top of the timeout.
  if (call.waits) budget = call.wait.count() == 0 ? kNever : budget + timeout_us(call.wait);
  call.deadline_us = budget >= kNever - now ? kNever : now + budget;
  queued_.push_back(std::move(call));
  admit_queued();
  flush();
}

void Client::Impl::admit_queued() {
  if (core_.stranded() >= kStrandedMax) {
    // Admit nothing until the calls in flight end (or only confirmed waits are left), then go on
    // in a new session.
    if (in_flight_.size() > confirmed_waiting_) return;
    reset_session();
  }
  while (!queued_.empty() && in_flight_.size() - confirmed_waiting_ < kInFlightMax) {
    Call call = std::move(queued_.front());
    queued_.pop_front();
    const std::uint64_t number = core_.submit(std::move(call.payload), call.read_only, now_us());
    call.payload.clear();
    in_flight_.emplace(number, std::move(call));
  }
}

void Client::Impl::on_frame(bft::ReplicaId replica, codec::ByteView frame) {
  // Status reports bypass ClientCore (they answer status(), not a request): route by the type
  // byte of the envelope (version, type, body).
  if (frame.size() >= 2 && frame[1] == static_cast<std::uint8_t>(bft::MsgType::kStatusReport)) {
    on_status_report(replica, frame);
    rearm();
    return;
  }
  core_.on_reply(replica, frame, now_us());
  flush();
}

void Client::Impl::on_timer() {
  const TimeUs now = now_us();
  core_.on_tick(now);
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline_us > now) {
      ++it;
      continue;
    }
    const std::uint64_t number = it->first;
    Call call = std::move(it->second);
    it = in_flight_.erase(it);
    if (call.confirmed_waiting) --confirmed_waiting_;
    expire(number, std::move(call));
  }
  for (auto it = queued_.begin(); it != queued_.end();) {
    if (it->deadline_us > now) {
      ++it;
      continue;
    }
    Call call = std::move(*it);
    it = queued_.erase(it);
    if (call.done) call.done(fail(unavailable(call)));
  }
  std::vector<std::uint64_t> finished;
  for (auto& [nonce, status] : status_calls_) {
    if (status.deadline_us <= now || status_settled(status, now)) {
      finished.push_back(nonce);
    } else if (status.next_send_us <= now) {
      send_status_queries(nonce, status, now);
    }
  }
  for (std::uint64_t nonce : finished) finish_status(nonce);
  admit_queued();
  flush();
}

void Client::Impl::expire(std::uint64_t number, Call call) {
  core_.abandon(number);
  if (call.waits) send_cancel(number);
  if (call.done) call.done(fail(unavailable(call)));
}

void Client::Impl::reset_session() {
  // Calls abandoned while no quorum answered (an outage) may never have reached a replica, and
  // the replicas take a session's numbers only within a window above the highest they executed.
  // Past kStrandedMax of them a fresh session, numbered from 1 again, is the way out; the
  // replicas forget the old one in time (sessions_per_principal_max).
  // Waits the replicas confirmed are cancelled in the old session (without waiting for the
  // answer) and fail here: their results would come back under the old session.
  for (auto& [number, call] : in_flight_) {
    core_.abandon(number);
    core_.submit(ts::encode_request(ts::Request{ts::Cancel{number}}), false, now_us());
    if (call.done) {
      call.done(
          fail(Error{Errc::kUnavailable,
                     "the client started a new session after " + std::to_string(core_.stranded()) +
                         " calls went unanswered; this " + call.op + " was cancelled"}));
    }
  }
  in_flight_.clear();
  confirmed_waiting_ = 0;
  for (const bft::ClientSend& send : core_.take_output().sends) transport_.broadcast(send.bytes);
  setup_.session = random_session();
  core_ = make_core();
}

void Client::Impl::send_cancel(std::uint64_t waiting_number) {
  Call cancel;
  cancel.op = "cancel";
  cancel.payload = ts::encode_request(ts::Request{ts::Cancel{waiting_number}});
  cancel.timeout = setup_.timeout;
  cancel.deadline_us = now_us() + timeout_us(cancel.timeout);
  queued_.push_back(std::move(cancel));
}

void Client::Impl::flush() {
  // Completing calls admits queued ones, whose submission produces output again.
  for (;;) {
    bft::ClientOutput out = core_.take_output();
    if (out.sends.empty() && out.completions.empty()) break;
    for (const bft::ClientSend& send : out.sends) {
      if (send.to) {
        transport_.send_to_replica(*send.to, send.bytes);
      } else {
        transport_.broadcast(send.bytes);
      }
    }
    for (const bft::ClientCompletion& completion : out.completions) complete(completion);
    admit_queued();
  }
  rearm();
}

void Client::Impl::complete(const bft::ClientCompletion& completion) {
  auto it = in_flight_.find(completion.number);
  if (it == in_flight_.end()) return;
  Call& call = it->second;
  // kPending (5): f+1 replicas confirmed the request waits. Compared by value so this builds
  // before and after bft/core names it; ClientCore keeps the request in flight for the result.
  constexpr std::uint8_t kPendingStatus = 5;
  if (static_cast<std::uint8_t>(completion.status) == kPendingStatus) {
    if (call.waits && !call.confirmed_waiting) {
      call.confirmed_waiting = true;
      ++confirmed_waiting_;
      const TimeUs now = now_us();
      const TimeUs budget =
          call.wait.count() == 0 ? kNever : timeout_us(call.wait) + timeout_us(call.timeout);
      call.deadline_us = budget >= kNever - now ? kNever : now + budget;
    }
    return;
  }
  Call done = std::move(call);
  in_flight_.erase(it);
  if (done.confirmed_waiting) --confirmed_waiting_;
  if (!done.done) return;
  Expected<ts::Reply> reply = client_detail::to_reply(completion.status, completion.result);
  if (reply) {
    if (const auto* sealed = std::get_if<ts::Confidential>(&*reply)) {
      if (!confidential_) {
        reply =
            fail(Error{Errc::kProtocol, "a confidential reply, but the cluster has no PVSS keys"});
      } else if (auto opened = confidential_->open(*sealed, done.space, completion.replies,
                                                   known_fingerprint_key(done.space));
                 !opened) {
        reply = fail(std::move(opened).error());
      } else if (!opened->repairs.empty()) {
        repair_then(std::move(done), std::move(*opened));
        return;
      } else {
        reply = std::move(opened->reply);
      }
    }
  } else if (!done.space.empty() && (reply.error().code == Errc::kNoSuchSpace ||
                                     reply.error().code == Errc::kInvalidArgument)) {
    // The space may have been deleted or re-created since the client learnt of it.
    spaces_.forget(done.space);
  }
  done.done(std::move(reply));
}

std::string Client::Impl::known_fingerprint_key(const std::string& space) const {
  const std::optional<client_detail::SpaceState> state = spaces_.find(space);
  return state ? state->fingerprint_key : std::string();
}

void Client::Impl::repair_then(Call call, client_detail::ClientConfidentiality::Opened opened) {
  struct Pending {
    Call call;
    ts::Reply reply;
    std::size_t left = 0;
    std::string writers;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = opened.repairs.size();
  for (const ts::Repair& r : opened.repairs) {
    if (pending->writers.find("'" + r.writer + "'") == std::string::npos) {
      pending->writers += (pending->writers.empty() ? "'" : ", '") + r.writer + "'";
    }
  }
  pending->call = std::move(call);
  pending->reply = std::move(opened.reply);
  CallOptions options;
  options.timeout = pending->call.timeout;
  for (ts::Repair& r : opened.repairs) {
    // A repair's own outcome does not matter here: a refused or lost one leaves the tuple, which
    // the retry finds again (and repairs again, a bounded number of times).
    submit(ts::Request{std::move(r)}, options, [this, pending](Expected<ts::Reply>) {
      if (--pending->left > 0) return;
      finish_after_repair(std::move(pending->call), std::move(pending->reply),
                          std::move(pending->writers));
    });
  }
}

void Client::Impl::finish_after_repair(Call call, ts::Reply reply, std::string writers) {
  const std::string what = "invalid tuples sealed by " + writers +
                           " were repaired (removed, and their writers denied in space '" +
                           call.space + "')";
  if (std::holds_alternative<ts::FoundAll>(reply)) {
    call.done(std::move(reply));  // the valid tuples; the invalid ones are gone
  } else if (call.op == "replace") {
    // The invalid tuple was taken and the new one inserted: nothing valid to return.
    call.done(fail(Error{Errc::kProtocol, "replace took an invalid tuple: " + what +
                                              "; the new tuple was inserted"}));
  } else if (call.retries_left == 0) {
    call.done(fail(Error{Errc::kProtocol, call.op + " kept finding invalid tuples: " + what}));
  } else {
    --call.retries_left;
    call.payload = call.retry_payload;
    call.confirmed_waiting = false;
    start_call(std::move(call));
  }
}

void Client::Impl::shutdown() {
  closed_ = true;
  const Error closed{Errc::kUnavailable, "client closed"};
  for (auto& [number, call] : in_flight_) {
    if (call.done) call.done(fail(closed));
  }
  in_flight_.clear();
  for (Call& call : queued_) {
    if (call.done) call.done(fail(closed));
  }
  queued_.clear();
  std::deque<Parked> parked = std::move(parked_);
  parked_.clear();
  for (Parked& p : parked) {
    if (p.ready && p.ready->done) p.ready->done(fail(closed));
    if (!p.ready && p.done) p.done(fail(closed));
  }
  while (!status_calls_.empty()) finish_status(status_calls_.begin()->first);
  timer_.cancel();
  transport_.stop();
  work_.reset();
  io_.stop();
}

void Client::Impl::rearm() {
  if (closed_) return;
  std::optional<TimeUs> next = core_.next_tick_us();
  auto earlier = [&next](TimeUs t) {
    if (t != kNever && (!next || t < *next)) next = t;
  };
  for (const auto& [number, call] : in_flight_) earlier(call.deadline_us);
  for (const Call& call : queued_) earlier(call.deadline_us);
  for (const auto& [nonce, status] : status_calls_) {
    earlier(status.deadline_us);
    earlier(status.next_send_us);
  }
  if (next == timer_at_us_) return;
  timer_at_us_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::microseconds(*next)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    timer_at_us_.reset();
    on_timer();
  });
}

std::size_t Client::Impl::links_up() const {
  std::size_t up = 0;
  for (const net::LinkStatus& link : transport_.links()) {
    up += link.state == net::LinkState::kConnected ? 1 : 0;
  }
  return up;
}

Error Client::Impl::unavailable(const Call& call) const {
  if (call.confirmed_waiting) {
    return Error{Errc::kUnavailable, "the replicas confirmed that " + call.op +
                                         " waits, but sent no result within its wait plus " +
                                         seconds_text(call.timeout)};
  }
  // A read that found no 2f+1 agreement has been retried ordered by now: f+1 is what it lacked.
  const std::uint32_t needed = setup_.f + 1;
  return Error{Errc::kUnavailable,
               "no quorum answered " + call.op + " within " + seconds_text(call.timeout) +
                   " (needs " + std::to_string(needed) + " matching replies; connected to " +
                   std::to_string(links_up()) + " of " + std::to_string(setup_.n) + " replicas)"};
}

std::vector<ReplicaInfo> Client::Impl::status(CallOptions call) {
  auto promise = std::make_shared<std::promise<std::vector<ReplicaInfo>>>();
  auto future = promise->get_future();
  const Millis timeout = call.timeout.value_or(setup_.timeout);
  boost::asio::post(io_, [this, timeout, promise] {
    start_status(timeout, [promise](std::vector<ReplicaInfo> infos) {
      promise->set_value(std::move(infos));
    });
  });
  return future.get();
}

void Client::Impl::start_status(Millis timeout,
                                std::function<void(std::vector<ReplicaInfo>)> done) {
  const std::uint64_t nonce = next_nonce_++;
  StatusCall& call = status_calls_[nonce];
  call.timeout = timeout;
  call.reports.resize(setup_.n);
  call.done = std::move(done);
  if (closed_) {
    finish_status(nonce);
    return;
  }
  const TimeUs now = now_us();
  call.started_us = now;
  call.deadline_us = now + timeout_us(timeout);
  send_status_queries(nonce, call, now);
  rearm();
}

void Client::Impl::send_status_queries(std::uint64_t nonce, StatusCall& call, TimeUs now) {
  // A link still connecting queues the query; one in back-off drops it: resend until answered.
  auto frame = std::make_shared<const codec::Bytes>(
      bft::encode_message(bft::Message{bft::StatusQueryMsg{nonce}}));
  for (bft::ReplicaId r = 0; r < setup_.n; ++r) {
    if (!call.reports[r]) transport_.send_to_replica(r, frame);
  }
  call.next_send_us = now + kStatusResendUs;
}

bool Client::Impl::status_settled(const StatusCall& call, TimeUs now) const {
  if (now < call.started_us + kStatusLinkGraceUs) return false;
  const std::vector<net::LinkStatus> links = transport_.links();
  for (bft::ReplicaId r = 0; r < setup_.n; ++r) {
    if (call.reports[r]) continue;
    if (r >= links.size()) return false;
    const net::LinkStatus& link = links[r];
    if (link.state == net::LinkState::kConnected || link.failures == 0) return false;
  }
  return true;
}

void Client::Impl::on_status_report(bft::ReplicaId replica, codec::ByteView frame) {
  auto decoded = bft::decode_message(frame, bft::Channel::kToClient);
  if (!decoded) return;
  auto* report = std::get_if<bft::StatusReportMsg>(&*decoded);
  // Hostile input: a report must come from the replica it names, for a query we asked.
  if (report == nullptr || report->replica != replica || replica >= setup_.n) return;
  auto it = status_calls_.find(report->nonce);
  if (it == status_calls_.end()) return;
  it->second.reports[replica] = *report;
  const bool all = std::all_of(it->second.reports.begin(), it->second.reports.end(),
                               [](const auto& r) { return r.has_value(); });
  if (all) finish_status(it->first);
}

void Client::Impl::finish_status(std::uint64_t nonce) {
  auto it = status_calls_.find(nonce);
  if (it == status_calls_.end()) return;
  StatusCall call = std::move(it->second);
  status_calls_.erase(it);
  const std::vector<net::LinkStatus> links = transport_.links();
  std::vector<ReplicaInfo> infos;
  for (bft::ReplicaId r = 0; r < setup_.n; ++r) {
    ReplicaInfo info;
    info.id = r;
    if (r < setup_.endpoints.size()) info.endpoint = setup_.endpoints[r];
    if (const auto& report = call.reports[r]) {
      info.reachable = true;
      info.view = report->view;
      info.primary = report->primary;
      info.view_changing = report->view_changing;
      info.last_executed = report->last_executed;
      info.stable_checkpoint = report->stable_checkpoint;
      info.agreed_time_us = report->agreed_time_us;
      info.stable_digest = codec::to_hex(report->stable_digest);
    } else if (closed_) {
      info.error = "client closed";
    } else {
      const net::LinkStatus* link = r < links.size() ? &links[r] : nullptr;
      if (link != nullptr && link->state != net::LinkState::kConnected) {
        info.error = link->last_error.empty()
                         ? "not connected (" + std::string(net::link_state_name(link->state)) + ")"
                         : link->last_error;
      } else {
        info.error = "connected, but no answer within " + seconds_text(call.timeout);
      }
    }
    infos.push_back(std::move(info));
  }
  call.done(std::move(infos));
}

}  // namespace bastion
