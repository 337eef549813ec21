// Hostile input: whatever a faulty replica or client sends (garbage, far-future seqs and views,
// floods of vouches or requests), correct replicas drop and count it, and what they store on its
// behalf stays bounded by the configuration.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/test_util.h"

namespace bastion::bft::test {
namespace {

std::uint64_t size_of(Cluster& c, ReplicaId i, const std::string& name) {
  return c.replica(i).debug_sizes().at(name);
}

TEST(Bounds, GarbageBytesAreDroppedAndCounted) {
  Cluster c;
  std::mt19937_64 rng(7);
  for (int k = 0; k < 2000; ++k) {
    Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 2 && k % 2 == 0) {
      b[0] = kWireVersion;
      b[1] = static_cast<std::uint8_t>(1 + rng() % 20);
    }
    c.inject(3, 1, b);
    c.inject_client("mallory", 1, b);
  }
  EXPECT_GT(c.counter(1, "drop.malformed"), 1000u);
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Bounds, FarFutureSeqsAndViewsStoreNothing) {
  Cluster c;
  const auto before = c.replica(1).debug_sizes();
  for (std::uint64_t big : {std::uint64_t{17}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    PrepareMsg p{0, big, Digest{1}, 3, {}, 5};
    p.signature = sign_as(3, SignDomain::kPrepare, prepare_signed_bytes(p));
    c.inject(3, 1, encode_message(p));
    c.inject(3, 1, encode_message(CommitMsg{0, big, Digest{1}, 3, 5}));
    PrepareMsg pv{big, 1, Digest{1}, 3, {}, 5};
    pv.signature = sign_as(3, SignDomain::kPrepare, prepare_signed_bytes(pv));
    c.inject(3, 1, encode_message(pv));
    c.inject(3, 1, encode_message(CommitMsg{big, 1, Digest{1}, 3, 5}));
    CheckpointMsg cp{big / 4 * 4 + 4, Digest{2}, 3, {}};  // past the log window
    cp.signature = sign_as(3, SignDomain::kCheckpoint, checkpoint_signed_bytes(cp));
    c.inject(3, 1, encode_message(cp));
    c.inject(3, 1, encode_message(CommittedMsg{BatchHeader{0, big, 1, Digest{3}, false}, {}, 3}));
    c.inject(3, 1, encode_message(StatusMsg{big, false, big, big, 3}));
    c.inject(3, 1, encode_message(FetchStateMsg{big, big}));
  }
  EXPECT_GT(c.counter(1, "drop.out_of_window"), 0u);
  const auto after = c.replica(1).debug_sizes();
  // Votes of future views wait for their NEW-VIEW: the sender's latest view only (here at most
  // its PREPARE and COMMIT of seq 1).
  EXPECT_GT(c.counter(1, "votes.early_kept"), 0u);
  EXPECT_LE(after.at("view_change.early_votes"), 2u);
  EXPECT_EQ(after.at("log.prepares"), before.at("log.prepares"));
  EXPECT_EQ(after.at("log.commits"), before.at("log.commits"));
  EXPECT_EQ(after.at("checkpoint.votes"), before.at("checkpoint.votes"));
  EXPECT_EQ(after.at("log.claims"), before.at("log.claims"));
  EXPECT_FALSE(c.replica(1).status().fetching_state);
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Bounds, AFaultyReplicaVouchingForInventedRequestsIsCappedByItsQuota) {
  Cluster c([](Config& cfg) { cfg.pending_requests_per_replica_max = 100; });
  for (int m = 0; m < 50; ++m) {
    VouchMsg v;
    for (int k = 0; k < 100; ++k) {
      v.entries.push_back(VouchEntry{ClientKey{"ghost" + std::to_string(m), std::uint64_t(k)}, 1,
                                     Digest{static_cast<std::uint8_t>(k)}});
    }
    c.inject(3, 1, encode_message(v));
  }
  EXPECT_LE(size_of(c, 1, "pool.entries"), 100u);
  EXPECT_GT(c.counter(1, "drop.quota"), 4000u);
  // Real requests still go through (correct replicas' quotas are their own).
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Bounds, RequestsSentToOneReplicaOnlyAreChargedToTheirPrincipalAndAgeOut) {
  // Clients that talk to replica 0 or 2 only: the others learn of their requests from one vouch
  // alone, which never authenticates them. Each principal may hold only what an honest one could
  // have in flight (sessions * window) of a replica's quota at the others, and the entries age
  // out, so the vouches for real requests get through again.
  Cluster c([](Config& cfg) {
    cfg.sessions_per_principal_max = 4;
    cfg.client_window = 4;
    cfg.pending_requests_per_replica_max = 40;
  });
  const Config& config = c.config(1);
  for (int m = 0; m < 6; ++m) {
    const ReplicaId target = m < 3 ? 0 : 2;
    for (std::uint64_t session = 0; session < 20; ++session) {
      for (std::uint64_t number = 1; number <= 4; ++number) {
        c.send_request("mallory" + std::to_string(m), session, number, "put m 1", false,
                       std::vector<ReplicaId>{target});
      }
    }
  }
  c.advance(100'000);
  EXPECT_LE(size_of(c, 1, "pool.entries"), 80u);
  EXPECT_GT(c.counter(1, "drop.quota"), 0u);
  // Alice's request reaches 0 and 2 only: 1 and 3 need both vouches to authenticate it, and the
  // quotas of 0 and 2 at them are full.
  c.send_request("alice", 1, 1, "put x 1", false, std::vector<ReplicaId>{0, 2});
  c.advance(1'000'000);
  EXPECT_FALSE(c.accepted("alice", 1, 1).has_value());
  c.advance(config.pool_entry_ttl_us);
  EXPECT_GT(c.counter(1, "pool.expired"), 0u);
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
  EXPECT_EQ(size_of(c, 1, "pool.entries"), 0u);
}

TEST(Bounds, AClientFloodingOneReplicaIsCappedByItsByteQuota) {
  Cluster c([](Config& cfg) { cfg.pending_bytes_per_principal_max = 64 * 1024; });
  for (std::uint64_t session = 0; session < 2000; ++session) {
    c.send_request("mallory", session, 1, "put x " + std::string(100, 'm'), false,
                   std::vector<ReplicaId>{1});
  }
  EXPECT_LE(size_of(c, 1, "pool.held_bytes"), 64u * 1024u);
  EXPECT_LE(size_of(c, 1, "pool.entries"), 64u * 1024u / 256u);
  EXPECT_GT(c.counter(1, "drop.quota"), 0u);
  c.send_request("alice", 1, 1, "put x 1");
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Bounds, SessionsPerPrincipalAreCappedWithDeterministicEviction) {
  Cluster c([](Config& cfg) { cfg.sessions_per_principal_max = 2; });
  // Session 1 waits; sessions 2 and 3 then push it out (least recently active).
  c.send_request("alice", 1, 1, "wait k 100000000");
  c.deliver();
  c.send_request("alice", 2, 1, "put a 1");
  c.deliver();
  c.send_request("alice", 3, 1, "put b 1");
  c.deliver();
  for (ReplicaId i = 0; i < c.n(); ++i) {
    EXPECT_EQ(size_of(c, i, "client_table.sessions"), 2u);
    ASSERT_EQ(c.app(i).evicted.size(), 1u);
    EXPECT_EQ(c.app(i).evicted[0], (ClientKey{"alice", 1}));
    EXPECT_TRUE(c.app(i).waiters.empty());
  }
  expect_agreement(c);
}

// One session per principal (admitting a principal's second session evicts its first) and one
// request per batch.
void one_session_per_principal(Config& cfg) {
  cfg.sessions_per_principal_max = 1;
  cfg.batch_max_requests = 1;
}

void order_alices_first_request(Cluster& c) {
  c.send_request("alice", 1, 1, "put a 1");
  c.deliver();
  ASSERT_EQ(c.accepted("alice", 1, 1), "ok");
}

TEST(Bounds, ARequestProposedBeforeItsSessionWasEvictedStillOrders) {
  // The primary proposes session 2's first request (seq 2, which evicts session 1: one session
  // per principal) and session 1's second (seq 3) before executing either. Replica 3 executes
  // seq 2 before seq 3's PRE-PREPARE reaches it; with replica 2 down it must still vote for it.
  Cluster c(one_session_per_principal);
  order_alices_first_request(c);
  c.crash(2);
  std::optional<Envelope> late;
  c.filter = [&](const Envelope& e) {
    if (late || e.to != 3 || e.type() != MsgType::kPrePrepare) return true;
    if (std::get<PrePrepareMsg>(*decode_message(*e.bytes)).header.seq != 3) return true;
    late = e;
    return false;
  };
  c.send_request("alice", 2, 1, "put b 1");
  c.send_request("alice", 1, 2, "put c 1");
  c.deliver();
  ASSERT_TRUE(late.has_value());
  ASSERT_EQ(c.replica(3).status().last_executed, 2u);
  EXPECT_EQ(c.app(3).evicted, (std::vector<ClientKey>{ClientKey{"alice", 1}}));
  c.inject(0, 3, *late->bytes);
  c.deliver();  // no time passes: nobody retransmits, no view change
  EXPECT_EQ(c.accepted("alice", 1, 2), "ok");
  EXPECT_EQ(c.replica(3).status().view, 0u);
  expect_agreement(c);
}

TEST(Bounds, AnEvictedSessionsPendingRequestsStayUntilTheyOrder) {
  // Session 1's second request reaches replica 3 only, so nobody orders it yet; session 2 evicts
  // session 1 (seq 2). Replicas used to erase an evicted session's pending requests a pipeline
  // later (seq 6), but the vouches they had sent for them stayed with their peers: a replica
  // executing behind the others (seed 2009838 of `bastion-sim --f 1 --byzantine`) counted them
  // and, as primary, proposed a request its peers could no longer authenticate, view after view.
  // Now a request leaves the pool when it executes or falls out of its client's window, as for
  // any session.
  Cluster c(one_session_per_principal);
  order_alices_first_request(c);
  c.send_request("alice", 1, 2, "put b 1", false, std::vector<ReplicaId>{3});
  c.deliver();
  ASSERT_EQ(size_of(c, 3, "pool.entries"), 1u);
  c.send_request("alice", 2, 1, "put c 1");
  c.deliver();
  for (std::uint64_t k = 1; k <= 4; ++k) {
    c.send_request("bob", 1, k, "put d " + std::to_string(k));
    c.deliver();
  }
  ASSERT_EQ(c.replica(3).status().last_executed, 6u);
  EXPECT_EQ(c.app(3).evicted, (std::vector<ClientKey>{ClientKey{"alice", 1}}));
  EXPECT_EQ(size_of(c, 3, "pool.entries"), 1u);
  // The client reaches the others too: the request orders, in a new session entry.
  c.send_request("alice", 1, 2, "put b 1", false, std::vector<ReplicaId>{0, 1, 2});
  c.deliver();
  EXPECT_EQ(c.accepted("alice", 1, 2), "ok");
  EXPECT_EQ(size_of(c, 3, "pool.entries"), 0u);
  expect_agreement(c);
}

TEST(Bounds, AReplicaThatInstalledAStateForgetsVouchesForWhatTheStateExecuted) {
  // Replica 1 hears the client and the others' vouches but none of the ordering: alice's session
  // 1 executes without it, then session 2 evicts it, and replica 1 installs a state that has
  // forgotten session 1. Its pool entry for the executed request still held vouches from all,
  // so it looked authentic and ready there alone; as primary, replica 1 proposed it again and
  // again, and its peers (who erased it when they executed it) could never accept the batch:
  // `bastion-sim --f 1 --byzantine` found it (seed 2003756 of a build that reordered sends).
  Cluster c(one_session_per_principal);
  bool hold_proposals = true;  // until every vouch reached everyone
  c.filter = [&](const Envelope& e) {
    if (hold_proposals && e.type() == MsgType::kPrePrepare) return false;
    return e.to != 1 || e.type() == MsgType::kVouch;
  };
  c.send_request("alice", 1, 1, "put a 1");
  c.advance(2 * c.config(0).vouch_defer_us);
  ASSERT_EQ(size_of(c, 1, "pool.vouches"), 3u);
  hold_proposals = false;
  c.advance(c.config(0).retransmit_interval_us);
  ASSERT_EQ(c.accepted("alice", 1, 1), "ok");
  c.send_request("alice", 2, 1, "put b 1");
  c.deliver();
  for (std::uint64_t k = 1; k <= 30; ++k) {
    c.send_request("bob", 1, k, "put c " + std::to_string(k));
    c.deliver();
  }
  ASSERT_EQ(c.replica(1).status().last_executed, 0u);
  ASSERT_EQ(size_of(c, 1, "pool.entries"), 32u);
  c.filter = nullptr;
  ASSERT_TRUE(c.run_until([&] { return c.replica(1).status().last_executed == 32; }));
  EXPECT_EQ(c.counter(1, "state_transfers.completed"), 1u);
  EXPECT_EQ(size_of(c, 1, "pool.entries"), 1u);  // alice's session 1: new as far as it knows
  EXPECT_EQ(size_of(c, 1, "pool.vouches"), 0u);

  // Replica 1 becomes the primary and orders what clients send.
  c.crash(0);
  c.send_request("bob", 1, 31, "put d 1");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("bob", 1, 31).has_value(); }));
  EXPECT_EQ(c.replica(1).status().view, 1u);
  EXPECT_EQ(c.app(1).kv.at("a"), "1");
  expect_agreement(c);
}

