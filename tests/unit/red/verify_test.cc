// The ReD verifier (examples/red/verify.h) on made-up logs: a correct run holds every property,
// and each kind of violation is caught and named.
#include "examples/red/verify.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace bastion::red {
namespace {

using namespace std::chrono_literals;

// "ms node event args" lines, one per string.
std::vector<LogLine> logs(const std::vector<std::string>& text) {
  std::vector<LogLine> lines;
  for (const std::string& t : text) {
    std::istringstream in(t);
    LogLine l;
    in >> l.ms >> l.node;
    for (std::string w; in >> w;) l.words.push_back(w);
    lines.push_back(l);
  }
  return lines;
}

std::map<std::string, Verdict> check(const std::vector<std::string>& text) {
  std::map<std::string, Verdict> out;
  for (Verdict& v : verify(logs(text), 10s)) out[v.property] = v;
  return out;
}

// The demo's scenario, correct: n1 writer, n2 and n3 admitted, n1 fails, n2 elected with n3,
// n3 fails and n2 is told.
const std::vector<std::string> kGood = {"1000 n1 start",           "1100 n1 role copier",
                                        "1200 n1 role writer",     "2000 n2 start",
                                        "2000 n3 start",           "3000 n1 ack n2",
                                        "3010 n1 ack n3",          "3100 n2 role copier",
                                        "3100 n3 role copier",     "4000 n1 killed",
                                        "12000 n2 role writer n3", "13000 n3 killed",
                                        "21000 n2 failed n3",      "40000 n2 coord still-here"};

TEST(RedVerify, ACorrectRunHoldsEveryProperty) {
  for (const auto& [name, v] : check(kGood)) EXPECT_TRUE(v.holds) << name << ": " << v.detail;
}

TEST(RedVerify, TwoWritersAtOnceViolateS1) {
  auto lines = kGood;
  lines.push_back("3500 n3 role writer n2");
  const auto v = check(lines);
  EXPECT_FALSE(v.at("S1").holds);
  EXPECT_NE(v.at("S1").detail.find("n3 became the writer"), std::string::npos) << v.at("S1").detail;
}

TEST(RedVerify, ACopierTheWriterDidNotAdmitViolatesS2) {
  auto lines = kGood;
  lines.push_back("3300 n4 role copier");
  EXPECT_FALSE(check(lines).at("S2").holds);
  // With no writer at that moment, becoming a copier alone is allowed.
  lines.back() = "5000 n4 role copier";
  EXPECT_TRUE(check(lines).at("S2").holds) << check(lines).at("S2").detail;
}

TEST(RedVerify, CopiersLeftWithoutAWriterViolateL1) {
  auto lines = kGood;
  lines[10] = "30000 n2 role writer n3";  // 26 s after n1 failed, beyond the 10 s bound
  lines.erase(lines.begin() + 11, lines.end());
  const auto v = check(lines);
  EXPECT_FALSE(v.at("L1").holds);
}

TEST(RedVerify, ASuccessorCountingTheFailedWriterViolatesL2) {
  auto lines = kGood;
  lines[10] = "12000 n2 role writer n1 n3";
  EXPECT_FALSE(check(lines).at("L2").holds);
}

TEST(RedVerify, AWriterStillCountingAFailedCopierViolatesL3) {
  auto lines = kGood;
  lines[12] = "40000 n2 coord nothing";  // FAILED n3 never comes
  EXPECT_FALSE(check(lines).at("L3").holds);
}

TEST(RedVerify, ARunThatEndsBeforeAFailureCouldBeHandledIsNotAPass) {
  auto lines = kGood;
  lines.resize(12);  // ends at n3's crash, with n2 still counting it
  EXPECT_FALSE(check(lines).at("L3").holds);
}

}  // namespace
}  // namespace bastion::red
