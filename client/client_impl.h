// Client::Impl: the engine behind bastion::Client (internal header).
//
// One I/O thread runs a boost::asio io_context that owns everything stateful: the ClientTransport
// (TLS links to every replica), the bft::ClientCore (request numbers, retransmission, voting), the
// table of calls in flight and one timer. Calls from any thread are posted to it; each call ends
// exactly once, by invoking its callback on the I/O thread: with the agreed reply, an error
// agreed by the replicas, `unavailable` when its deadline passes, or `unavailable` ("client
// closed") at shutdown.
//
// Deadlines: a call's deadline is its timeout from the moment it was made. A blocking rd/in whose
// waiting f+1 replicas confirmed (a kPending completion) gets a new deadline: the wait plus the
// timeout as a margin, or none for wait 0. A call past its deadline is abandoned in ClientCore
// (late replies are ignored); an abandoned rd/in also sends a Cancel so the replicas drop the
// waiter.
//
// At most kInFlightMax requests are in ClientCore at once (the replicas hold only a window of a
// session's request numbers); more calls wait in a local queue, in call order, with their
// deadlines running.
//
// Thread-safety: submit() and status() from any thread; everything else on the I/O thread.
#pragma once

#include <utility>  // before asio: Boost 1.74's asio needs std::exchange declared (see bft/net/asio.h)

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bft/core/client_core.h"
#include "bft/net/client_transport.h"
#include "client/client.h"
#include "client/confidential.h"

namespace bastion {

// A fresh random session number (never 0).
std::uint64_t random_session();

// Everything the engine needs, resolved from the cluster file and the identity by connect().
struct ClientSetup {
  std::uint32_t n = 0;
  std::uint32_t f = 0;
  std::uint64_t session = 0;
  Millis timeout{10'000};
  std::size_t request_bytes_max = 0;   // what a replica accepts from a client in one frame
  std::vector<std::string> endpoints;  // "host:port" by replica id
  net::ClientTransportOptions transport;
  // Confidential spaces: the cluster's PVSS parameters (none when the replicas have no PVSS keys)
  // and the identity's fingerprint secret (none when it has no fingerprint.key).
  std::optional<confidentiality::Pvss> pvss;
  std::optional<client_detail::ClientConfidentiality::Secret> fingerprint_secret;
  std::filesystem::path identity_dir;  // per-space keys: space-keys/<space>.key
};

class Client::Impl {
 public:
  using Callback = std::function<void(Expected<ts::Reply>)>;

  explicit Impl(ClientSetup setup);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Starts the transport and the I/O thread; the error says why the identity is unusable.
  Result<Done, std::string> start();

  void submit(const ts::Request& request, CallOptions call, Callback done);

  // submit() with a future of the reply converted on the I/O thread.
  template <class T, class Convert>
  std::future<Expected<T>> call(const ts::Request& request, CallOptions options, Convert convert) {
    auto promise = std::make_shared<std::promise<Expected<T>>>();
    auto future = promise->get_future();
    submit(request, options,
           [promise, convert = std::move(convert)](Expected<ts::Reply> reply) mutable {
             promise->set_value(convert(std::move(reply)));
           });
    return future;
  }
  std::vector<ReplicaInfo> status(CallOptions call);

  const std::string& principal() const { return principal_; }
  std::vector<std::uint64_t> invalid_shares() const {
    return confidential_ ? confidential_->invalid_shares() : std::vector<std::uint64_t>{};
  }
  std::uint32_t n() const { return setup_.n; }
  std::uint32_t f() const { return setup_.f; }

 private:
  using TimeUs = bft::TimeUs;
  static constexpr TimeUs kNever = std::numeric_limits<TimeUs>::max();
  static constexpr std::size_t kInFlightMax = 128;
  // Abandoned ordered requests that make the client start a new session: well inside the
  // replicas' default client_window (256), so later numbers never leave it.
  static constexpr std::size_t kStrandedMax = 64;

