// Principal and replica names.
#include "config/names.h"

#include <gtest/gtest.h>

namespace bastion::config {
namespace {

TEST(Names, PrincipalNames) {
  EXPECT_TRUE(is_valid_principal_name("admin"));
  EXPECT_TRUE(is_valid_principal_name("a.b-c_D9"));
  EXPECT_TRUE(is_valid_principal_name(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_principal_name(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_principal_name(""));
  EXPECT_FALSE(is_valid_principal_name("a b"));
  EXPECT_FALSE(is_valid_principal_name("a/b"));
  EXPECT_FALSE(is_valid_principal_name("caf\xc3\xa9"));
}

TEST(Names, ReplicaNamesAreCanonical) {
  EXPECT_EQ(parse_replica_name("replica-0"), 0u);
  EXPECT_EQ(parse_replica_name("replica-12"), 12u);
  EXPECT_EQ(replica_name(3), "replica-3");
  EXPECT_FALSE(parse_replica_name("replica-01"));
  EXPECT_FALSE(parse_replica_name("replica-"));
  EXPECT_FALSE(parse_replica_name("Replica-1"));
  EXPECT_FALSE(parse_replica_name("replica-1x"));
  EXPECT_FALSE(parse_replica_name("replica--1"));
  EXPECT_FALSE(parse_replica_name("replica-99999999"));
}

TEST(Names, ReplicaPrefixIsReservedInAnyCase) {
  EXPECT_TRUE(is_reserved_name("replica-1"));
  EXPECT_TRUE(is_reserved_name("REPLICA-x"));
  EXPECT_TRUE(is_reserved_name("replica-01"));
  EXPECT_FALSE(is_reserved_name("replica"));
  EXPECT_FALSE(is_reserved_name("replicas"));
  EXPECT_TRUE(is_valid_client_name("client1"));
  EXPECT_FALSE(is_valid_client_name("Replica-7"));
}

TEST(Names, Hosts) {
  EXPECT_TRUE(is_valid_host("127.0.0.1"));
  EXPECT_TRUE(is_valid_host("node-1.example.org"));
  EXPECT_TRUE(is_valid_host("::1"));
  EXPECT_FALSE(is_valid_host(""));
  EXPECT_FALSE(is_valid_host("a b"));
  EXPECT_FALSE(is_valid_host("[::1]"));
}

}  // namespace
}  // namespace bastion::config
