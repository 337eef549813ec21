// The interactive shell; see shell.h.
#include "client/cli/shell.h"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "client/cli/execute.h"
#include "client/cli/parse.h"

namespace bastion::cli {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string help_text() {
  return "Commands (as for the bastion tool, without the 'bastion' prefix):\n" + command_summary() +
         "Any command also takes --json and --timeout SECONDS.\n"
         "IDS: identity names, e.g. alice,bob. LIST: names and @groups, e.g. alice,@ops, or * "
         "for everyone.\n"
         "Tuples and templates need no quotes: out jobs (\"job\", 42)\n"
         "help      this text\n"
         "quit      leave the shell (also: exit, Ctrl-D)\n";
}

constexpr std::size_t kHistoryMax = 1000;

}  // namespace

Result<std::vector<std::string>, std::string> split_line(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  std::size_t i = 0;
  auto unterminated = [](const char* what, std::size_t at) {
    return fail(std::string("unterminated ") + what + " at column " + std::to_string(at + 1));
  };
  while (i < line.size()) {
    const char c = line[i];
    if (is_space(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (c == '#' && !in_word) break;  // a comment runs to the end of the line
    in_word = true;
    if (c == '\'') {
      const std::size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos) return unterminated("'", i);
      word.append(line.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '"') {
      const std::size_t start = i;
      for (++i;; ++i) {
        if (i >= line.size()) return unterminated("\"", start);
        if (line[i] == '"') break;
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        word.push_back(line[i]);
      }
      ++i;
    } else if (c == '\\') {
      if (i + 1 < line.size()) word.push_back(line[i + 1]);
      i += 2;
    } else if (c == '(') {
      // Verbatim up to the matching ')', skipping over string literals (which may hold parens).
      const std::size_t start = i;
      int depth = 0;
      for (;; ++i) {
        if (i >= line.size()) return unterminated("(", start);
        const char d = line[i];
        word.push_back(d);
        if (d == '"') {
          for (++i;; ++i) {
            if (i >= line.size()) return unterminated("string", start);
            word.push_back(line[i]);
            if (line[i] == '"') break;
            if (line[i] == '\\' && i + 1 < line.size()) word.push_back(line[++i]);
          }
        } else if (d == '(') {
          ++depth;
        } else if (d == ')' && --depth == 0) {
          break;
        }
      }
      ++i;
    } else {
      word.push_back(c);
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

Shell::Shell(GlobalOptions global, BackendFactory connect)
    : global_(std::move(global)), connect_(std::move(connect)) {}

int Shell::line(std::string_view text, std::ostream& out, std::ostream& err) {
  auto words = split_line(text);
  if (!words) {
    err << "bastion: " << words.error() << '\n';
    return kExitUsage;
  }
  if (words->empty()) return kExitOk;
  const std::string& first = words->front();
  if (words->size() == 1 && (first == "quit" || first == "exit")) {
    finished_ = true;
    return kExitOk;
  }
  if (words->size() == 1 && first == "help") {
    out << help_text();
    return kExitOk;
  }
  Parsed parsed = parse_command_line(*words, Mode::kShell);
  if (auto* help = std::get_if<HelpText>(&parsed)) {
    out << help->text;
    return kExitOk;
  }
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    err << "bastion: " << usage->message << '\n';
    return kExitUsage;
  }
  const Invocation& inv = std::get<Invocation>(parsed);
  GlobalOptions global = global_;
  global.json = global.json || inv.global.json;
  if (inv.global.timeout) global.timeout = inv.global.timeout;
  BackendSlot slot = [this]() -> Expected<Backend*> {
    if (!backend_) {
      auto made = connect_(global_);
      if (!made) return fail(std::move(made).error());
      backend_ = std::move(*made);
    }
    return backend_.get();
  };
  return execute(inv.command, global, slot, out, err);
}

std::filesystem::path history_file(const Environment& env) {
  if (!env.xdg_state_home.empty()) {
    return std::filesystem::path(env.xdg_state_home) / "bastion" / "history";
  }
  if (!env.home.empty()) {
    return std::filesystem::path(env.home) / ".local" / "state" / "bastion" / "history";
  }
  return {};
}

int run_shell(const GlobalOptions& global, const BackendFactory& connect, const Environment& env) {
  Shell shell(global, connect);
  if (::isatty(STDIN_FILENO) == 0) {
    std::string text;
    while (!shell.finished() && std::getline(std::cin, text)) {
      shell.line(text, std::cout, std::cerr);
      std::cout.flush();
    }
    return kExitOk;
  }
  const std::filesystem::path history = history_file(env);
  using_history();
  stifle_history(static_cast<int>(kHistoryMax));
  if (!history.empty()) read_history(history.c_str());  // a missing file is fine
  int status = kExitOk;
  while (!shell.finished()) {
    const std::string prompt =
        status == kExitOk ? "bastion> " : "bastion [" + std::to_string(status) + "]> ";
    char* raw = readline(prompt.c_str());
    if (raw == nullptr) {  // Ctrl-D
      std::cout << '\n';
      break;
    }
    std::string text(raw);
    std::free(raw);  // NOLINT(cppcoreguidelines-no-malloc): readline allocates with malloc
    if (text.find_first_not_of(" \t") != std::string::npos) add_history(text.c_str());
    status = shell.line(text, std::cout, std::cerr);
    std::cout.flush();
  }
  if (!history.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(history.parent_path(), ec);
    write_history(history.c_str());
  }
  return kExitOk;
}

}  // namespace bastion::cli
