// bastion::Client: the C++ client library of Bastion.
//
// A Client connects to every replica of a cluster (TLS with the identity's certificate), sends each
// request to all of them and accepts a result once f+1 replicas sent matching replies (2f+1 for
// reads served without ordering, which otherwise are retried ordered). It retransmits, survives a
// faulty or crashed primary (the replicas change view), and keeps many requests in flight.
//
// Every operation comes in two forms:
//   auto t = client.rdp("jobs", tmpl);              // blocking: Expected<std::optional<Tuple>>
//   auto f = client.rdp_async("jobs", tmpl);        // std::future<Expected<...>>
// Errors are values (Expected<T> = Result<T, Error>): the code is stable (the service's codes plus
// the client's own: unavailable when no quorum answered in time), the message says what and why.
// A template that matches nothing is not an error: the optional is empty (rdp, inp, replace,
// renew) or the vector is (rdAll, inAll); a rd/in whose wait timed out returns an empty optional.
//
// Timeouts: each call has a timeout (CallOptions, else ClientOptions::timeout) for reaching a
// quorum. A call that gets no accepted result within it fails with `unavailable`, and the client
// forgets it (its outcome is then unknown: an `out` may still have been executed). A blocking
// rd/in needs the timeout only to reach the service: once f+1 replicas confirmed that the request
// waits, the call lasts as long as the wait (plus the timeout as a margin; forever for wait 0).
//
// Thread-safety: a Client may be used from any number of threads at once; futures complete on
// the client's own I/O thread (do not block inside continuations). Destroying the Client fails
// every call still in flight with code `unavailable` ("client closed"); a Client must not be
// destroyed while another thread is still inside one of its calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/result.h"
#include "tuplespace/ops.h"
#include "tuplespace/value.h"

namespace bastion {

using ts::Template;
using ts::Tuple;

enum class Errc : std::uint8_t {
  // The service's codes (ts::ErrorCode, same values).
  kOk = 0,
  kNotFound = 1,
  kNoSuchSpace = 2,
  kSpaceExists = 3,
  kTooLarge = 4,
  kQuotaExceeded = 5,
  kDenied = 6,
  kInvalidArgument = 7,
  kTimedOut = 8,
  kCancelled = 9,
  kMalformed = 10,
  kUnsupported = 11,
  // The client's own.
  kUnavailable = 100,  // no quorum of matching replies within the call's timeout
  kRejected = 101,     // refused by the replication layer (request too large, stale number)
  kConfig = 102,       // cluster file or identity unusable (the message names file and problem)
  kProtocol = 103,     // replies that cannot be decoded (a bug or f+1 faulty replicas)
};

// "not_found", "unavailable", ...: stable names for logs and --json output.
std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::kOk;
  std::string message;
};

template <class T>
using Expected = Result<T, Error>;

using Millis = std::chrono::milliseconds;

struct ClientOptions {
  std::string cluster_file;  // cluster.toml
  // A directory holding cert.pem and key.pem (and optionally ca.pem), or the name of an identity
  // of the cluster (<cluster dir>/identities/<name>/). Empty: the cluster file's default_identity.
  std::string identity_dir;
  Millis timeout{10'000};  // default per-call timeout (waiting for a quorum)
};

// How a tuple is inserted: lease (0 = none) and access lists (empty = everyone).
struct Insert {
  Millis lease{0};
  std::vector<std::string> readers;
  std::vector<std::string> removers;
};

struct CasOutcome {
  bool inserted = false;
  std::optional<Tuple> existing;  // the match that prevented the insertion
};

// Per-call options: timeout overrides ClientOptions::timeout. protection (confidential spaces
// only) gives the protection of each field of the call's tuples and template (ts::kProtection*,
// the last entry repeating for longer tuples); empty: the space's default.
struct CallOptions {
  std::optional<Millis> timeout;
  std::vector<std::uint8_t> protection = {};
};

// What `bastion status` shows for one replica: its own report, answered to a status query without
// ordering. `reachable` means it answered within the call's timeout; the other numbers are
// meaningful only then. A faulty replica may report anything: compare the reports.
struct ReplicaInfo {
  std::uint32_t id = 0;
  std::string endpoint;  // host:port
  bool reachable = false;
  std::uint64_t view = 0;
  std::uint32_t primary = 0;
  bool view_changing = false;
  std::uint64_t last_executed = 0;
  std::uint64_t stable_checkpoint = 0;
  std::int64_t agreed_time_us = 0;  // the agreed time of its last executed batch
  std::string stable_digest;        // hex state digest of its stable checkpoint
  std::string error;                // why it is unreachable, empty otherwise
};

class Client {
 public:
  // Loads the cluster file and identity, connects to every replica. Fails with kConfig for an
  // unusable file or identity; connecting is asynchronous (calls wait for a quorum).
  static Expected<std::unique_ptr<Client>> connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& principal() const;
  std::uint32_t n() const;
  std::uint32_t f() const;

