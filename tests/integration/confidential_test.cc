// Confidential spaces against real replica processes on disk: every tuple command through the
// `bastion` tool, a workload through the client library, and the secrecy check: afterwards no
// replica's memory, log or files hold any of the workload's private or comparable values, the
// cluster's fingerprint secret, or another replica's PVSS private key (while the same scan does
// find a plain space's value and the replica's own key); and a replica that lies about its
// shares is outvoted and named.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/client.h"
#include "tests/integration/cluster.h"
#include "tuplespace/text.h"

namespace bastion::itest {
namespace {

using namespace std::chrono_literals;

// The 32 bytes of a key file (64 hex digits).
std::string key_bytes(const std::filesystem::path& file) {
  const std::string hex = read_file(file.string()).substr(0, 64);
  std::string bytes(32, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0 ||
      len != 32) {
    ADD_FAILURE() << "not a key file: " << file;
  }
  return bytes;
}

// Which of `needles` occur in `haystack`.
void find_in(const std::string& haystack, const std::vector<std::string>& needles,
             std::vector<bool>& found) {
  for (std::size_t i = 0; i < needles.size(); ++i) {
    if (!found[i] && haystack.find(needles[i]) != std::string::npos) found[i] = true;
  }
}

// Reads every private writable mapping of process `pid` (heap, stacks, anonymous memory) and
// records which needles occur; returns the bytes read.
std::size_t scan_memory(pid_t pid, const std::vector<std::string>& needles,
                        std::vector<bool>& found) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return 0;
  std::size_t total = 0;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range;
    std::string perms;
    fields >> range >> perms;
    if (perms.size() < 2 || perms[0] != 'r' || perms[1] != 'w') continue;
    const auto dash = range.find('-');
    const std::uint64_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    const std::uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (end - begin > (1ull << 30)) continue;
    std::string bytes(end - begin, '\0');
    const ssize_t n = ::pread(mem, bytes.data(), bytes.size(), static_cast<off_t>(begin));
    if (n <= 0) continue;
    bytes.resize(static_cast<std::size_t>(n));
    total += bytes.size();
    find_in(bytes, needles, found);
  }
  ::close(mem);
  return total;
}

void scan_files(const std::filesystem::path& dir, const std::vector<std::string>& needles,
                std::vector<bool>& found) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) find_in(read_file(entry.path().string()), needles, found);
  }
}

