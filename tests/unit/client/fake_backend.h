// A Backend that records the requests the CLI makes and answers with canned replies, and a
// helper that runs `bastion ARGS...` in-process against it.
//
// Thread-safety: none; one test thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "tuplespace/text.h"

namespace bastion::cli::testing {

class FakeBackend final : public Backend {
 public:
  Expected<ts::Reply> execute(const ts::Request& request, CallOptions call) override {
    requests.push_back(request);
    calls.push_back(call);
    return answer(request);
  }
  std::vector<ReplicaInfo> status(CallOptions call) override {
    calls.push_back(call);
    ++status_calls;
    return replicas;
  }

  std::vector<ts::Request> requests;
  std::vector<CallOptions> calls;
  int status_calls = 0;
  std::function<Expected<ts::Reply>(const ts::Request&)> answer = [](const ts::Request&) {
    return Expected<ts::Reply>(ts::Reply{ts::Ack{}});
  };
  std::vector<ReplicaInfo> replicas;
};

// Hands the CLI a backend that forwards to a FakeBackend the test keeps.
class Forwarder final : public Backend {
 public:
  explicit Forwarder(FakeBackend& fake) : fake_(fake) {}
  Expected<ts::Reply> execute(const ts::Request& request, CallOptions call) override {
    return fake_.execute(request, call);
  }
  std::vector<ReplicaInfo> status(CallOptions call) override { return fake_.status(call); }

 private:
  FakeBackend& fake_;
};

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the tool; `connects` records the options of every connection made.
struct Harness {
  FakeBackend fake;
  Environment env;
  std::vector<GlobalOptions> connects;
  std::optional<Error> connect_error;  // set: connecting fails with it

  BackendFactory factory() {
    return [this](const GlobalOptions& g) -> Expected<std::unique_ptr<Backend>> {
      connects.push_back(g);
      if (connect_error) return fail(*connect_error);
      return std::unique_ptr<Backend>(std::make_unique<Forwarder>(fake));
    };
  }

  RunResult run(const std::vector<std::string>& args) {
    Services services;
    services.env = env;
    services.connect = factory();
    std::ostringstream out;
    std::ostringstream err;
    RunResult r;
    r.code = cli::run(args, services, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
};

inline Tuple tup(std::string_view text) { return *ts::parse_tuple(text); }
inline Template tmpl(std::string_view text) { return *ts::parse_template(text); }
inline ts::TupleSpec spec(std::string_view text, std::uint64_t lease_ms = 0,
                          std::vector<std::string> readers = {},
                          std::vector<std::string> removers = {}) {
  return ts::TupleSpec{tup(text), lease_ms, std::move(readers), std::move(removers)};
}

}  // namespace bastion::cli::testing
