#include "codec/check.h"

#include <cstdio>
#include <cstdlib>

namespace bastion::detail {

void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "invariant broken: %s (%s:%d)\n", condition, file, line);
  std::abort();
}

}  // namespace bastion::detail
