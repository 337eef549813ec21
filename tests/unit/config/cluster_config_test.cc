// cluster.toml parsing: the file init writes, and one test per validation error and its message.
#include "config/cluster_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/cluster_init.h"
#include "config/pki.h"
#include "tests/unit/config/temp_dir.h"

namespace bastion::config {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// Replaces the first occurrence of `from` (which must occur).
std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Replaces the n-th (0-based) occurrence of `from`.
std::string replace_nth(std::string text, const std::string& from, const std::string& to, int n) {
  std::size_t at = text.find(from);
  for (int i = 0; i < n && at != std::string::npos; ++i) at = text.find(from, at + 1);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class ClusterConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions o;
    o.out_dir = dir_.path();
    o.base_port = 7000;
    o.clients = 0;
    ASSERT_TRUE(init_cluster(o).ok());
    text_ = read(file());
  }
  fs::path file() const { return dir_.path() / "cluster.toml"; }

  // Parses text as if it were the cluster.toml in the test directory; returns the error message.
  std::string error_of(const std::string& text, ConfigErrorCode expected) {
    auto r = parse_cluster_config(text, "cluster.toml");
    if (r.ok()) return "<parsed>";
    EXPECT_EQ(r.error().code, expected) << r.error().message;
    return r.error().message;
  }

  testing::TempDir dir_;
  std::string text_;
};

TEST_F(ClusterConfigTest, ParsesWhatInitWrote) {
  auto r = parse_cluster_config(text_, file());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->n(), 4u);
  EXPECT_EQ(r->protocol.frame_max_bytes, ProtocolSettings{}.frame_max_bytes);
  EXPECT_EQ(r->transport.keepalive_ms, TransportSettings{}.keepalive_ms);
  EXPECT_TRUE(check_cluster_files(*r).ok());
}

TEST_F(ClusterConfigTest, RelativePathsResolveAgainstTheFilesDirectory) {
  auto r = parse_cluster_config(text_, fs::path("some/dir/cluster.toml"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ca_cert, fs::path("some/dir/ca/cert.pem"));
  EXPECT_EQ(r->replicas[3].key, fs::path("some/dir/replicas/3/key.pem"));
  auto abs = parse_cluster_config(
      replace(text_, "ca_cert = \"ca/cert.pem\"", "ca_cert = \"/etc/bastion/ca.pem\""),
      fs::path("x/cluster.toml"));
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->ca_cert, fs::path("/etc/bastion/ca.pem"));
}

