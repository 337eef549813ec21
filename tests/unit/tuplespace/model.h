// A naive reference model of the tuple-space semantics, for differential testing of Engine.
//
// Written from the specification (docs/tuplespace.md), not from the engine: tuples in a vector in
// insertion order, waiters in a vector in arrival order, every lookup a linear scan with
// ts::matches(). No indexes, no byte-level matching, no expiry index. It must produce the same
// replies (error codes; messages are not compared) and completions as Engine for any call
// sequence.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tuplespace/ops.h"

namespace bastion::ts::testing {

class Model {
 public:
  Outcome execute(const Context& ctx, const Request& request);
  Outcome execute_read_only(const Context& ctx, const Request& request) const;
  std::vector<Completion> advance(std::int64_t now_ms);
  std::vector<Completion> cancel_session(const std::string& client, std::uint64_t session);
  std::optional<std::int64_t> next_deadline() const;

 private:
  struct StoredTuple {
    Tuple tuple;
    std::optional<std::int64_t> expiry_ms;
    std::vector<std::string> readers;  // empty: everyone
    std::vector<std::string> removers;
    std::string owner;
  };
  struct Space {
    SpaceOptions options;
    std::vector<StoredTuple> tuples;  // insertion order
  };
  struct Wait {
    std::string space;
    WaiterKey key;
    bool takes = false;
    Template tmpl;
    std::optional<std::int64_t> deadline_ms;
  };

  Reply apply(const Context& ctx, std::int64_t now, const Request& request,
              std::vector<Completion>& done);
  Reply read(const Context& ctx, std::int64_t now, const Request& request) const;
  // Index of the oldest tuple visible at now, readable by client, matching tmpl.
  static std::optional<std::size_t> oldest(const Space& s, const Template& tmpl,
                                           const std::string& client, std::int64_t now,
                                           bool timed_only = false);
  void put(const std::string& space, const std::string& client, std::int64_t now,
           const TupleSpec& spec, std::vector<Completion>& done);
  std::size_t owned_by(const Space& s, const std::string& client) const;
  std::size_t waits_of(const std::string& space, const std::string& client) const;

  std::map<std::string, Space> spaces_;
  std::vector<Wait> waits_;  // arrival order
  std::int64_t now_ms_ = 0;
};

// The reply with error messages blanked (the model does not reproduce message text).
Reply without_message(Reply reply);
Outcome without_messages(Outcome outcome);

}  // namespace bastion::ts::testing
