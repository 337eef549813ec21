// policy_determinism_probe SEED HISTORY: prints determinism_workload(SEED, HISTORY), for the
// test that compares separate processes.
#include <cstdio>
#include <cstdlib>

#include "determinism_workload.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: policy_determinism_probe SEED HISTORY\n");
    return 2;
  }
  const std::string text = bastion::policy::testing::determinism_workload(
      std::strtoull(argv[1], nullptr, 10), std::atoi(argv[2]));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
