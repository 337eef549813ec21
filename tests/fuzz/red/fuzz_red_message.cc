// Fuzz target for the ReD text protocol (examples/red/link.h): arbitrary bytes go to parse();
// whatever parses must format to a line that parses to the same message and formats the same
// again (format is canonical), and never holds an id with a space or a control character. A
// violated property aborts, which the fuzzer reports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "examples/red/link.h"

namespace {

void check(bool ok, const char* what, std::string_view line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_red_message: %s for a line of %zu bytes: %.*s\n", what, line.size(),
               static_cast<int>(line.size()), line.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto m = bastion::red::parse(line);
  if (!m) return 0;
  for (const std::string& id : m->ids) {
    for (char c : id) check(static_cast<unsigned char>(c) > ' ' && c != 0x7f, "bad id", line);
  }
  const std::string text = bastion::red::format(*m);
  const auto back = bastion::red::parse(text);
  check(back.has_value() && *back == *m, "formatted line does not parse back", text);
  check(bastion::red::format(*back) == text, "format is not canonical", text);
  return 0;
}