TEST(Bounds, ViewChangeFloodKeepsOneMessagePerReplica) {
  Cluster c;
  for (ViewNum v = 1; v < 200; ++v) {
    ViewChangeMsg vc;
    vc.new_view = v;
    vc.replica = 3;
    vc.signature = sign_as(3, SignDomain::kViewChange, view_change_signed_bytes(vc));
    vc.signature[0] ^= 1;  // a bad signature first
    c.inject(3, 1, encode_message(vc));
    vc.signature[0] ^= 1;
    c.inject(3, 1, encode_message(vc));
  }
  EXPECT_EQ(size_of(c, 1, "view_change.buffered"), 1u);
  EXPECT_GT(c.counter(1, "drop.bad_signature"), 0u);
  EXPECT_EQ(c.replica(1).status().view, 0u);
}

TEST(Bounds, AViewChangeFloodReusingCertificatesCostsOneSignaturePerMessage) {
  // A faulty replica sends VIEW-CHANGEs for view after view, each carrying the same full log
  // window of (valid) certificates: before, every one cost 1 + 3 * 256 signature checks.
  Cluster c;
  const Config& config = c.config(1);
  std::vector<PreparedCert> certs;
  for (SeqNum seq = 1; seq <= config.log_window; ++seq) {
    PreparedCert cert;
    cert.header = BatchHeader{0, seq, 1000 + static_cast<TimeUs>(seq), Digest{7}, false};
    cert.primary_signature =
        sign_as(0, SignDomain::kPrePrepare, pre_prepare_signed_bytes(cert.header));
    for (ReplicaId r : {ReplicaId{1}, ReplicaId{2}}) {
      PrepareMsg p{0, seq, Digest{7}, r, {}, cert.header.timestamp_us};
      p.signature = sign_as(r, SignDomain::kPrepare, prepare_signed_bytes(p));
      cert.prepares.push_back(p);
    }
    certs.push_back(cert);
  }
  const std::uint64_t before = c.verify_calls();
  constexpr ViewNum kViews = 50;
  for (ViewNum v = 1; v <= kViews; ++v) {
    ViewChangeMsg vc;
    vc.new_view = v;
    vc.prepared = certs;
    vc.replica = 3;
    vc.signature = sign_as(3, SignDomain::kViewChange, view_change_signed_bytes(vc));
    c.inject(3, 1, encode_message(vc));
    c.deliver();
    c.advance(config.retransmit_interval_us);  // within the sender's budget
  }
  EXPECT_EQ(c.counter(1, "view_change.throttled"), 0u);
  EXPECT_EQ(c.counter(1, "drop.invalid"), 0u);
  // The first message's certificates, then one signature (the message's own) per message; the
  // other replicas' traffic adds a few.
  const std::uint64_t checks = c.verify_calls() - before;
  EXPECT_LE(checks, 3 * config.log_window + 3 * kViews) << checks;
  EXPECT_GE(c.counter(1, "signatures.remembered"), (kViews - 1) * 3 * config.log_window);
}

