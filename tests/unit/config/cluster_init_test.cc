// cluster init and add_identity: the files, their modes, names, keys and signatures.
#include "config/cluster_init.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <vector>

#include "config/cluster_config.h"
#include "config/confidential_keys.h"
#include "config/identity.h"
#include "config/pki.h"
#include "tests/unit/config/temp_dir.h"

namespace bastion::config {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

class ClusterInit : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.out_dir = dir_.path() / "cluster";
    options_.clients = 2;
    options_.base_port = 17000;
    auto r = init_cluster(options_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, options_.out_dir / "cluster.toml");
  }
  fs::path out() const { return options_.out_dir; }

  testing::TempDir dir_;
  InitOptions options_;
};

TEST_F(ClusterInit, WritesEveryFileWithPrivateKeysOwnerOnly) {
  EXPECT_TRUE(fs::is_regular_file(out() / "cluster.toml"));
  EXPECT_TRUE(fs::is_regular_file(out() / "ca" / "cert.pem"));
  EXPECT_EQ(mode_of(out() / "ca" / "key.pem"), 0600u);
  for (int i = 0; i < 4; ++i) {
    const fs::path d = out() / "replicas" / std::to_string(i);
    EXPECT_TRUE(fs::is_regular_file(d / "cert.pem"));
    EXPECT_EQ(mode_of(d / "key.pem"), 0600u);
  }
  EXPECT_FALSE(fs::exists(out() / "replicas" / "4"));
  for (const char* id : {"admin", "client1", "client2"}) {
    const fs::path d = out() / "identities" / id;
    EXPECT_TRUE(fs::is_regular_file(d / "cert.pem")) << id;
    EXPECT_TRUE(fs::is_regular_file(d / "ca.pem")) << id;
    EXPECT_EQ(mode_of(d / "key.pem"), 0600u) << id;
  }
  EXPECT_FALSE(fs::exists(out() / "identities" / "client3"));
  // The staging directory is gone.
  for (const auto& e : fs::directory_iterator(out())) {
    EXPECT_NE(e.path().filename().string().rfind(".bastion-init", 0), 0u) << e.path();
  }
}

// Modes do not depend on the umask: 0 (nothing masked) and 022 (the usual default) alike.
TEST(ClusterInitModes, KeysAre0600AndTheirDirectories0700WhateverTheUmask) {
  for (const mode_t mask : {mode_t{0}, mode_t{022}}) {
    const mode_t previous = ::umask(mask);
    testing::TempDir dir;
    InitOptions o;
    o.out_dir = dir.path() / "cluster";
    o.clients = 1;
    o.base_port = 17000;
    auto r = init_cluster(o);
    auto added = r.ok() ? add_identity(o.out_dir, "later") : r;
    ::umask(previous);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(added.ok()) << added.error().message;
    const fs::path out = o.out_dir;
    std::vector<fs::path> key_dirs = {out / "ca", out / "replicas", out / "identities"};
    for (int i = 0; i < 4; ++i) key_dirs.push_back(out / "replicas" / std::to_string(i));
    for (const char* id : {"admin", "client1", "later"})
      key_dirs.push_back(out / "identities" / id);
    for (const fs::path& d : key_dirs) {
      EXPECT_EQ(mode_of(d), 0700u) << d << " umask " << mask;
      if (d.filename() != "replicas" && d.filename() != "identities") {
        EXPECT_EQ(mode_of(d / "key.pem"), 0600u) << d << " umask " << mask;
      }
    }
  }
}

TEST_F(ClusterInit, AKeyOthersMayReadIsRefusedWithTheFix) {
  const fs::path key = out() / "identities" / "client1" / "key.pem";
  fs::permissions(key, fs::perms(0644));
  auto r = pki::read_private_key(key);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(key.string() + ": mode 0644"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("chmod 600 " + key.string()), std::string::npos) << r.error();
  auto identity = load_identity(out() / "identities" / "client1");
  ASSERT_FALSE(identity.ok());
  EXPECT_NE(identity.error().message.find("chmod 600"), std::string::npos);
  // Group access alone is refused too; the fix works.
  fs::permissions(key, fs::perms(0640));
  EXPECT_FALSE(pki::read_private_key(key).ok());
  fs::permissions(key, fs::perms(0600));
  EXPECT_TRUE(pki::read_private_key(key).ok());
  EXPECT_TRUE(load_identity(out() / "identities" / "client1").ok());

  // The CA key too, when an identity is added.
  fs::permissions(out() / "ca" / "key.pem", fs::perms(0604));
  auto added = add_identity(out(), "newcomer");
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("chmod 600"), std::string::npos) << added.error().message;
  EXPECT_FALSE(fs::exists(out() / "identities" / "newcomer"));
}