  struct Call {
    std::string op;     // "rdp", "cancel", ...: for messages
    std::string space;  // the space of a tuple operation, else empty
    codec::Bytes payload;
    bool read_only = false;
    bool waits = false;  // rd/in
    Millis wait{0};
    Millis timeout{0};
    TimeUs deadline_us = kNever;
    bool confirmed_waiting = false;
    Callback done;  // empty for the client's own requests (cancel)
    // Calls on a confidential space: the sealed request again, for a retry after a repair, and
    // how many more such retries it may take.
    codec::Bytes retry_payload;
    int retries_left = 0;
  };
  // How often a call on a confidential space is retried after the tuples it found were repaired
  // (removed as invalid), before it fails.
  static constexpr int kRepairRetries = 3;

  // One status() call: a StatusQueryMsg to every replica (resent to the silent ones), and the
  // reports that came back, by replica id.
  struct StatusCall {
    TimeUs started_us = 0;
    TimeUs deadline_us = 0;
    TimeUs next_send_us = 0;
    Millis timeout{0};
    std::vector<std::optional<bft::StatusReportMsg>> reports;
    std::function<void(std::vector<ReplicaInfo>)> done;
  };
  static constexpr TimeUs kStatusResendUs = 250'000;
  // After this long, a status call does not wait for replicas whose link is down and has failed
  // at least once (connection refused, ...): they cannot answer before the link is back.
  static constexpr TimeUs kStatusLinkGraceUs = 500'000;

  static TimeUs now_us();
  TimeUs timeout_us(Millis timeout) const;

  // A call made before the client knew whether its space is confidential, or one made after such
  // a call (`ready`): they start in call order once the space is known (I/O thread).
  struct Parked {
    ts::Request request;
    CallOptions options;
    Callback done;
    bool resolved = false;  // asked already; an unknown space goes as it is
    std::optional<Call> ready;
  };
  // True when `p` is a tuple operation whose space the client must learn first.
  bool needs_space(const Parked& p) const;
  // Starts parked calls in order, up to one whose space must be learnt (then asks for it).
  void drain_parked();
  // Asks the replicas about the first parked call's space (space show).
  void resolve_front();
  // The call for a request whose space is known (sealed when confidential), or nothing when it
  // failed at once (`done` was called).
  std::optional<Call> make_call(Parked p);

  // I/O thread only.
  void start_call(Call call);
  void admit_queued();
  void on_frame(bft::ReplicaId replica, codec::ByteView frame);
  void on_timer();
  void flush();
  void complete(const bft::ClientCompletion& completion);
  // `call` found invalid confidential tuples: sends their repairs, then ends or retries the call
  // (finish_after_repair).
  // The public fingerprint key of `space` as last learnt (empty: not known).
  std::string known_fingerprint_key(const std::string& space) const;
  void repair_then(Call call, client_detail::ClientConfidentiality::Opened opened);
  void finish_after_repair(Call call, ts::Reply reply, std::string writers);
  void expire(std::uint64_t number, Call call);
  // A new session (a new ClientCore) once the old one stranded too many numbers (see
  // ClientCore::stranded); called when nothing but confirmed waits is in flight.
  void reset_session();
  // A ClientCore for the current session; its voting knows confidential replies.
  bft::ClientCore make_core();
  void send_cancel(std::uint64_t waiting_number);
  void start_status(Millis timeout, std::function<void(std::vector<ReplicaInfo>)> done);
  void send_status_queries(std::uint64_t nonce, StatusCall& call, TimeUs now);
  void on_status_report(bft::ReplicaId replica, codec::ByteView frame);
  bool status_settled(const StatusCall& call, TimeUs now) const;
  void finish_status(std::uint64_t nonce);
  void shutdown();
  void rearm();
  Error unavailable(const Call& call) const;
  std::size_t links_up() const;

  ClientSetup setup_;
  std::string principal_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  net::ClientTransport transport_;
  std::optional<client_detail::ClientConfidentiality> confidential_;  // set by start()
  client_detail::SpaceCache spaces_;
  bft::ClientCore core_;
  boost::asio::steady_timer timer_;
  std::optional<TimeUs> timer_at_us_;
  std::map<std::uint64_t, Call> in_flight_;  // by request number
  std::deque<Call> queued_;
  std::deque<Parked> parked_;
  bool resolving_ = false;             // a space show for parked_.front() is on its way
  std::size_t confirmed_waiting_ = 0;  // calls in in_flight_ with confirmed_waiting
  std::map<std::uint64_t, StatusCall> status_calls_;  // by nonce
  std::uint64_t next_nonce_ = 1;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace bastion