TEST_F(ClusterConfigTest, TuningSectionsOverrideDefaults) {
  const std::string text = text_ +
                           "[protocol]\ncheckpoint_interval = 64\nbatch_delay_us = 0\n"
                           "[transport]\nkeepalive_ms = 250\nclient_connections_max = 10\n";
  // Sections after [[replicas]] are fine in TOML as long as they are tables.
  auto r = parse_cluster_config(text, "cluster.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->protocol.checkpoint_interval, 64u);
  EXPECT_EQ(r->protocol.batch_delay_us, 0u);
  EXPECT_EQ(r->transport.keepalive_ms, 250u);
  EXPECT_EQ(r->transport.client_connections_max, 10u);
}

TEST_F(ClusterConfigTest, HandshakeLimitsAreSettable) {
  auto defaults = parse_cluster_config(text_, "cluster.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->transport.first_bytes_timeout_ms, 1000u);
  EXPECT_EQ(defaults->transport.handshakes_in_progress_max, 256u);
  EXPECT_EQ(defaults->transport.handshakes_per_source_max, 128u);
  EXPECT_EQ(defaults->transport.connections_per_source_max, 1024u);
  const std::string text = text_ +
                           "[transport]\nfirst_bytes_timeout_ms = 300\n"
                           "handshakes_in_progress_max = 64\nhandshakes_per_source_max = 8\n"
                           "connections_per_source_max = 100\n";
  auto r = parse_cluster_config(text, "cluster.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->transport.first_bytes_timeout_ms, 300u);
  EXPECT_EQ(r->transport.handshakes_in_progress_max, 64u);
  EXPECT_EQ(r->transport.handshakes_per_source_max, 8u);
  EXPECT_EQ(r->transport.connections_per_source_max, 100u);
  EXPECT_EQ(error_of(text_ + "[transport]\nhandshake_timeout_ms = 500\n"
                             "first_bytes_timeout_ms = 600\n",
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: transport.first_bytes_timeout_ms: 600 is larger than "
            "handshake_timeout_ms (500)");
  EXPECT_EQ(error_of(text_ + "[transport]\nhandshakes_per_source_max = 0\n",
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: transport.handshakes_per_source_max: 0 is out of range (1..1000000)");
}

TEST_F(ClusterConfigTest, HeldBytesBoundIsSettable) {
  auto defaults = parse_cluster_config(text_, "cluster.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->transport.held_bytes_max, 64ull << 20);
  auto r = parse_cluster_config(text_ + "[transport]\nheld_bytes_max = 1048576\n", "cluster.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->transport.held_bytes_max, 1048576u);
  EXPECT_EQ(
      error_of(text_ + "[transport]\nheld_bytes_max = 1024\n", ConfigErrorCode::kInvalidValue),
      "cluster.toml: transport.held_bytes_max: 1024 is out of range (65536..17179869184)");
}

TEST_F(ClusterConfigTest, GroupsAndPolicyBudgets) {
  const std::string text = text_ +
                           "[groups]\nops = [\"alice\", \"bob\"]\nreaders = []\n"
                           "[policy]\ninstructions_max = 5000\nmemory_bytes_max = 1048576\n";
  auto r = parse_cluster_config(text, "cluster.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->groups.at("ops"), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(r->groups.at("readers").empty());
  EXPECT_EQ(r->policy.instructions_max, 5000u);
  EXPECT_EQ(r->policy.memory_bytes_max, 1048576u);
  auto defaults = parse_cluster_config(text_, "cluster.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->groups.empty());
  EXPECT_EQ(defaults->policy.instructions_max, PolicySettings{}.instructions_max);

  EXPECT_EQ(error_of(text_ + "[groups]\nadmins = [\"x\"]\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: groups.admins: \"admins\" is the group of cluster.admins: list "
            "administrators there");
  EXPECT_EQ(error_of(text_ + "[groups]\n\"a b\" = []\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: groups.a b: \"a b\" is not a valid name ([A-Za-z0-9_.-], 1 to 64 "
            "characters)");
  EXPECT_EQ(error_of(text_ + "[groups]\nops = [\"x\", \"x\"]\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: groups.ops[1]: \"x\" is listed twice");
  EXPECT_EQ(error_of(text_ + "[groups]\nops = \"x\"\n", ConfigErrorCode::kWrongType),
            "cluster.toml: groups.ops: expected an array, found a string");
  EXPECT_EQ(error_of(text_ + "[groups]\nops = [\"replica-1\"]\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: groups.ops[0]: \"replica-1\" is reserved for replicas");
  EXPECT_EQ(error_of(text_ + "[policy]\ninstructions_max = 10\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: policy.instructions_max: 10 is out of range (1000..1000000000)");
  EXPECT_EQ(error_of(text_ + "[policy]\ninstruction_max = 10\n", ConfigErrorCode::kUnknownKey),
            "cluster.toml: policy.instruction_max: unknown key (did you mean "
            "\"instructions_max\"?)");
}

TEST_F(ClusterConfigTest, TestTableAllowsByzantineOnlyWhenSet) {
  auto defaults = parse_cluster_config(text_, "cluster.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->test.allow_byzantine);
  auto on = parse_cluster_config(text_ + "[test]\nallow_byzantine = true\n", "cluster.toml");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->test.allow_byzantine);
  EXPECT_EQ(error_of(text_ + "[test]\nallow_byzantin = true\n", ConfigErrorCode::kUnknownKey)
                .rfind("cluster.toml: test.allow_byzantin: unknown key", 0),
            0u);
  error_of(text_ + "[test]\nallow_byzantine = 1\n", ConfigErrorCode::kWrongType);
}

TEST_F(ClusterConfigTest, TupleSpaceByteLimits) {
  auto r = parse_cluster_config(
      text_ + "[tuplespace]\nbytes_per_client_max = 1048576\nstate_bytes_max = 104857600\n",
      "cluster.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->tuplespace.bytes_per_client_max, 1048576u);
  EXPECT_EQ(r->tuplespace.state_bytes_max, 104857600u);
  auto defaults = parse_cluster_config(text_, "cluster.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->tuplespace.state_bytes_max, 3ull << 30);
  EXPECT_EQ(error_of(text_ + "[tuplespace]\nstate_bytes_max = 4294967296\n",
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: tuplespace.state_bytes_max: 4294967296 is out of range "
            "(1048576..3221225472)");
}

TEST_F(ClusterConfigTest, BadPort) {
  EXPECT_EQ(error_of(replace(text_, "port = 7002", "port = 70000"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[2].port: 70000 is not a valid port");
  EXPECT_EQ(error_of(replace(text_, "metrics_port = 7100", "metrics_port = 0"),
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[0].metrics_port: 0 is not a valid port");
}

TEST_F(ClusterConfigTest, DuplicateId) {
  EXPECT_EQ(error_of(replace(text_, "id = 3", "id = 1"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[3].id: 1 is used twice (also replicas[1])");
  EXPECT_EQ(error_of(replace(text_, "id = 3", "id = 4"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[3].id: 4 is not in 0..3");
}

TEST_F(ClusterConfigTest, WrongReplicaCountForF) {
  EXPECT_EQ(error_of(replace(text_, "f = 1", "f = 2"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: cluster.f: 2 needs 7 replicas, found 4");
  const std::string three = text_.substr(0, text_.rfind("[[replicas]]"));
  EXPECT_EQ(error_of(three, ConfigErrorCode::kInvalidValue),
            "cluster.toml: cluster.f: 1 needs 4 replicas, found 3");
  EXPECT_EQ(error_of(replace(text_, "f = 1", "f = 0"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: cluster.f: 0 is out of range (1..33)");
}

TEST_F(ClusterConfigTest, UnknownKeysAreErrors) {
  EXPECT_EQ(error_of(replace(text_, "in_memory = false", "in_memroy = false"),
                     ConfigErrorCode::kUnknownKey),
            "cluster.toml: cluster.in_memroy: unknown key (did you mean \"in_memory\"?)");
  EXPECT_EQ(error_of(replace_nth(text_, "host = ", "hots = ", 1), ConfigErrorCode::kUnknownKey),
            "cluster.toml: replicas[1].hots: unknown key (did you mean \"host\"?)");
  EXPECT_EQ(error_of(text_ + "[protocl]\n", ConfigErrorCode::kUnknownKey),
            "cluster.toml: protocl: unknown key (did you mean \"protocol\"?)");
  EXPECT_EQ(error_of(text_ + "[protocol]\nwhatever = 3\n", ConfigErrorCode::kUnknownKey),
            "cluster.toml: protocol.whatever: unknown key");
}

TEST_F(ClusterConfigTest, MissingAndMistypedKeys) {
  EXPECT_EQ(
      error_of(replace(text_, "ca_cert = \"ca/cert.pem\"\n", ""), ConfigErrorCode::kMissingKey),
      "cluster.toml: cluster.ca_cert: missing (required)");
  EXPECT_EQ(error_of(replace(text_, "f = 1", "f = \"1\""), ConfigErrorCode::kWrongType),
            "cluster.toml: cluster.f: expected an integer, found a string");
  EXPECT_EQ(
      error_of(replace(text_, "in_memory = false", "in_memory = 0"), ConfigErrorCode::kWrongType),
      "cluster.toml: cluster.in_memory: expected a boolean, found an integer");
  EXPECT_EQ(error_of("[cluster]\nname = \"x\"\n", ConfigErrorCode::kMissingKey),
            "cluster.toml: cluster.f: missing (required)");
}

TEST_F(ClusterConfigTest, OtherRules) {
  EXPECT_EQ(error_of(replace(text_, "admins = [\"admin\"]", "admins = [\"replica-0\"]"),
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: cluster.admins[0]: \"replica-0\" is reserved for replicas");
  EXPECT_EQ(error_of(replace(text_, "admins = [\"admin\"]", "admins = []"),
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: cluster.admins: needs at least one administrator");
  EXPECT_EQ(error_of(replace(text_, "port = 7001", "port = 7000"), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[1].port: 127.0.0.1:7000 is already used by replicas[0].port");
  EXPECT_EQ(error_of(replace(text_, "public_key = \"", "public_key = \"zz"),
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[0].public_key: expected 64 hex digits (an Ed25519 public key)");
  EXPECT_EQ(error_of(text_ + "[transport]\nreconnect_min_ms = 100\nreconnect_max_ms = 10\n",
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: transport.reconnect_max_ms: 10 is smaller than reconnect_min_ms (100)");
  EXPECT_EQ(error_of(text_ + "[protocol]\nclient_frame_max_bytes = 2097152\n",
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: protocol.client_frame_max_bytes: 2097152 is larger than "
            "batch_max_bytes (1048576)");
  EXPECT_EQ(error_of(text_ + "[protocol]\nbatch_delay_us = -1\n", ConfigErrorCode::kInvalidValue),
            "cluster.toml: protocol.batch_delay_us: -1 is out of range (0..1000000)");
}

TEST_F(ClusterConfigTest, DuplicatePublicKey) {
  auto parsed = parse_cluster_config(text_, file());
  ASSERT_TRUE(parsed.ok());
  const std::string k0 = pki::to_hex(parsed->replicas[0].public_key);
  const std::string k2 = pki::to_hex(parsed->replicas[2].public_key);
  EXPECT_EQ(error_of(replace(text_, k2, k0), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[2].public_key: the same key as replicas[0]; each replica "
            "needs its own");
}

TEST_F(ClusterConfigTest, PvssKeysAreAllOrNoneDistinctAndValidPoints) {
  auto parsed = parse_cluster_config(text_, file());
  ASSERT_TRUE(parsed.ok());
  const std::string p0 = pki::to_hex(*parsed->replicas[0].pvss_public_key);
  const std::string p1 = pki::to_hex(*parsed->replicas[1].pvss_public_key);
  EXPECT_EQ(error_of(replace(text_, p1, p0), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[1].pvss_public_key: the same key as replicas[0]; each replica "
            "needs its own");
  EXPECT_EQ(error_of(replace(text_, p1, std::string(64, 'f')), ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[1].pvss_public_key: not a valid PVSS public key (a "
            "ristretto255 point)");
  EXPECT_EQ(error_of(replace(text_, "pvss_public_key = \"" + p1 + "\"\n", ""),
                     ConfigErrorCode::kInvalidValue),
            "cluster.toml: replicas[1].pvss_public_key: every replica has a PVSS key or none does");
  EXPECT_EQ(error_of(replace(text_, "pvss_key = \"replicas/1/pvss.key\"\n", ""),
                     ConfigErrorCode::kMissingKey),
            "cluster.toml: replicas[1].pvss_key: missing (required)");
  // A cluster file from before confidential spaces: no PVSS keys at all.
  std::string old = text_;
  for (int i = 0; i < 4; ++i) {
    const std::string hex = pki::to_hex(*parsed->replicas[i].pvss_public_key);
    old = replace(old, "pvss_public_key = \"" + hex + "\"\n", "");
    old = replace(old, "pvss_key = \"replicas/" + std::to_string(i) + "/pvss.key\"\n", "");
  }
  auto without = parse_cluster_config(old, file());
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_FALSE(without->has_pvss_keys());
}

TEST_F(ClusterConfigTest, SyntaxErrorNamesTheLine) {
  const std::string msg = error_of("[cluster]\nname = \n", ConfigErrorCode::kSyntax);
  EXPECT_EQ(msg.rfind("cluster.toml: line 2, column ", 0), 0u) << msg;
}

TEST_F(ClusterConfigTest, MissingFiles) {
  auto missing = load_cluster_config(dir_.path() / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ConfigErrorCode::kIo);
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);

  fs::remove(dir_.path() / "replicas" / "2" / "cert.pem");
  auto r = load_cluster_config(file());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ConfigErrorCode::kFile);
  EXPECT_EQ(r.error().message, file().string() + ": replicas[2].cert: " +
                                   (dir_.path() / "replicas/2/cert.pem").string() +
                                   ": no such file");

  fs::remove(dir_.path() / "ca" / "cert.pem");
  r = load_cluster_config(file());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, file().string() + ": cluster.ca_cert: " +
                                   (dir_.path() / "ca/cert.pem").string() + ": no such file");
}

TEST_F(ClusterConfigTest, KeyMismatch) {
  // Swap the pinned keys of replicas 0 and 1.
  auto parsed = parse_cluster_config(text_, file());
  ASSERT_TRUE(parsed.ok());
  const std::string k0 = pki::to_hex(parsed->replicas[0].public_key);
  const std::string k1 = pki::to_hex(parsed->replicas[1].public_key);
  write(file(), replace(replace(text_, k0, "KEY0"), k1, k0));
  write(file(), replace(read(file()), "KEY0", k1));
  auto r = load_cluster_config(file());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ConfigErrorCode::kKeyMismatch);
  EXPECT_EQ(r.error().message, file().string() +
                                   ": replicas[0].public_key: does not match the key in " +
                                   (dir_.path() / "replicas/0/cert.pem").string());

  // A replica entry pointing at another replica's certificate names the wrong replica.
  write(file(), replace(text_, "cert = \"replicas/0/cert.pem\"", "cert = \"replicas/1/cert.pem\""));
  r = load_cluster_config(file());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ConfigErrorCode::kKeyMismatch);
  EXPECT_NE(r.error().message.find("is not the certificate of replica-0"), std::string::npos)
      << r.error().message;
}

TEST_F(ClusterConfigTest, CertificateFromAnotherCaIsRejected) {
  testing::TempDir other;
  InitOptions o;
  o.out_dir = other.path();
  o.clients = 0;
  ASSERT_TRUE(init_cluster(o).ok());
  fs::remove(dir_.path() / "ca" / "cert.pem");
  fs::copy_file(other.path() / "ca" / "cert.pem", dir_.path() / "ca" / "cert.pem");
  auto r = load_cluster_config(file());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ConfigErrorCode::kKeyMismatch);
  EXPECT_NE(r.error().message.find("replicas[0].cert"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace bastion::config