  // ---- spaces (create, delete, set_policy, set_access: admins only) ----
  // options.policy is the space's Lua policy script (empty: none), which the service compiles:
  // a script that does not compile fails with kInvalidArgument and Lua's message.
  // options.access holds the space's access lists; an entry is an identity name or a group of
  // the cluster file as "@name", and an empty list means every client. A confidential space
  // (options.confidential) gets the fingerprint key derived from this identity's fingerprint
  // secret and, when options.protection is empty, the default protection `co` (every field
  // comparable); docs/confidentiality.md.
  Expected<Done> create_space(std::string_view space, const ts::SpaceOptions& options = {},
                              CallOptions call = {});
  Expected<Done> delete_space(std::string_view space, CallOptions call = {});
  // Every space with its options and tuple count. The scripts are left out (options.policy is
  // empty): SpaceInfo::policy_bytes says whether a space has one, show_space gives it.
  Expected<std::vector<ts::SpaceInfo>> list_spaces(CallOptions call = {});
  // One space, its policy script included (policy_bytes is the script's size).
  Expected<ts::SpaceInfo> show_space(std::string_view space, CallOptions call = {});
  // Replaces the space's policy script; an empty policy removes it. Same checks as create_space.
  Expected<Done> set_policy(std::string_view space, std::string_view policy, CallOptions call = {});
  // Replaces the access lists whose bit (ts::kAccessInserters, kAccessReaders, kAccessRemovers)
  // is set in `lists` with those of `access`; the others are kept, and must be empty in `access`.
  // Entries as for create_space ("alice", "@ops"); an empty list means every client.
  Expected<Done> set_access(std::string_view space, std::uint8_t lists,
                            const ts::SpaceAccess& access, CallOptions call = {});

  // ---- tuples ----
  Expected<Done> out(std::string_view space, const Tuple& tuple, const Insert& how = {},
                     CallOptions call = {});
  Expected<Done> out_all(std::string_view space, const std::vector<ts::TupleSpec>& entries,
                         CallOptions call = {});
  Expected<std::optional<Tuple>> rdp(std::string_view space, const Template& tmpl,
                                     CallOptions call = {});
  Expected<std::optional<Tuple>> inp(std::string_view space, const Template& tmpl,
                                     CallOptions call = {});
  // Block until a match exists or `wait` passes in agreed time (0 = forever). The call timeout
  // covers reaching the service; once f+1 replicas confirmed the request waits, the call waits
  // as long as the wait lasts.
  Expected<std::optional<Tuple>> rd(std::string_view space, const Template& tmpl, Millis wait,
                                    CallOptions call = {});
  Expected<std::optional<Tuple>> in(std::string_view space, const Template& tmpl, Millis wait,
                                    CallOptions call = {});
  Expected<CasOutcome> cas(std::string_view space, const Template& tmpl, const Tuple& tuple,
                           const Insert& how = {}, CallOptions call = {});
  // The removed tuple, or empty if nothing matched (then nothing was inserted).
  Expected<std::optional<Tuple>> replace(std::string_view space, const Template& tmpl,
                                         const Tuple& tuple, const Insert& how = {},
                                         CallOptions call = {});
  // The renewed tuple, or empty if no timed tuple matched.
  Expected<std::optional<Tuple>> renew(std::string_view space, const Template& tmpl, Millis lease,
                                       CallOptions call = {});
  Expected<std::vector<Tuple>> rd_all(std::string_view space, const Template& tmpl,
                                      std::uint64_t max = 0, CallOptions call = {});
  Expected<std::vector<Tuple>> in_all(std::string_view space, const Template& tmpl,
                                      std::uint64_t max = 0, CallOptions call = {});

  // ---- asynchronous forms (same semantics) ----
  std::future<Expected<Done>> out_async(std::string_view space, const Tuple& tuple,
                                        const Insert& how = {}, CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> rdp_async(std::string_view space,
                                                        const Template& tmpl,
                                                        CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> inp_async(std::string_view space,
                                                        const Template& tmpl,
                                                        CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> rd_async(std::string_view space, const Template& tmpl,
                                                       Millis wait, CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> in_async(std::string_view space, const Template& tmpl,
                                                       Millis wait, CallOptions call = {});
  std::future<Expected<CasOutcome>> cas_async(std::string_view space, const Template& tmpl,
                                              const Tuple& tuple, const Insert& how = {},
                                              CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> replace_async(std::string_view space,
                                                            const Template& tmpl,
                                                            const Tuple& tuple,
                                                            const Insert& how = {},
                                                            CallOptions call = {});
  std::future<Expected<std::optional<Tuple>>> renew_async(std::string_view space,
                                                          const Template& tmpl, Millis lease,
                                                          CallOptions call = {});
  std::future<Expected<std::vector<Tuple>>> rd_all_async(std::string_view space,
                                                         const Template& tmpl,
                                                         std::uint64_t max = 0,
                                                         CallOptions call = {});
  std::future<Expected<std::vector<Tuple>>> in_all_async(std::string_view space,
                                                         const Template& tmpl,
                                                         std::uint64_t max = 0,
                                                         CallOptions call = {});

  // Any operation, with the service's reply as is (an error reply is an Expected error).
  std::future<Expected<ts::Reply>> execute_async(const ts::Request& request, CallOptions call = {});
  // The same, but `done` is called on the client's I/O thread when the call ends: no future and
  // no hand-off between threads, for programs that keep many calls going (a load generator, an
  // event loop). `done` must return quickly and must not wait for another call of this client;
  // it may start new ones.
  void execute_then(const ts::Request& request, std::function<void(Expected<ts::Reply>)> done,
                    CallOptions call = {});
  Expected<ts::Reply> execute(const ts::Request& request, CallOptions call = {});

  // Per replica, in id order: reachable, view, primary, last executed, stable checkpoint (each
  // replica answers for itself; those that do not answer within the timeout are unreachable).
  // Waits until every replica answered, the timeout passed, or (after 0.5 s) every silent replica
  // is one whose connection is down and failing.
  std::vector<ReplicaInfo> status(CallOptions call = {});

  // Confidential spaces: per replica id, the replies whose opened shares failed verification (a
  // replica that lied about a confidential tuple, or whose reply was damaged). They were not
  // counted; the result came from the other replicas. Empty when the cluster has no PVSS keys.
  std::vector<std::uint64_t> invalid_shares_by_replica() const;

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bastion