std::string random_hex() {
  unsigned char raw[12];
  randombytes_buf(raw, sizeof raw);
  char hex[2 * sizeof raw + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return hex;
}

class ConfidentialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_GE(sodium_init(), 0);
    cluster_ = std::make_unique<LocalCluster>(2);
    cluster_->start_all();
    cluster_->wait_ready();
    const auto r =
        cluster_->cli({"space", "create", "vault", "--confidential", "--protect", "pu,co,pr"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  static std::unique_ptr<LocalCluster> cluster_;
};
std::unique_ptr<LocalCluster> ConfidentialTest::cluster_;

TEST_F(ConfidentialTest, EveryCommandThroughTheTool) {
  auto as = [](const std::string& who, const std::vector<std::string>& args) {
    return cluster_->cli(args, who);
  };
  EXPECT_CMD(as("client1", {"out", "vault", R"(("acct", "alice", 1200))"}), 0, "");
  EXPECT_CMD(as("client2", {"rdp", "vault", R"(("acct", "alice", *))"}), 0,
             "(\"acct\", \"alice\", 1200)\n");
  EXPECT_CMD(as("client2", {"rdp", "vault", R"(("acct", "bob", *))"}), 1, "");
  EXPECT_CMD(as("client2", {"cas", "vault", R"(("acct", "alice", *))", R"(("acct", "alice", 0))"}),
             1, "(\"acct\", \"alice\", 1200)\n");
  EXPECT_CMD(as("client2", {"cas", "vault", R"(("acct", "bob", *))", R"(("acct", "bob", 5))"}), 0,
             "");
  EXPECT_CMD(as("client1", {"rdall", "vault", "(*, *, *)"}), 0,
             "(\"acct\", \"alice\", 1200)\n(\"acct\", \"bob\", 5)\n");
  EXPECT_CMD(as("client1", {"replace", "vault", R"(("acct", "bob", *))", R"(("acct", "bob", 6))"}),
             0, "(\"acct\", \"bob\", 5)\n");
  EXPECT_CMD(as("client1", {"rd", "vault", R"(("acct", "bob", *))", "--wait", "5"}), 0,
             "(\"acct\", \"bob\", 6)\n");
  EXPECT_CMD(as("client2", {"in", "vault", R"(("acct", "bob", *))", "--wait", "5"}), 0,
             "(\"acct\", \"bob\", 6)\n");
  EXPECT_CMD(as("client2", {"inp", "vault", R"(("acct", "alice", *))"}), 0,
             "(\"acct\", \"alice\", 1200)\n");
  // A blocking rd woken by a confidential insert.
  const std::string rd_log = (cluster_->dir() / "rd.log").string();
  Process rd = cluster_->cli_background({"rd", "vault", R"(("late", *, *))", "--wait", "20"},
                                        "client2", rd_log);
  std::this_thread::sleep_for(300ms);
  EXPECT_CMD(as("client1", {"out", "vault", R"(("late", "x", "y"))"}), 0, "");
  ASSERT_EQ(rd.wait(25s), std::optional<int>(0)) << read_file(rd_log);
  EXPECT_EQ(read_file(rd_log), "(\"late\", \"x\", \"y\")\n");
  EXPECT_CMD(as("client1", {"inall", "vault", "(*, *, *)"}), 0, "(\"late\", \"x\", \"y\")\n");
}

TEST_F(ConfidentialTest, NoReplicaHoldsTheSecrets) {
  ClientOptions o;
  o.cluster_file = cluster_->cluster_file();
  o.identity_dir = "client1";
  auto client = Client::connect(o);
  ASSERT_TRUE(client.ok()) << client.error().message;
  // Markers in comparable and private fields, many tuples, some taken again (so replicas log,
  // checkpoint and answer about them).
  std::vector<std::string> markers;
  std::vector<std::future<Expected<Done>>> outs;
  constexpr int kTuples = 300;
  for (int i = 0; i < kTuples; ++i) {
    const std::string comparable = "CMARK" + random_hex();
    const std::string hidden = "PMARK" + random_hex();
    markers.push_back(comparable);
    markers.push_back(hidden);
    outs.push_back((*client)->out_async(
        "vault", ts::Tuple{ts::Value("t"), ts::Value(comparable), ts::Value(hidden)}));
  }
  for (auto& out : outs) ASSERT_TRUE(out.get().ok());
  for (int i = 0; i < kTuples; i += 10) {
    const ts::Template tmpl{ts::Value("t"), ts::Value(markers[2 * i]), ts::Pattern::any()};
    auto taken = (*client)->inp("vault", tmpl);
    ASSERT_TRUE(taken.ok()) << taken.error().message;
    ASSERT_TRUE(taken->has_value());
    EXPECT_EQ((**taken)[2], ts::Value(markers[2 * i + 1]));
  }
  // The control: a value in a plain space, which every replica holds.
  ASSERT_EQ(cluster_->cli({"space", "create", "open"}).exit_code, 0);
  const std::string plain = "OMARK" + random_hex();
  ASSERT_TRUE((*client)->out("open", ts::Tuple{ts::Value(plain)}).ok());
  auto all = (*client)->rd_all(
      "vault", ts::Template{ts::Pattern::any(), ts::Pattern::any(), ts::Pattern::any()});
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kTuples - kTuples / 10));

  const std::filesystem::path dir = std::filesystem::path(cluster_->cluster_file()).parent_path();
  const std::string fingerprint_secret = key_bytes(dir / "ca" / "fingerprint.key");
  std::vector<std::string> pvss_keys;
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    pvss_keys.push_back(key_bytes(dir / "replicas" / std::to_string(r) / "pvss.key"));
  }
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    // The scan sees what a replica holds: the plain value and its own PVSS key.
    const std::vector<std::string> controls = {plain, pvss_keys[r]};
    std::vector<bool> seen(controls.size(), false);
    scan_memory(cluster_->pid(r), controls, seen);
    EXPECT_TRUE(seen[0] && seen[1]) << "replica " << r << ": the scan missed a control";

    std::vector<std::string> needles = markers;
    needles.push_back(fingerprint_secret);
    for (std::uint32_t other = 0; other < LocalCluster::kReplicas; ++other) {
      if (other != r) needles.push_back(pvss_keys[other]);
    }
    std::vector<bool> found(needles.size(), false);
    EXPECT_GT(scan_memory(cluster_->pid(r), needles, found), 1u << 20)
        << "replica " << r << "'s memory could not be read";
    find_in(read_file(cluster_->log_path(r)), needles, found);
    scan_files(dir / "replicas" / std::to_string(r), needles, found);
    const auto leaked = std::count(found.begin(), found.end(), true);
    EXPECT_EQ(leaked, 0) << "replica " << r << " holds " << leaked << " of the secrets";
  }
}

