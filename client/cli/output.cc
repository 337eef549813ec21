// Output formats; see output.h.
#include "client/cli/output.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "tuplespace/text.h"

namespace bastion::cli {
namespace {

// A name as it is, when it is plain enough to stand alone on a line; else in tuple-string syntax
// (quoted, escaped), so odd bytes never reach the terminal raw.
std::string plain_or_quoted(std::string_view name) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == ':' || c == '/';
  });
  return plain ? std::string(name) : ts::to_text(ts::Value(std::string(name)));
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }
const char* json_bool(bool b) { return b ? "true" : "false"; }

// An access list entry ("alice", "@ops") as it is when plain, else quoted like a space name.
std::string entry_text(std::string_view entry) {
  const std::string_view name = entry.starts_with('@') ? entry.substr(1) : entry;
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  return plain ? std::string(entry) : ts::to_text(ts::Value(std::string(entry)));
}

// "alice,@ops"; "*" for an empty list (everyone).
std::string list_text(const std::vector<std::string>& list) {
  if (list.empty()) return "*";
  std::string text;
  for (const std::string& entry : list) {
    if (!text.empty()) text += ',';
    text += entry_text(entry);
  }
  return text;
}

std::string list_json(const std::vector<std::string>& list) {
  std::string json = "[";
  for (const std::string& entry : list) {
    if (json.size() > 1) json += ',';
    json += json_string(entry);
  }
  return json + "]";
}

// A confidential space's protection vector, "pu,co,pr" (from the replicas: any byte prints).
std::string protection_text(const std::vector<std::uint8_t>& protection) {
  static constexpr const char* kNames[] = {"pu", "co", "pr"};
  std::string out;
  for (std::uint8_t p : protection) {
    if (!out.empty()) out += ',';
    out += p < 3 ? kNames[p] : std::to_string(p);
  }
  return out;
}

// The line of `space list` for one space (without the newline).
std::string space_line(const ts::SpaceInfo& s) {
  const ts::SpaceOptions& o = s.options;
  return plain_or_quoted(s.name) + " tuples=" + std::to_string(s.tuples) +
         " max_tuples=" + std::to_string(o.tuples_max) +
         " max_tuple_bytes=" + std::to_string(o.tuple_bytes_max) +
         " confidential=" + yes_no(o.confidential) +
         (o.confidential ? " protect=" + protection_text(o.protection) : "") +
         " policy=" + yes_no(s.policy_bytes > 0);
}

// The JSON object of a space, `policy` given as a JSON value (without the newline).
std::string space_json(const ts::SpaceInfo& s, const std::string& policy) {
  const ts::SpaceOptions& o = s.options;
  return "{\"name\":" + json_string(s.name) + ",\"tuples\":" + std::to_string(s.tuples) +
         ",\"max_tuples\":" + std::to_string(o.tuples_max) +
         ",\"max_tuple_bytes\":" + std::to_string(o.tuple_bytes_max) +
         ",\"max_fields\":" + std::to_string(o.fields_max) +
         ",\"max_tuples_per_client\":" + std::to_string(o.tuples_per_client_max) +
         ",\"max_waiters_per_client\":" + std::to_string(o.waiters_per_client_max) +
         ",\"confidential\":" + json_bool(o.confidential) +
         (o.confidential ? ",\"protect\":" + json_string(protection_text(o.protection)) : "") +
         ",\"policy\":" + policy + ",\"inserters\":" + list_json(o.access.inserters) +
         ",\"readers\":" + list_json(o.access.readers) +
         ",\"removers\":" + list_json(o.access.removers) + "}";
}

}  // namespace

std::string json_string(std::string_view s) { return ts::to_json(ts::Value(std::string(s))); }

void Printer::tuple(const Tuple& tuple) {
  out_ << (json_ ? ts::to_json(tuple) : ts::to_text(tuple)) << '\n';
}

void Printer::no_match() {
  if (json_) out_ << "null\n";
}

void Printer::ok() {
  if (json_) out_ << "{\"ok\":true}\n";
}

void Printer::cas_inserted() {
  if (json_) out_ << "{\"inserted\":true}\n";
}

void Printer::cas_existing(const Tuple& existing) {
  if (json_) {
    out_ << "{\"inserted\":false,\"existing\":" << ts::to_json(existing) << "}\n";
  } else {
    out_ << ts::to_text(existing) << '\n';
  }
}