TEST_F(ClusterInit, CertificatesVerifyAgainstTheCaWithTheRightNames) {
  auto ca = pki::read_certificate(out() / "ca" / "cert.pem");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(pki::is_ca(*ca));
  auto check_leaf = [&](const fs::path& d, const std::string& name) {
    auto cert = pki::read_certificate(d / "cert.pem");
    ASSERT_TRUE(cert.ok()) << d;
    EXPECT_TRUE(pki::verify_issued_by(*cert, *ca).ok()) << d;
    EXPECT_FALSE(pki::is_ca(*cert)) << d;
    EXPECT_EQ(pki::common_name(*cert).value(), name);
    auto key = pki::read_private_key(d / "key.pem");
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(pki::key_matches(*cert, *key)) << d;
  };
  for (int i = 0; i < 4; ++i) {
    check_leaf(out() / "replicas" / std::to_string(i), "replica-" + std::to_string(i));
  }
  for (const char* id : {"admin", "client1", "client2"}) {
    check_leaf(out() / "identities" / id, id);
    auto copy = pki::read_certificate(out() / "identities" / id / "ca.pem");
    ASSERT_TRUE(copy.ok());
    EXPECT_EQ(X509_cmp(copy->get(), ca->get()), 0);
  }
  // A leaf does not verify against another cluster's CA.
  auto other_key = pki::generate_ed25519_key();
  auto other_ca = pki::make_ca_certificate(*other_key, "other");
  auto leaf = pki::read_certificate(out() / "replicas" / "0" / "cert.pem");
  EXPECT_FALSE(pki::verify_issued_by(*leaf, *other_ca).ok());
}

TEST_F(ClusterInit, ClusterFileParsesAndPinsEachCertificateKey) {
  auto config = load_cluster_config(out() / "cluster.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->name, "bastion");
  EXPECT_EQ(config->f, 1u);
  EXPECT_EQ(config->n(), 4u);
  EXPECT_EQ(config->quorum(), 3u);
  EXPECT_EQ(config->admins, std::vector<std::string>{"admin"});
  EXPECT_EQ(config->default_identity, "admin");
  EXPECT_EQ(config->data_dir, out() / "data");
  EXPECT_FALSE(config->in_memory);
  EXPECT_EQ(config->ca_cert, out() / "ca" / "cert.pem");
  for (std::uint32_t i = 0; i < 4; ++i) {
    const ReplicaConfig& r = config->replicas[i];
    EXPECT_EQ(r.id, i);
    EXPECT_EQ(r.host, "127.0.0.1");
    EXPECT_EQ(r.port, 17000 + i);
    EXPECT_EQ(r.metrics_port, 17100 + i);
    EXPECT_EQ(r.cert, out() / "replicas" / std::to_string(i) / "cert.pem");
    EXPECT_EQ(r.key, out() / "replicas" / std::to_string(i) / "key.pem");
    auto cert = pki::read_certificate(r.cert);
    EXPECT_EQ(pki::ed25519_public_key(*cert).value(), r.public_key);
  }
  auto admin = load_identity(config->identity_dir("admin"));
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_EQ(admin->name, "admin");
  EXPECT_EQ(admin->ca, out() / "identities" / "admin" / "ca.pem");
  const IdentityFiles r2 = replica_identity(*config, 2);
  EXPECT_EQ(r2.name, "replica-2");
  EXPECT_EQ(r2.ca, config->ca_cert);
}

TEST_F(ClusterInit, NoDirectoryHoldsAnotherPartysPrivateKey) {
  // Each directory holds at most one private key, and it is the key of that directory's cert.
  std::set<std::string> keys_seen;
  for (const auto& e : fs::recursive_directory_iterator(out())) {
    if (!e.is_directory()) continue;
    int keys = 0;
    for (const auto& f : fs::directory_iterator(e.path())) {
      if (!f.is_regular_file()) continue;
      auto key = pki::read_private_key(f.path());
      if (!key.ok()) continue;
      ++keys;
      EXPECT_EQ(f.path().filename(), "key.pem") << f.path();
      auto cert = pki::read_certificate(e.path() / "cert.pem");
      ASSERT_TRUE(cert.ok()) << e.path();
      EXPECT_TRUE(pki::key_matches(*cert, *key)) << f.path();
      EXPECT_TRUE(keys_seen.insert(pki::to_hex(pki::ed25519_public_key(*key).value())).second);
    }
    EXPECT_LE(keys, 1) << e.path();
  }
  EXPECT_EQ(keys_seen.size(), 1u + 4u + 3u);  // CA, replicas, admin + 2 clients
}

TEST_F(ClusterInit, RefusesToOverwriteAnExistingCluster) {
  const auto before = fs::last_write_time(out() / "cluster.toml");
  auto again = init_cluster(options_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ConfigErrorCode::kExists);
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(out() / "cluster.toml"), before);
}

