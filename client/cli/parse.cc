// Command-line parsing; see parse.h.
//
// CLI11 does the tokens (subcommands, options, positionals, --help); this file turns what it
// collected into a validated Command. Values whose syntax CLI11 cannot check the way we want
// (SECONDS, IDS, LIST, TUPLE, TEMPLATE) are taken as strings and parsed here. Policy FILEs are
// only named here: execute() reads them (run.cc).
#include "client/cli/parse.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "confidentiality/envelope.h"
#include "config/names.h"
#include "tuplespace/text.h"

namespace bastion::cli {
namespace {

// Everything any command may collect; each command reads its own fields.
struct Args {
  std::string identity;  // identity add NAME
  std::string space;
  std::string tuple;
  std::string tmpl;
  std::string lease;
  std::string wait;
  std::string inserters;
  std::string readers;
  std::string removers;
  std::string timeout;
  std::uint64_t max = 0;
  // Present when the option was given (CLI11 fills plain values; count() says whether).
  std::optional<std::uint64_t> max_tuples;
  std::optional<std::uint64_t> max_tuple_bytes;
  std::uint64_t max_tuples_value = 0;
  std::uint64_t max_tuple_bytes_value = 0;
  // space create, set-policy
  std::string policy_file;
  bool confidential = false;
  bool no_policy = false;
  // --protect of space create and the tuple commands
  std::string protect;
  // space key
  std::string identities;
  // cluster init
  std::optional<std::uint32_t> replicas;
  std::optional<std::uint32_t> f;
  std::uint32_t replicas_value = 0;
  std::uint32_t f_value = 0;
  std::string host = "127.0.0.1";
  std::uint16_t base_port = 7000;
  std::uint32_t clients = 1;
  std::string out_dir;
};

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

Result<ts::Tuple, std::string> tuple_arg(const std::string& text) {
  auto t = ts::parse_tuple(text);
  if (!t) return fail("syntax error in TUPLE at " + t.error().to_string());
  return std::move(*t);
}

Result<ts::Template, std::string> template_arg(const std::string& text) {
  auto t = ts::parse_template(text);
  if (!t) return fail("syntax error in TEMPLATE at " + t.error().to_string());
  return std::move(*t);
}

// --protect: a protection vector ("pu,co,pr"), as the bytes of SpaceOptions::protection.
Result<std::vector<std::uint8_t>, std::string> protection_arg(const std::string& text) {
  auto parsed = confidentiality::parse_protection(text);
  if (!parsed) return fail("--protect: " + parsed.error());
  return confidentiality::protection_bytes(*parsed);
}

// --lease, --readers, --removers of out, cas and replace.
Result<ts::TupleSpec, std::string> tuple_spec(const Args& a, CLI::App* cmd) {
  ts::TupleSpec spec;
  auto tuple = tuple_arg(a.tuple);
  if (!tuple) return fail(std::move(tuple).error());
  spec.tuple = std::move(*tuple);
  if (cmd->count("--lease") > 0) {
    auto lease = parse_seconds(a.lease, "--lease");
    if (!lease) return fail(std::move(lease).error());
    if (lease->count() == 0) return fail(std::string("--lease: must be more than 0 seconds"));
    spec.lease_ms = static_cast<std::uint64_t>(lease->count());
  }
  if (cmd->count("--readers") > 0) {
    auto ids = parse_ids(a.readers, "--readers");
    if (!ids) return fail(std::move(ids).error());
    spec.readers = std::move(*ids);
  }
  if (cmd->count("--removers") > 0) {
    auto ids = parse_ids(a.removers, "--removers");
    if (!ids) return fail(std::move(ids).error());
    spec.removers = std::move(*ids);
  }
  return spec;
}

void add_insert_options(CLI::App* cmd, Args& a) {
  cmd->add_option("--lease", a.lease, "the tuple expires after this long")->type_name("SECONDS");
  cmd->add_option("--readers", a.readers, "only these identities may read it (default: anyone)")
      ->type_name("IDS");
  cmd->add_option("--removers", a.removers, "only these identities may remove it (default: anyone)")
      ->type_name("IDS");
}

CLI::App* add_space_arg(CLI::App* cmd, Args& a) {
  cmd->add_option("SPACE", a.space, "the space")->required();
  return cmd;
}

void add_template_arg(CLI::App* cmd, Args& a) {
  cmd->add_option("TEMPLATE", a.tmpl, "e.g. '(\"job\", *)'")->required();
}

void add_tuple_arg(CLI::App* cmd, Args& a) {
  cmd->add_option("TUPLE", a.tuple, "e.g. '(\"job\", 42)'")->required();
}

// The request of the tuple operation `name`, from what its subcommand collected.
Result<ts::Request, std::string> tuple_request(const std::string& name, const Args& a,
                                               CLI::App* cmd) {
  if (name == "out") {
    auto spec = tuple_spec(a, cmd);
    if (!spec) return fail(std::move(spec).error());
    return ts::Request{ts::Out{a.space, std::move(*spec)}};
  }
  auto tmpl = template_arg(a.tmpl);
  if (!tmpl) return fail(std::move(tmpl).error());
  if (name == "rdp") return ts::Request{ts::Rdp{a.space, std::move(*tmpl)}};
  if (name == "inp") return ts::Request{ts::Inp{a.space, std::move(*tmpl)}};
  if (name == "rd" || name == "in") {
    std::uint64_t wait_ms = 0;  // forever
    if (cmd->count("--wait") > 0) {
      auto wait = parse_seconds(a.wait, "--wait");
      if (!wait) return fail(std::move(wait).error());
      if (wait->count() == 0) {
        return fail(std::string(
            "--wait: must be more than 0 seconds (leave it out to wait forever; rdp and inp "
            "do not wait)"));
      }
      wait_ms = static_cast<std::uint64_t>(wait->count());
    }
    if (name == "rd") return ts::Request{ts::Rd{a.space, std::move(*tmpl), wait_ms}};
    return ts::Request{ts::In{a.space, std::move(*tmpl), wait_ms}};
  }
  if (name == "cas" || name == "replace") {
    auto spec = tuple_spec(a, cmd);
    if (!spec) return fail(std::move(spec).error());
    if (name == "cas") return ts::Request{ts::Cas{a.space, std::move(*tmpl), std::move(*spec)}};
    return ts::Request{ts::Replace{a.space, std::move(*tmpl), std::move(*spec)}};
  }
  if (name == "renew") {
    auto lease = parse_seconds(a.lease, "--lease");
    if (!lease) return fail(std::move(lease).error());
    if (lease->count() == 0) return fail(std::string("--lease: must be more than 0 seconds"));
    return ts::Request{
        ts::Renew{a.space, std::move(*tmpl), static_cast<std::uint64_t>(lease->count())}};
  }
  if (name == "rdall") return ts::Request{ts::RdAll{a.space, std::move(*tmpl), a.max}};
  return ts::Request{ts::InAll{a.space, std::move(*tmpl), a.max}};
}

// --inserters, --readers, --removers of space create and space set-access: fills the lists given
// and returns their kAccess* bits.
Result<std::uint8_t, std::string> access_lists(const Args& a, CLI::App* cmd,
                                               ts::SpaceAccess& access) {
  struct List {
    const char* option;
    const std::string& text;
    std::vector<std::string>& list;
    std::uint8_t bit;
  };
  const List lists[] = {{"--inserters", a.inserters, access.inserters, ts::kAccessInserters},
                        {"--readers", a.readers, access.readers, ts::kAccessReaders},
                        {"--removers", a.removers, access.removers, ts::kAccessRemovers}};
  std::uint8_t given = 0;
  for (const List& l : lists) {
    if (cmd->count(l.option) == 0) continue;
    auto entries = parse_access_list(l.text, l.option);
    if (!entries) return fail(std::move(entries).error());
    l.list = std::move(*entries);
    given |= l.bit;
  }
  return given;
}

Result<ts::Request, std::string> space_create(const Args& a, CLI::App* cmd) {
  ts::SpaceCreate create{a.space, {}};
  if (a.max_tuples) {
    if (*a.max_tuples == 0) return fail(std::string("--max-tuples: must be at least 1"));
    create.options.tuples_max = *a.max_tuples;
  }
  if (a.max_tuple_bytes) {
    if (*a.max_tuple_bytes == 0 || *a.max_tuple_bytes > ts::kTupleBytesCap) {
      return fail("--max-tuple-bytes: must be 1.." + std::to_string(ts::kTupleBytesCap));
    }
    create.options.tuple_bytes_max = static_cast<std::uint32_t>(*a.max_tuple_bytes);
  }
  auto lists = access_lists(a, cmd, create.options.access);
  if (!lists) return fail(std::move(lists).error());
  create.options.confidential = a.confidential;
  if (cmd->count("--protect") > 0) {
    if (!a.confidential) return fail(std::string("--protect: only with --confidential"));
    auto protection = protection_arg(a.protect);
    if (!protection) return fail(std::move(protection).error());
    create.options.protection = std::move(*protection);
  }
  return ts::Request{std::move(create)};
}

Result<ts::Request, std::string> space_set_access(const Args& a, CLI::App* cmd) {
  ts::SpaceSetAccess set{a.space, 0, {}};
  auto lists = access_lists(a, cmd, set.access);
  if (!lists) return fail(std::move(lists).error());
  if (*lists == 0) {
    return fail(
        std::string("space set-access: give at least one of --inserters, --readers, "
                    "--removers"));
  }
  set.lists = *lists;
  return ts::Request{std::move(set)};
}

Result<config::InitOptions, std::string> cluster_init(const Args& a) {
  config::InitOptions o;
  if (a.f && *a.f == 0) return fail(std::string("--f: must be at least 1"));
  if (a.replicas) {
    const std::uint32_t r = *a.replicas;
    if (r < 4 || (r - 1) % 3 != 0) {
      return fail("--replicas: " + std::to_string(r) +
                  " is not 3f+1 for any f >= 1 (4, 7, 10, ...)");
    }
    if (a.f && *a.f != (r - 1) / 3) {
      return fail("--replicas " + std::to_string(r) + " needs --f " + std::to_string((r - 1) / 3) +
                  ", not " + std::to_string(*a.f));
    }
    o.f = (r - 1) / 3;
  } else if (a.f) {
    o.f = *a.f;
  }
  o.replicas = 3 * o.f + 1;
  o.host = a.host;
  o.base_port = a.base_port;
  o.clients = a.clients;
  o.out_dir = a.out_dir;
  return o;
}

}  // namespace

Result<Millis, std::string> parse_seconds(std::string_view text, std::string_view option) {
  const std::string name(option);
  auto bad = [&] {
    return fail(name + ": '" + std::string(text.substr(0, 32)) +
                "' is not a number of seconds (e.g. 2 or 0.5)");
  };
  std::size_t i = 0;
  std::uint64_t whole = 0;
  constexpr std::uint64_t kSecondsMax = 1'000'000'000;  // about 31 years
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (whole > kSecondsMax)
      return fail(name + ": at most " + std::to_string(kSecondsMax) + " seconds");
    ++i;
  }
  if (i == 0) return bad();
  std::uint64_t ms = whole * 1000;
  if (i < text.size()) {
    if (text[i] != '.' || i + 1 == text.size()) return bad();
    ++i;
    std::uint64_t scale = 100;
    bool rest = false;  // digits beyond milliseconds
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return bad();
      const auto digit = static_cast<std::uint64_t>(text[i] - '0');
      if (scale > 0) {
        ms += digit * scale;
        scale /= 10;
      } else {
        rest = rest || digit != 0;
      }
    }
    if (rest) ++ms;  // round up: never wait or lease shorter than asked
  }
  return Millis(static_cast<Millis::rep>(ms));
}

