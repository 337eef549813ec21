// What `bastion` prints on stdout, in text or JSON (docs/cli.md, "Output", is the reference).
//
// Text: each tuple on its own line in the tuple syntax; other results as short `key=value` lines
// or a table (status). JSON: one value per line (JSON Lines), tuples as tuplespace/text.h's
// to_json arrays. Commands that only succeed print nothing in text and {"ok":true} in JSON; a
// template that matched nothing prints nothing in text and null in JSON.
//
// Thread-safety: a Printer writes to one stream; use it from one thread.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "tuplespace/ops.h"

namespace bastion::cli {

// A JSON string literal for arbitrary bytes (invalid UTF-8 becomes {"string_hex":"..."}).
std::string json_string(std::string_view s);

class Printer {
 public:
  Printer(std::ostream& out, bool json) : out_(out), json_(json) {}

  void tuple(const Tuple& tuple);
  void no_match();
  void ok();
  void cas_inserted();
  void cas_existing(const Tuple& existing);
  // space list: one line (object) per space; the policy only as yes/no (policy_bytes).
  void spaces(const std::vector<ts::SpaceInfo>& spaces);
  // space show: the space's list line, its access lists and its policy script.
  void space(const ts::SpaceInfo& space);
  void status(const std::vector<ReplicaInfo>& replicas);
  void cluster_file(const std::string& path);
  void identity_dir(const std::string& path);
  void key_file(const std::string& path);

 private:
  std::ostream& out_;
  bool json_;
};

}  // namespace bastion::cli
