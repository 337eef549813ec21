// Fuzz target for the tuple text syntax: arbitrary bytes go to parse_template, parse_tuple and
// parse_value; whatever parses must print, re-parse to an equal value, and print the same text
// again (the printer is canonical). The same bytes are also used as a string and a bytes value,
// so the printer's handling of invalid UTF-8 is checked against every byte pattern. to_json must
// not crash on anything. A violated property aborts, which the fuzzer reports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tuplespace/text.h"

namespace {

using bastion::ts::Blob;
using bastion::ts::exact;
using bastion::ts::parse_template;
using bastion::ts::parse_tuple;
using bastion::ts::parse_value;
using bastion::ts::to_json;
using bastion::ts::to_text;
using bastion::ts::Tuple;
using bastion::ts::Value;

void check(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_text: %s for text of %zu bytes: %.*s\n", what, text.size(),
               static_cast<int>(text.size()), text.data());
  std::abort();
}

template <class T, class Parse>
void round_trip(const T& value, Parse parse) {
  const std::string text = to_text(value);
  auto back = parse(text);
  check(back.ok(), "printed text does not parse", text);
  check(*back == value, "re-parsed value differs", text);
  check(to_text(*back) == text, "printer is not canonical", text);
  const std::string json = to_json(value);
  check(json.find('\n') == std::string::npos, "JSON holds a newline", json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto tmpl = parse_template(input);
  if (tmpl.ok()) round_trip(*tmpl, [](std::string_view s) { return parse_template(s); });

  auto tuple = parse_tuple(input);
  if (tuple.ok()) {
    round_trip(*tuple, [](std::string_view s) { return parse_tuple(s); });
    // Every tuple is also a template, the one that matches exactly it.
    check(tmpl.ok() && *tmpl == exact(*tuple), "tuple is not a template", input);
  } else {
    check(tuple.error().column >= 1 && tuple.error().offset <= size, "error outside input", input);
  }

  auto value = parse_value(input);
  if (value.ok()) round_trip(*value, [](std::string_view s) { return parse_value(s); });

  const Tuple raw{Value(std::string(input)), Value(Blob{std::string(input)})};
  round_trip(raw, [](std::string_view s) { return parse_tuple(s); });
  return 0;
}