TEST_F(ClusterInit, RejectsBadOptions) {
  InitOptions o;
  o.out_dir = dir_.path() / "bad";
  o.f = 1;
  o.replicas = 5;
  EXPECT_EQ(init_cluster(o).error().message, "init: f = 1 needs 4 replicas, not 5");
  o.replicas = 0;
  o.base_port = 65500;
  EXPECT_EQ(init_cluster(o).error().code, ConfigErrorCode::kInvalidValue);
  o.base_port = 7000;
  o.host = "bad host";
  EXPECT_EQ(init_cluster(o).error().code, ConfigErrorCode::kInvalidValue);
  EXPECT_FALSE(fs::exists(o.out_dir / "cluster.toml"));
}

TEST_F(ClusterInit, AddIdentityIssuesANewClient) {
  auto dir = add_identity(out(), "worker-7");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(*dir, out() / "identities" / "worker-7");
  auto id = load_identity(*dir);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->name, "worker-7");
  EXPECT_EQ(mode_of(*dir / "key.pem"), 0600u);
  auto ca = pki::read_certificate(out() / "ca" / "cert.pem");
  auto cert = pki::read_certificate(*dir / "cert.pem");
  EXPECT_TRUE(pki::verify_issued_by(*cert, *ca).ok());

  EXPECT_EQ(add_identity(out(), "worker-7").error().code, ConfigErrorCode::kExists);
  EXPECT_EQ(add_identity(out(), "replica-9").error().message,
            "identity: \"replica-9\" is reserved for replicas");
  EXPECT_EQ(add_identity(out(), "no spaces").error().code, ConfigErrorCode::kInvalidValue);
  EXPECT_FALSE(add_identity(dir_.path() / "nowhere", "x").ok());
}

TEST_F(ClusterInit, EachReplicaHoldsOnlyItsOwnPvssKeyAndClientsTheFingerprintSecret) {
  auto config = load_cluster_config(out() / "cluster.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config->has_pvss_keys());
  std::set<std::string> publics;
  for (const ReplicaConfig& r : config->replicas) {
    EXPECT_EQ(r.pvss_key, out() / "replicas" / std::to_string(r.id) / "pvss.key");
    EXPECT_EQ(mode_of(r.pvss_key), 0600u);
    auto key = load_pvss_key(r);
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_TRUE(publics.insert(pki::to_hex(*r.pvss_public_key)).second);
  }
  auto pvss = pvss_of(*config);
  ASSERT_TRUE(pvss.ok());
  EXPECT_EQ(pvss->n(), 4u);
  EXPECT_EQ(pvss->threshold(), 2u);
  // A replica's key file holding another replica's key is refused.
  ReplicaConfig swapped = config->replicas[0];
  swapped.pvss_key = config->replicas[1].pvss_key;
  auto wrong = load_pvss_key(swapped);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ConfigErrorCode::kKeyMismatch);
  // The fingerprint secret: with the CA key and in every client identity, all the same.
  auto secret = load_fingerprint_secret(out() / "ca" / kFingerprintSecretFile);
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  for (const char* id : {"admin", "client1", "client2"}) {
    const fs::path file = out() / "identities" / id / kFingerprintSecretFile;
    EXPECT_EQ(mode_of(file), 0600u) << id;
    EXPECT_EQ(*load_fingerprint_secret(file), *secret) << id;
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(fs::exists(out() / "replicas" / std::to_string(i) / kFingerprintSecretFile));
  }
  auto added = add_identity(out(), "later");
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*load_fingerprint_secret(*added / kFingerprintSecretFile), *secret);
  // A key file others may read is refused, with the fix.
  fs::permissions(out() / "identities" / "client1" / kFingerprintSecretFile, fs::perms(0644));
  auto loose = load_fingerprint_secret(out() / "identities" / "client1" / kFingerprintSecretFile);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);
}

TEST_F(ClusterInit, LoadIdentityRejectsMismatchedKey) {
  fs::copy_file(out() / "identities" / "client2" / "key.pem", dir_.path() / "key2.pem");
  fs::remove(out() / "identities" / "client1" / "key.pem");
  fs::copy_file(dir_.path() / "key2.pem", out() / "identities" / "client1" / "key.pem");
  auto id = load_identity(out() / "identities" / "client1");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ConfigErrorCode::kKeyMismatch);
}

}  // namespace
}  // namespace bastion::config