Result<std::vector<std::string>, std::string> parse_ids(std::string_view text,
                                                        std::string_view option, IdItems items) {
  const bool groups = items == IdItems::kNamesAndGroups;
  std::vector<std::string> ids;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view id = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const bool group = groups && id.starts_with('@');
    if (!config::is_valid_principal_name(group ? id.substr(1) : id)) {
      const std::string quoted = "'" + std::string(id.substr(0, 64)) + "'";
      if (!groups) {
        return fail(std::string(option) + ": " + quoted +
                    " is not an identity name (1..64 of A-Z a-z 0-9 _ . -, separated by commas)");
      }
      return fail(std::string(option) + ": " + quoted +
                  " is not an identity name or @group (names are 1..64 of A-Z a-z 0-9 _ . -, "
                  "separated by commas; * alone means everyone)");
    }
    ids.emplace_back(id);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ids;
}

Result<std::vector<std::string>, std::string> parse_access_list(std::string_view text,
                                                                std::string_view option) {
  if (text == "*") return std::vector<std::string>{};
  return parse_ids(text, option, IdItems::kNamesAndGroups);
}

Parsed parse_command_line(const std::vector<std::string>& args, Mode mode) {
  const bool tool = mode == Mode::kTool;
  CLI::App app{"Bastion client: tuple operations, space administration and cluster status.",
               tool ? "bastion" : ""};
  app.fallthrough();  // global options are accepted after the command too
  app.require_subcommand(1, 1);
  GlobalOptions global;
  Args a;
  if (tool) {
    app.add_option("--cluster", global.cluster_file,
                   "cluster file (default: $BASTION_CLUSTER, else " +
                       std::string(kDefaultClusterFile) + ")")
        ->type_name("FILE");
    app.add_option("--identity", global.identity,
                   "identity directory, or the name of one of the cluster's identities "
                   "(default: the cluster file's default identity)")
        ->type_name("DIR");
  }
  app.add_flag("--json", global.json, "print JSON, one value per line");
  app.add_option("--timeout", a.timeout, "how long to wait for a quorum of replicas (default 10)")
      ->type_name("SECONDS");
  // A later global option overrides an earlier one (scripts append to a base command line).
  for (const char* name : {"--cluster", "--identity", "--timeout"}) {
    if (CLI::Option* o = app.get_option_no_throw(name)) {
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  auto* space = app.add_subcommand(
      "space", "create, delete, list or show spaces; set their policies and access lists");
  space->require_subcommand(1, 1);
  auto add_access_options = [&a](CLI::App* cmd, const char* unset) {
    const std::string tail =
        std::string(": names and @groups, * for everyone (default: ") + unset + ")";
    cmd->add_option("--inserters", a.inserters, "who may insert" + tail)->type_name("LIST");
    cmd->add_option("--readers", a.readers, "who may read" + tail)->type_name("LIST");
    cmd->add_option("--removers", a.removers, "who may remove" + tail)->type_name("LIST");
  };
  auto* space_create_cmd =
      add_space_arg(space->add_subcommand("create", "create a space (admins)"), a);
  space_create_cmd->add_option("--max-tuples", a.max_tuples_value, "most tuples the space holds")
      ->type_name("N");
  space_create_cmd
      ->add_option("--max-tuple-bytes", a.max_tuple_bytes_value, "largest tuple, in bytes")
      ->type_name("N");
  space_create_cmd
      ->add_option("--policy", a.policy_file, "the space's Lua policy script (default: none)")
      ->type_name("FILE");
  add_access_options(space_create_cmd, "everyone");
  space_create_cmd->add_flag("--confidential", a.confidential,
                             "a confidential space: fields protected by PVSS and fingerprints");
  space_create_cmd
      ->add_option("--protect", a.protect,
                   "a confidential space's default protection per field: pu (public), co "
                   "(comparable), pr (private); the last repeats (default: co)")
      ->type_name("LIST");
  auto* space_delete_cmd =
      add_space_arg(space->add_subcommand("delete", "delete a space (admins)"), a);
  auto* space_list_cmd = space->add_subcommand("list", "list the spaces");
  auto* space_key_cmd = add_space_arg(
      space->add_subcommand("key",
                            "give identities a confidential space's own fingerprint key "
                            "(<cluster dir>/identities/NAME/space-keys/SPACE.key)"),
      a);
  space_key_cmd
      ->add_option("--identities", a.identities, "who gets it, comma-separated (default: all)")
      ->type_name("IDS");
  auto* space_show_cmd = add_space_arg(
      space->add_subcommand("show", "show a space: options, access lists, policy script"), a);
  auto* set_policy_cmd = add_space_arg(
      space->add_subcommand("set-policy", "replace or remove a space's policy script (admins)"), a);
  CLI::Option* policy_file_arg =
      set_policy_cmd->add_option("FILE", a.policy_file, "the new Lua policy script");
  set_policy_cmd->add_flag("--none", a.no_policy, "remove the policy instead");
  auto* set_access_cmd = add_space_arg(
      space->add_subcommand("set-access", "replace some of a space's access lists (admins)"), a);
  add_access_options(set_access_cmd, "unchanged");

  struct TupleCommand {
    const char* name;
    const char* help;
    CLI::App* app = nullptr;
  };
  std::vector<TupleCommand> tuple_commands = {
      {"out", "insert a tuple"},
      {"rdp", "read a matching tuple, if any"},
      {"inp", "remove a matching tuple, if any"},
      {"rd", "read a matching tuple, waiting for one"},
      {"in", "remove a matching tuple, waiting for one"},
      {"cas", "insert TUPLE unless a tuple matches TEMPLATE (then print the match)"},
      {"replace", "remove a matching tuple and insert TUPLE, atomically"},
      {"renew", "extend the lease of a matching timed tuple"},
      {"rdall", "read every matching tuple"},
      {"inall", "remove every matching tuple"},
  };
  for (TupleCommand& c : tuple_commands) {
    c.app = add_space_arg(app.add_subcommand(c.name, c.help), a);
    const std::string name = c.name;
    if (name != "out") add_template_arg(c.app, a);
    if (name == "out" || name == "cas" || name == "replace") {
      add_tuple_arg(c.app, a);
      add_insert_options(c.app, a);
    }
    if (name == "rd" || name == "in") {
      c.app->add_option("--wait", a.wait, "give up after this long (default: wait forever)")
          ->type_name("SECONDS");
    }
    if (name == "renew") {
      c.app->add_option("--lease", a.lease, "the new lease, from now")
          ->type_name("SECONDS")
          ->required();
    }
    if (name == "rdall" || name == "inall") {
      c.app->add_option("--max", a.max, "at most this many, oldest first (default: all)")
          ->type_name("N");
    }
    c.app
        ->add_option("--protect", a.protect,
                     "confidential spaces: protection per field, pu, co or pr (default: the "
                     "space's)")
        ->type_name("LIST");
  }

  auto* status_cmd = app.add_subcommand("status", "show each replica's state");
  CLI::App* shell_cmd = nullptr;
  if (tool) shell_cmd = app.add_subcommand("shell", "interactive shell");
  auto* cluster = app.add_subcommand("cluster", "cluster files");
  cluster->require_subcommand(1, 1);
  auto* init =
      cluster->add_subcommand("init", "write a new cluster: configuration, keys, certificates");
  init->add_option("--replicas", a.replicas_value, "number of replicas, 3f+1 (default 4)")
      ->type_name("N");
  init->add_option("--f", a.f_value, "faults tolerated (default: from --replicas, else 1)")
      ->type_name("N");
  init->add_option("--host", a.host, "address of every replica (default 127.0.0.1)");
  init->add_option("--base-port", a.base_port, "replica i listens on BASE-PORT + i (default 7000)")
      ->type_name("PORT");
  init->add_option("--clients", a.clients, "client identities client1..clientN (default 1)")
      ->type_name("N");
  init->add_option("--out", a.out_dir, "directory to write")->type_name("DIR")->required();
  auto* identity = app.add_subcommand("identity", "client identities");
  identity->require_subcommand(1, 1);
  auto* identity_add = identity->add_subcommand(
      "add", "issue a new client identity with the cluster's CA: <cluster dir>/identities/NAME");
  identity_add->add_option("name", a.identity, "the identity's name (its certificate name)")
      ->type_name("NAME")
      ->required();

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return HelpText{app.help()};
  } catch (const CLI::CallForAllHelp&) {
    return HelpText{app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::ParseError& e) {
    std::string message = one_line(e.what());
    // "A subcommand is required" with words left over means the command was not recognised.
    const std::vector<std::string> rest = app.remaining(true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !rest.empty() &&
        !rest.front().starts_with("-")) {
      message = "unknown command '" + rest.front().substr(0, 64) + "'";
    }
    return UsageError{message + (tool ? " (see bastion --help)" : " (see help)")};
  }

  if (space_create_cmd->count("--max-tuples") > 0) a.max_tuples = a.max_tuples_value;
  if (space_create_cmd->count("--max-tuple-bytes") > 0) a.max_tuple_bytes = a.max_tuple_bytes_value;
  if (init->count("--replicas") > 0) a.replicas = a.replicas_value;
  if (init->count("--f") > 0) a.f = a.f_value;

  Invocation inv;
  inv.global = global;
  if (!a.timeout.empty()) {
    auto t = parse_seconds(a.timeout, "--timeout");
    if (!t) return UsageError{std::move(t).error()};
    if (t->count() == 0) return UsageError{"--timeout: must be more than 0 seconds"};
    inv.global.timeout = *t;
  }
  Command& cmd = inv.command;
  Result<ts::Request, std::string> request = fail(std::string("no command"));
  if (space_create_cmd->parsed()) {
    cmd.name = "space create";
    request = space_create(a, space_create_cmd);
    if (space_create_cmd->count("--policy") > 0) cmd.policy_file = a.policy_file;
  } else if (set_policy_cmd->parsed()) {
    cmd.name = "space set-policy";
    const bool file = policy_file_arg->count() > 0;
    if (file && a.no_policy) {
      request = fail(std::string("space set-policy: give FILE or --none, not both"));
    } else if (!file && !a.no_policy) {
      request = fail(std::string("space set-policy: FILE or --none is required"));
    } else {
      request = ts::Request{ts::SpaceSetPolicy{a.space, {}}};  // FILE: execute() fills it in
      if (file) cmd.policy_file = a.policy_file;
    }
  } else if (set_access_cmd->parsed()) {
    cmd.name = "space set-access";
    request = space_set_access(a, set_access_cmd);
  } else if (space_show_cmd->parsed()) {
    cmd.name = "space show";
    request = ts::Request{ts::SpaceShow{a.space}};
  } else if (space_delete_cmd->parsed()) {
    cmd.name = "space delete";
    request = ts::Request{ts::SpaceDelete{a.space}};
  } else if (space_key_cmd->parsed()) {
    cmd.kind = CommandKind::kSpaceKey;
    cmd.name = "space key";
    cmd.space = a.space;
    if (space_key_cmd->count("--identities") > 0) {
      auto ids = parse_ids(a.identities, "--identities", IdItems::kNames);
      if (!ids) return UsageError{std::move(ids).error()};
      cmd.identities = std::move(*ids);
    }
    return inv;
  } else if (space_list_cmd->parsed()) {
    cmd.name = "space list";
    request = ts::Request{ts::SpaceList{}};
  } else if (status_cmd->parsed()) {
    cmd.kind = CommandKind::kStatus;
    cmd.name = "status";
    return inv;
  } else if (shell_cmd != nullptr && shell_cmd->parsed()) {
    cmd.kind = CommandKind::kShell;
    cmd.name = "shell";
    return inv;
  } else if (identity_add->parsed()) {
    cmd.kind = CommandKind::kIdentityAdd;
    cmd.name = "identity add";
    cmd.identity = a.identity;
    return inv;
  } else if (init->parsed()) {
    cmd.kind = CommandKind::kClusterInit;
    cmd.name = "cluster init";
    auto o = cluster_init(a);
    if (!o) return UsageError{std::move(o).error()};
    cmd.init = std::move(*o);
    return inv;
  } else {
    for (const TupleCommand& c : tuple_commands) {
      if (!c.app->parsed()) continue;
      cmd.name = c.name;
      request = tuple_request(cmd.name, a, c.app);
      if (request && c.app->count("--protect") > 0) {
        auto protection = protection_arg(a.protect);
        if (!protection) return UsageError{std::move(protection).error()};
        cmd.protection = std::move(*protection);
      }
      break;
    }
  }
  if (!request) return UsageError{std::move(request).error()};
  cmd.request = std::move(*request);
  return inv;
}

std::string command_summary() {
  return "space create NAME [--max-tuples N] [--max-tuple-bytes N] [--policy FILE] "
         "[--inserters LIST] [--readers LIST] [--removers LIST] [--confidential [--protect LIST]]\n"
         "space delete NAME\n"
         "space key NAME [--identities IDS]\n"
         "space list\n"
         "space show NAME\n"
         "space set-policy NAME FILE\n"
         "space set-policy NAME --none\n"
         "space set-access NAME [--inserters LIST] [--readers LIST] [--removers LIST]\n"
         "out SPACE TUPLE [--lease SECONDS] [--readers IDS] [--removers IDS] [--protect LIST]\n"
         "rdp SPACE TEMPLATE [--protect LIST]\n"
         "inp SPACE TEMPLATE [--protect LIST]\n"
         "rd SPACE TEMPLATE [--wait SECONDS] [--protect LIST]\n"
         "in SPACE TEMPLATE [--wait SECONDS] [--protect LIST]\n"
         "cas SPACE TEMPLATE TUPLE [--lease SECONDS] [--readers IDS] [--removers IDS] [--protect "
         "LIST]\n"
         "replace SPACE TEMPLATE TUPLE [--lease SECONDS] [--readers IDS] [--removers IDS] "
         "[--protect LIST]\n"
         "renew SPACE TEMPLATE --lease SECONDS [--protect LIST]\n"
         "rdall SPACE TEMPLATE [--max N] [--protect LIST]\n"
         "inall SPACE TEMPLATE [--max N] [--protect LIST]\n"
         "status\n"
         "cluster init [--replicas N] [--f N] [--host HOST] [--base-port PORT] [--clients N] "
         "--out DIR\n"
         "identity add NAME\n";
}

}  // namespace bastion::cli
