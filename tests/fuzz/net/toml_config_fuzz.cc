// Fuzz target: cluster.toml text -> parse_cluster_config never crashes, hangs or leaks, and every
// failure is a ConfigError with a message naming the file. The parser is pure (no file access),
// so hostile paths in the text cannot make the target read devices or large files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/cluster_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = bastion::config::parse_cluster_config(text, "fuzz/cluster.toml");
  if (r.ok()) {
    // Whatever parses satisfies the invariants the rest of the system relies on.
    if (r->n() != 3 * r->f + 1) std::abort();
    for (std::uint32_t i = 0; i < r->n(); ++i) {
      if (r->replicas[i].id != i || r->replicas[i].port == 0) std::abort();
    }
  } else if (r.error().message.rfind("fuzz/cluster.toml: ", 0) != 0) {
    std::abort();
  }
  return 0;
}
