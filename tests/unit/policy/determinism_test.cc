// Every decision, and what it cost, is the same in another process (another hash seed, another
// address layout) and with another history of evaluations in the same process.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "determinism_workload.h"

namespace bastion::policy::testing {
namespace {

std::string run_probe(std::uint64_t seed, int history) {
  const std::string command = std::string(BASTION_DETERMINISM_PROBE) + " " + std::to_string(seed) +
                              " " + std::to_string(history);
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return "";
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), n);
  EXPECT_EQ(pclose(pipe), 0);
  return out;
}

TEST(PolicyDeterminism, TheWorkloadExercisesEveryOutcome) {
  const std::string text = determinism_workload(1, 0);
  EXPECT_NE(text.find("fail | exceeded its memory budget"), std::string::npos);
  EXPECT_NE(text.find("fail | exceeded its budget of 60000 instructions"), std::string::npos);
  EXPECT_NE(text.find("allow"), std::string::npos);
  EXPECT_NE(text.find("deny"), std::string::npos);
  EXPECT_NE(text.find("fail | policy:"), std::string::npos);
}

TEST(PolicyDeterminism, SameDecisionsWhateverTheHistory) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const std::string reference = determinism_workload(seed, 0);
    EXPECT_EQ(determinism_workload(seed, 1), reference) << "seed " << seed;
    EXPECT_EQ(determinism_workload(seed, 2), reference) << "seed " << seed;
  }
}

TEST(PolicyDeterminism, SameDecisionsInSeparateProcesses) {
  for (std::uint64_t seed : {1, 2}) {
    const std::string here = determinism_workload(seed, 0);
    for (int history : {0, 2}) {
      EXPECT_EQ(run_probe(seed, history), here) << "seed " << seed << ", history " << history;
    }
  }
}

}  // namespace
}  // namespace bastion::policy::testing
