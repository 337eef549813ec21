// The execution-settings digest: every setting that changes execution changes it; the order of
// names in the file, timers, batching and the transport do not.
#include "server/execution_settings.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace bastion::server {
namespace {

struct Settings {
  bft::Config protocol;
  AppSettings app{{"admin", "ops-lead"}, {{"ops", {"olga", "oscar"}}}, {}, {}, {}, {}};

  codec::Digest digest() const { return execution_settings_digest(protocol, app); }
};

TEST(ExecutionSettings, EverySettingThatChangesExecutionChangesTheDigest) {
  const codec::Digest base = Settings{}.digest();
  EXPECT_EQ(Settings{}.digest(), base);  // a pure function of the values
  const std::vector<std::pair<std::string, std::function<void(Settings&)>>> changes = {
      {"n", [](Settings& s) { s.protocol.n = 7; }},
      {"f", [](Settings& s) { s.protocol.f = 2; }},
      {"checkpoint_interval", [](Settings& s) { s.protocol.checkpoint_interval = 32; }},
      {"log_window", [](Settings& s) { s.protocol.log_window = 512; }},
      {"client_window", [](Settings& s) { s.protocol.client_window = 16; }},
      {"sessions_per_principal_max",
       [](Settings& s) { s.protocol.sessions_per_principal_max = 3; }},
      {"reply_cache_bytes_max", [](Settings& s) { s.protocol.reply_cache_bytes_max = 1024; }},
      {"request_bytes_max", [](Settings& s) { s.protocol.request_bytes_max = 4096; }},
      {"read_queue_max", [](Settings& s) { s.protocol.read_queue_max = 10; }},
      {"snapshot_bytes_max", [](Settings& s) { s.protocol.snapshot_bytes_max = 1 << 20; }},
      {"one more admin", [](Settings& s) { s.app.admins.push_back("mallory"); }},
      {"one admin less", [](Settings& s) { s.app.admins.pop_back(); }},
      {"another group", [](Settings& s) { s.app.groups["dev"] = {"dora"}; }},
      {"an empty group", [](Settings& s) { s.app.groups["dev"] = {}; }},
      {"a group member", [](Settings& s) { s.app.groups["ops"].push_back("otto"); }},
      {"a group renamed",
       [](Settings& s) {
         s.app.groups["sre"] = s.app.groups["ops"];
         s.app.groups.erase("ops");
       }},
      {"policy instructions", [](Settings& s) { s.app.policy_limits.instructions_max = 1000; }},
      {"policy memory", [](Settings& s) { s.app.policy_limits.memory_bytes_max = 1 << 20; }},
      {"bytes per principal",
       [](Settings& s) { s.app.engine_limits.bytes_per_principal_max = 1 << 20; }},
      {"state bytes", [](Settings& s) { s.app.engine_limits.state_bytes_max = 1 << 30; }},
      {"PVSS keys", [](Settings& s) { s.app.pvss_public_keys.assign(4, {1}); }},
      {"a PVSS key",
       [](Settings& s) {
         s.app.pvss_public_keys.assign(4, {1});
         s.app.pvss_public_keys[3][0] = 2;
         const Settings with_keys = [] {
           Settings k;
           k.app.pvss_public_keys.assign(4, {1});
           return k;
         }();
         EXPECT_NE(s.digest(), with_keys.digest());
       }},
  };
  for (const auto& [what, change] : changes) {
    Settings s;
    change(s);
    EXPECT_NE(s.digest(), base) << what;
  }
}

// A member moved from one group to another is not the same as before (no ambiguity between the
// lists of names).
TEST(ExecutionSettings, NamesAreNotAmbiguous) {
  Settings a;
  a.app.groups = {{"g", {"x", "y"}}, {"h", {}}};
  Settings b;
  b.app.groups = {{"g", {"x"}}, {"h", {"y"}}};
  EXPECT_NE(a.digest(), b.digest());
  Settings c;
  c.app.admins = {"ab"};
  Settings d;
  d.app.admins = {"a", "b"};
  EXPECT_NE(c.digest(), d.digest());
}

TEST(ExecutionSettings, OrderAndRepetitionOfNamesDoNotMatter) {
  Settings a;
  Settings b;
  b.app.admins = {"ops-lead", "admin", "admin"};
  b.app.groups["ops"] = {"oscar", "olga", "oscar"};
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(ExecutionSettings, TimersBatchingAndTheReplicasOwnIdDoNotCount) {
  const codec::Digest base = Settings{}.digest();
  Settings s;
  s.protocol.self = 3;
  s.protocol.pipeline_max = 1;
  s.protocol.batch_max_requests = 7;
  s.protocol.batch_max_bytes = 4096;
  s.protocol.batch_delay_us = 5;
  s.protocol.request_timeout_us = 1;
  s.protocol.view_change_timeout_us = 2;
  s.protocol.retransmit_interval_us = 3;
  s.protocol.clock_skew_max_us = 4;
  s.protocol.state_chunk_bytes = 1024;
  s.protocol.message_bytes_max = 1 << 20;
  s.protocol.serve_bytes_per_s = 1;
  s.app.settings_digest.fill(9);  // the digest itself is no input
  EXPECT_EQ(s.digest(), base);
}

}  // namespace
}  // namespace bastion::server