TEST(Bounds, AViewChangeFloodIsVerifiedAtTheRateOfRetransmissions) {
  // A faulty replica sends VIEW-CHANGEs for 200 ever higher views at once: a few are verified,
  // the rest dropped before any signature check; the same replica's real VIEW-CHANGE, later,
  // still counts (it comes back with the retransmissions).
  Cluster c;
  const Config& config = c.config(1);
  const std::uint64_t before = c.verify_calls();
  for (ViewNum v = 1; v <= 200; ++v) {
    ViewChangeMsg vc;
    vc.new_view = v;
    vc.replica = 3;
    vc.signature = sign_as(3, SignDomain::kViewChange, view_change_signed_bytes(vc));
    c.inject(3, 1, encode_message(vc));
  }
  c.deliver();
  EXPECT_EQ(c.counter(1, "view_change.throttled"), 196u);
  EXPECT_LE(c.verify_calls() - before, 4u * 2);
  EXPECT_EQ(c.replica(1).status().view, 0u);

  c.advance(4 * config.retransmit_interval_us);
  c.crash(0);
  c.send_request("alice", 1, 1, "put x 1");
  ASSERT_TRUE(c.run_until([&] { return c.accepted("alice", 1, 1).has_value(); }));
  EXPECT_GE(c.replica(1).status().view, 1u);
  expect_agreement(c);
}