void Printer::spaces(const std::vector<ts::SpaceInfo>& spaces) {
  for (const ts::SpaceInfo& s : spaces) {
    // List replies leave the scripts out: policy_bytes says whether there is one.
    out_ << (json_ ? space_json(s, json_bool(s.policy_bytes > 0)) : space_line(s)) << '\n';
  }
}

void Printer::space(const ts::SpaceInfo& space) {
  const ts::SpaceOptions& o = space.options;
  if (json_) {
    out_ << space_json(space, o.policy.empty() ? "null" : json_string(o.policy)) << '\n';
    return;
  }
  out_ << space_line(space) << '\n'
       << "inserters=" << list_text(o.access.inserters)
       << " readers=" << list_text(o.access.readers) << " removers=" << list_text(o.access.removers)
       << '\n';
  if (o.policy.empty()) {
    out_ << "policy=none\n";
    return;
  }
  out_ << "policy=" << o.policy.size() << " bytes\n" << o.policy;
  if (o.policy.back() != '\n') out_ << '\n';
}

void Printer::status(const std::vector<ReplicaInfo>& replicas) {
  if (json_) {
    for (const ReplicaInfo& r : replicas) {
      out_ << "{\"id\":" << r.id << ",\"endpoint\":" << json_string(r.endpoint)
           << ",\"reachable\":" << json_bool(r.reachable);
      if (r.reachable) {
        out_ << ",\"view\":" << r.view << ",\"primary\":" << r.primary
             << ",\"view_changing\":" << json_bool(r.view_changing)
             << ",\"last_executed\":" << r.last_executed
             << ",\"stable_checkpoint\":" << r.stable_checkpoint
             << ",\"agreed_time_us\":" << r.agreed_time_us
             << ",\"stable_digest\":" << json_string(r.stable_digest);
      } else {
        out_ << ",\"view\":null,\"primary\":null,\"view_changing\":null,\"last_executed\":null,"
                "\"stable_checkpoint\":null,\"agreed_time_us\":null,\"stable_digest\":null";
      }
      if (!r.error.empty()) out_ << ",\"error\":" << json_string(r.error);
      out_ << "}\n";
    }
    return;
  }
  // A table: header, one row per replica; "-" where the replica did not say.
  constexpr std::size_t kColumns = 7;
  using Row = std::array<std::string, kColumns>;
  std::vector<Row> rows;
  rows.push_back({"REPLICA", "ENDPOINT", "REACHABLE", "VIEW", "PRIMARY", "LAST_EXECUTED",
                  "STABLE_CHECKPOINT"});
  std::vector<std::string> notes(1);
  for (const ReplicaInfo& r : replicas) {
    const bool known = r.reachable;
    auto num = [known](std::uint64_t v) { return known ? std::to_string(v) : std::string("-"); };
    std::string view = num(r.view);
    if (known && r.view_changing) view += "*";
    rows.push_back({std::to_string(r.id), r.endpoint, yes_no(r.reachable), view, num(r.primary),
                    num(r.last_executed), num(r.stable_checkpoint)});
    notes.push_back(r.error);
  }
  std::array<std::size_t, kColumns> width{};
  for (const Row& row : rows) {
    for (std::size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (std::size_t c = 0; c < kColumns; ++c) {
      line += rows[i][c];
      if (c + 1 < kColumns) line += std::string(width[c] - rows[i][c].size() + 2, ' ');
    }
    if (!notes[i].empty()) line += "  (" + notes[i] + ")";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n';
  }
}

void Printer::cluster_file(const std::string& path) {
  if (json_) {
    out_ << "{\"cluster_file\":" << json_string(path) << "}\n";
  } else {
    out_ << path << '\n';
  }
}

void Printer::key_file(const std::string& path) {
  if (json_) {
    out_ << "{\"key_file\":" << json_string(path) << "}\n";
  } else {
    out_ << path << '\n';
  }
}

void Printer::identity_dir(const std::string& path) {
  if (json_) {
    out_ << "{\"identity_dir\":" << json_string(path) << "}\n";
  } else {
    out_ << path << '\n';
  }
}

}  // namespace bastion::cli