// A replica that lies about its shares (bastiond --byzantine bad-shares): readers still get every
// tuple from the others, and the client names the liar.
TEST(ConfidentialByzantineTest, AReplicaWithBadSharesIsOutvotedAndNamed) {
  ASSERT_GE(sodium_init(), 0);
  LocalCluster cluster(1);
  std::ofstream(cluster.cluster_file(), std::ios::app) << "\n[test]\nallow_byzantine = true\n";
  for (std::uint32_t r = 0; r < LocalCluster::kReplicas; ++r) {
    cluster.bastiond_args =
        r == 2 ? std::vector<std::string>{"--byzantine", "bad-shares"} : std::vector<std::string>{};
    cluster.start(r);
  }
  cluster.wait_ready();
  ASSERT_EQ(
      cluster.cli({"space", "create", "vault", "--confidential", "--protect", "co,pr"}).exit_code,
      0);
  ClientOptions o;
  o.cluster_file = cluster.cluster_file();
  o.identity_dir = "client1";
  auto client = Client::connect(o);
  ASSERT_TRUE(client.ok()) << client.error().message;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*client)->out("vault", ts::Tuple{ts::Value(i), ts::Value("secret")}).ok());
  }
  const ts::Template any{ts::Pattern::any(), ts::Pattern::any()};
  auto read = (*client)->rdp("vault", ts::Template{ts::Value(3), ts::Pattern::any()});
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(**read, (ts::Tuple{ts::Value(3), ts::Value("secret")}));
  auto all = (*client)->rd_all("vault", any);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->size(), 5u);
  auto taken = (*client)->inp("vault", any);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(**taken, (ts::Tuple{ts::Value(0), ts::Value("secret")}));
  // Replica 2's shares failed whenever its reply came before the quorum was complete (read
  // new tuples until one did); nobody else's ever did.
  for (int i = 0; i < 50 && (*client)->invalid_shares_by_replica().at(2) == 0; ++i) {
    // A new tuple each time: a tuple opened before is not checked again.
    const ts::Tuple fresh{ts::Value(100 + i), ts::Value("secret")};
    ASSERT_TRUE((*client)->out("vault", fresh).ok());
    ASSERT_TRUE((*client)->rdp("vault", ts::Template{fresh[0], ts::Pattern::any()}).ok());
  }
  const std::vector<std::uint64_t> invalid = (*client)->invalid_shares_by_replica();
  ASSERT_EQ(invalid.size(), 4u);
  EXPECT_GT(invalid[2], 0u);
  EXPECT_EQ(invalid[0] + invalid[1] + invalid[3], 0u);
  // The tool reads through the liar as well.
  const auto r = cluster.cli({"rdp", "vault", "(4, *)"}, "client1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "(4, \"secret\")\n");
}

}  // namespace
}  // namespace bastion::itest