TEST(Bounds, AnswersToAPeerAreRateLimitedByATokenBucket) {
  // Before, the budget refilled in full every retransmission interval: 64 MiB per 200 ms.
  Cluster c([](Config& cfg) {
    cfg.state_chunk_bytes = 1024;
    cfg.snapshot_bytes_max = 1 << 20;  // one leaf digest in the first chunk
    cfg.serve_burst_bytes = 80 * 1024;
    cfg.serve_bytes_per_s = 100 * 1024;
  });
  for (std::uint64_t k = 1; k <= 70; ++k) {
    c.send_request("alice", 1, k, "put x" + std::to_string(k) + " " + std::string(100, 'v'));
    c.deliver();
  }
  const SeqNum stable = c.replica(1).status().stable_checkpoint;
  ASSERT_GT(stable, 0u);
  std::uint64_t served = 0;
  c.filter = [&](const Envelope& e) {
    if (e.type() == MsgType::kStateChunk && e.from == 1) served += e.bytes->size();
    return true;
  };
  // Replica 3 asks for the first chunk again and again, for two simulated seconds.
  const TimeUs start = c.now();
  while (c.now() - start < 2'000'000) {
    for (int i = 0; i < 50; ++i) c.inject(3, 1, encode_message(FetchStateMsg{stable, 0}));
    c.advance(10'000);
  }
  EXPECT_GT(c.counter(1, "drop.throttled"), 0u);
  EXPECT_LE(served, 80u * 1024 + 2 * 100 * 1024 + 2048);
  EXPECT_GE(served, 2 * 100 * 1024);
}

TEST(Bounds, ForgedProofsAndNewViewsAreRejected) {
  Cluster c;
  // A checkpoint proof signed by one replica only, repeated.
  CheckpointProofMsg proof;
  proof.seq = 64;
  proof.state_digest = Digest{9};
  for (int k = 0; k < 3; ++k) {
    CheckpointMsg cp{64, Digest{9}, 3, {}};
    cp.signature = sign_as(3, SignDomain::kCheckpoint, checkpoint_signed_bytes(cp));
    proof.checkpoints.push_back(cp);
  }
  c.inject(3, 1, encode_message(proof));
  EXPECT_FALSE(c.replica(1).status().fetching_state);
  EXPECT_EQ(c.replica(1).status().stable_checkpoint, 0u);
  // A NEW-VIEW for view 1 "from" replica 1, built by replica 3 with made-up view-changes.
  NewViewMsg nv;
  nv.view = 1;
  nv.replica = 1;
  for (ReplicaId r : {ReplicaId{1}, ReplicaId{2}, ReplicaId{3}}) {
    ViewChangeMsg vc;
    vc.new_view = 1;
    vc.replica = r;
    vc.signature = sign_as(3, SignDomain::kViewChange, view_change_signed_bytes(vc));
    nv.view_changes.push_back(vc);
  }
  nv.signature = sign_as(3, SignDomain::kNewView, new_view_signed_bytes(nv));
  c.inject(3, 2, encode_message(nv));
  EXPECT_EQ(c.replica(2).status().view, 0u);
}

}  // namespace
}  // namespace bastion::bft::test
