// The replica's parts that stand alone: token buckets, the signature memo, checkpoint votes and
// the checkpoints themselves (stable, own states, archive, captures), the wait for a proof's
// batches, the queue of waiting reads, state fetches, fetches of request and batch bodies, the
// vouch outbox, the view change's data, the view and its timer, the votes that overtake a
// NEW-VIEW, the log of slots and the slow-primary check. The replica's own tests
// (checkpoint_test.cc, view_change_test.cc, dissemination_test.cc) cover how it uses them.
#include <gtest/gtest.h>

#include "bft/core/checkpoint_votes.h"
#include "bft/core/checkpoints.h"
#include "bft/core/early_votes.h"
#include "bft/core/fetches.h"
#include "bft/core/primary_monitor.h"
#include "bft/core/proof_wait.h"
#include "bft/core/signature_memo.h"
#include "bft/core/slot_log.h"
#include "bft/core/state_capture.h"
#include "bft/core/state_digest.h"
#include "bft/core/state_fetch.h"
#include "bft/core/token_bucket.h"
#include "bft/core/view_changes.h"
#include "bft/core/view_state.h"
#include "bft/core/vouch_outbox.h"
#include "bft/core/waiting_reads.h"

namespace bastion::bft {
namespace {

// ---- TokenBucket -----------------------------------------------------------------------------

TEST(TokenBucket, StartsFullAndRefillsAtItsRateUpToTheBurst) {
  TokenBucket b(/*per_s=*/100, /*burst=*/10);
  EXPECT_TRUE(b.take(0, 10));
  EXPECT_FALSE(b.take(0, 1));
  EXPECT_FALSE(b.take(50'000, 6));  // 5 tokens back after 50 ms
  EXPECT_TRUE(b.take(50'000, 5));
  EXPECT_TRUE(b.take(10'000'000, 10));  // an idle spell refills the burst, not more
  EXPECT_FALSE(b.take(10'000'000, 1));
}

TEST(TokenBucket, AClockSteppingBackRefillsNothing) {
  TokenBucket b(100, 10);
  EXPECT_TRUE(b.take(1'000'000, 10));
  EXPECT_FALSE(b.take(0, 1));
  EXPECT_FALSE(b.take(1'000'000, 1));
  EXPECT_TRUE(b.take(1'010'000, 1));
}

// ---- SignatureMemo ---------------------------------------------------------------------------

Digest key_of(std::uint8_t k) {
  Signature sig{};
  sig[0] = k;
  const Bytes message = {1, 2, 3};
  return SignatureMemo::key(0, SignDomain::kCheckpoint, message, sig);
}

TEST(SignatureMemo, KeyCoversSignerDomainMessageAndSignature) {
  const Bytes m1 = {1, 2, 3};
  const Bytes m2 = {1, 2, 4};
  const Signature sig{};
  const Digest base = SignatureMemo::key(1, SignDomain::kCheckpoint, m1, sig);
  EXPECT_EQ(base, SignatureMemo::key(1, SignDomain::kCheckpoint, m1, sig));
  EXPECT_NE(base, SignatureMemo::key(2, SignDomain::kCheckpoint, m1, sig));
  EXPECT_NE(base, SignatureMemo::key(1, SignDomain::kPrepare, m1, sig));
  EXPECT_NE(base, SignatureMemo::key(1, SignDomain::kCheckpoint, m2, sig));
  Signature other{};
  other[63] = 1;
  EXPECT_NE(base, SignatureMemo::key(1, SignDomain::kCheckpoint, m1, other));
}

TEST(SignatureMemo, ForgetsTheOldestBeyondItsCapacity) {
  SignatureMemo memo(3);
  for (std::uint8_t k = 0; k < 3; ++k) memo.remember(key_of(k));
  memo.remember(key_of(1));  // already there: not counted twice
  EXPECT_EQ(memo.size(), 3U);
  memo.remember(key_of(3));
  EXPECT_EQ(memo.size(), 3U);
  EXPECT_FALSE(memo.contains(key_of(0)));
  for (std::uint8_t k = 1; k < 4; ++k) EXPECT_TRUE(memo.contains(key_of(k))) << int{k};
}

// ---- CheckpointVotes -------------------------------------------------------------------------

CheckpointMsg vote(SeqNum seq, ReplicaId replica, std::uint8_t state) {
  CheckpointMsg c;
  c.seq = seq;
  c.replica = replica;
  c.state_digest[0] = state;
  c.signature[0] = static_cast<std::uint8_t>(replica);
  return c;
}

TEST(CheckpointVotes, AProofNeedsAQuorumAgreeingOnTheState) {
  CheckpointVotes votes;
  votes.add(vote(10, 0, 7));
  votes.add(vote(10, 1, 7));
  votes.add(vote(10, 2, 8));  // a different state
  EXPECT_FALSE(votes.proof(10, 3));
  votes.add(vote(10, 3, 7));
  auto proof = votes.proof(10, 3);
  ASSERT_TRUE(proof);
  EXPECT_EQ(proof->seq, 10U);
  EXPECT_EQ(proof->state_digest, vote(10, 0, 7).state_digest);
  ASSERT_EQ(proof->checkpoints.size(), 3U);
  for (const CheckpointMsg& c : proof->checkpoints) EXPECT_NE(c.replica, 2U);
  EXPECT_FALSE(votes.proof(20, 3));
}

TEST(CheckpointVotes, AReplicasFirstVoteCountsUnlessItReplacesItsOwn) {
  CheckpointVotes votes;
  votes.add(vote(10, 1, 7));
  votes.add(vote(10, 1, 8));  // a second vote for the same seq: ignored
  EXPECT_TRUE(votes.has(10, 1));
  EXPECT_FALSE(votes.has(10, 2));
  EXPECT_EQ(votes.size(), 1U);
  ASSERT_EQ(votes.votes_of(1).size(), 1U);
  EXPECT_EQ(votes.votes_of(1)[0].state_digest[0], 7);
  votes.replace(vote(10, 1, 9));
  EXPECT_EQ(votes.size(), 1U);
  EXPECT_EQ(votes.votes_of(1)[0].state_digest[0], 9);
}

TEST(CheckpointVotes, DiscardForgetsEverySeqUpToTheStableOne) {
  CheckpointVotes votes;
  for (SeqNum seq : {10, 20, 30}) {
    for (ReplicaId r = 0; r < 4; ++r) votes.add(vote(seq, r, 1));
  }
  votes.discard_through(20);
  EXPECT_EQ(votes.size(), 4U);
  EXPECT_FALSE(votes.has(20, 0));
  EXPECT_TRUE(votes.has(30, 0));
  ASSERT_EQ(votes.votes_of(0).size(), 1U);
  EXPECT_EQ(votes.votes_of(0)[0].seq, 30U);
}

TEST(CheckpointVotes, WellFormedProofs) {
  Config config;
  config.f = 1;
  config.n = 4;
  config.checkpoint_interval = 10;
  CheckpointProofMsg p;
  p.seq = 10;
  p.state_digest = vote(10, 0, 7).state_digest;
  for (ReplicaId r = 0; r < 3; ++r) p.checkpoints.push_back(vote(10, r, 7));
  EXPECT_TRUE(checkpoint_proof_well_formed(p, config));

  EXPECT_TRUE(checkpoint_proof_well_formed(CheckpointProofMsg{}, config));  // the initial state
  CheckpointProofMsg initial_with_votes;
  initial_with_votes.checkpoints.push_back(vote(0, 0, 0));
  EXPECT_FALSE(checkpoint_proof_well_formed(initial_with_votes, config));

  auto broken = [&](auto change) {
    CheckpointProofMsg q = p;
    change(q);
    return !checkpoint_proof_well_formed(q, config);
  };
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.seq = 15; }));  // not a checkpoint seq
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.checkpoints.pop_back(); }));      // 2 < 2f+1
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.checkpoints[2].replica = 0; }));  // twice
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.checkpoints[2].replica = 4; }));  // no such
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.checkpoints[1].seq = 20; }));
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) { q.checkpoints[1].state_digest[0] = 8; }));
  EXPECT_TRUE(broken([](CheckpointProofMsg& q) {
    for (ReplicaId r = 3; r < 5; ++r) q.checkpoints.push_back(vote(10, r, 7));  // 5 > n
  }));
}

// ---- WaitingReads ----------------------------------------------------------------------------

Request read(const std::string& principal, std::uint64_t session, std::uint64_t number) {
  Request r;
  r.client = ClientKey{principal, session};
  r.number = number;
  return r;
}

TEST(WaitingReads, AnswersInBarrierOrderOnceExecuted) {
  Config config;
  WaitingReads reads(config);
  reads.add(7, read("alice", 1, 1));
  reads.add(5, read("bob", 1, 1));
  reads.add(5, read("alice", 1, 2));
  EXPECT_FALSE(reads.take_ready(4));
  auto first = reads.take_ready(6);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->client.principal, "bob");  // barrier 5, arrived first
  auto second = reads.take_ready(6);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->number, 2U);
  EXPECT_FALSE(reads.take_ready(6));  // barrier 7 not executed yet
  EXPECT_TRUE(reads.take_ready(7));
  EXPECT_EQ(reads.size(), 0U);
}

TEST(WaitingReads, BoundedPerSessionPerPrincipalAndInAll) {
  Config config;
  config.read_queue_max = 16;  // a principal's share: 4
  config.client_window = 3;
  WaitingReads reads(config);
  for (std::uint64_t k = 0; k < 3; ++k) reads.add(1, read("alice", 1, k));
  EXPECT_FALSE(reads.has_room(ClientKey{"alice", 1}));  // the session's window
  ASSERT_TRUE(reads.has_room(ClientKey{"alice", 2}));
  reads.add(1, read("alice", 2, 1));
  // A principal holds a quarter of the queue however many sessions it opens.
  EXPECT_FALSE(reads.has_room(ClientKey{"alice", 3}));
  EXPECT_TRUE(reads.has_room(ClientKey{"bob", 1}));
  for (std::uint64_t k = 0; k < 12; ++k) {
    const std::string who = "p" + std::to_string(k % 4);
    ASSERT_TRUE(reads.has_room(ClientKey{who, k}));
    reads.add(2, read(who, k, 1));
  }
  EXPECT_FALSE(reads.has_room(ClientKey{"carol", 1}));  // the whole queue
  // Answering a read gives the queue, its session and its principal their room back.
  ASSERT_TRUE(reads.take_ready(1));
  EXPECT_TRUE(reads.has_room(ClientKey{"carol", 1}));
  EXPECT_TRUE(reads.has_room(ClientKey{"alice", 1}));
}

// ---- StateFetch ------------------------------------------------------------------------------

// The state of `total` bytes that the fetches below transfer: no two of its pages alike (a fetch
// takes a page it has already fetched wherever the list names it again).
Bytes fetched_state(std::uint64_t total) {
  Bytes s(total);
  for (std::uint64_t i = 0; i < total; ++i) {  // splitmix64
    std::uint64_t z = i + 0x9e3779b97f4a7c15U;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9U;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebU;
    s[i] = static_cast<std::uint8_t>(z ^ (z >> 31U));
  }
  return s;
}

// fetched_state(total) in pages of `page` bytes (the last one: the rest), hashed.
CapturedState fetched(std::uint64_t total, std::uint64_t page = 3) {
  const Bytes whole = fetched_state(total);
  StateBytes pages;
  for (std::uint64_t at = 0; at < total; at += page) {
    const auto begin = whole.begin() + static_cast<std::ptrdiff_t>(at);
    pages.append(std::make_shared<const Bytes>(
        begin, begin + static_cast<std::ptrdiff_t>(std::min(page, total - at))));
  }
  return CapturedState::of(std::move(pages));
}

// What a source sends of a state: its page list, then its pages.
Bytes stream_of(const CapturedState& c) {
  Bytes out = *c.page_list;
  c.state.copy_to(0, c.state.size(), out);
  return out;
}

// A proof of seq 10 for fetched(total).
CheckpointProofMsg proof_signed_by(std::vector<ReplicaId> signers, std::uint64_t total = 10) {
  CheckpointProofMsg p;
  p.seq = 10;
  p.state_digest = fetched(total).digest;
  for (ReplicaId r : signers) {
    p.checkpoints.push_back(vote(10, r, 0));
    p.checkpoints.back().state_digest = p.state_digest;
  }
  return p;
}

Config fetch_config() {
  Config config;
  config.state_chunk_bytes = 40;
  config.retransmit_interval_us = 100'000;
  config.state_transfer_grace_us = 1'000'000;
  config.state_transfer_min_bytes_per_s = 1000;
  return config;
}

// `size` bytes at `offset` of the stream of fetched(total) (zeros past its end), for a fetch of
// the proof of fetched(proven); the first chunk carries the leaf digests of the page list.
StateChunkMsg chunk(std::uint64_t offset, std::uint64_t total, std::size_t size,
                    std::uint64_t proven = 10) {
  const CapturedState state = fetched(total);
  const Bytes stream = stream_of(state);
  StateChunkMsg c;
  c.seq = 10;
  c.state_digest = fetched(proven).digest;
  c.offset = offset;
  c.total_bytes = total;
  c.page_count = state.page_count();
  if (offset == 0) c.leaves = state.list_leaves;
  c.data.assign(size, 0);
  const std::uint64_t end = stream.size();
  std::copy(stream.begin() + static_cast<std::ptrdiff_t>(std::min(offset, end)),
            stream.begin() + static_cast<std::ptrdiff_t>(std::min(offset + size, end)),
            c.data.begin());
  return c;
}

// ---- StateBytes ----------------------------------------------------------------------------

TEST(StateBytes, PiecesReadAsTheirConcatenationAndHashAsPages) {
  // Pieces of odd sizes around the 1 MiB leaf size, and empty ones (skipped).
  Bytes whole;
  StateBytes state;
  std::vector<ByteView> pages;
  std::uint8_t next = 0;
  for (std::size_t size :
       {std::size_t{0}, std::size_t{3}, std::size_t{(1 << 20) - 2}, std::size_t{0}, std::size_t{5},
        std::size_t{(1 << 20) + 7}, std::size_t{1}}) {
    Bytes piece(size);
    for (auto& b : piece) b = next++;
    whole.insert(whole.end(), piece.begin(), piece.end());
    state.append(std::make_shared<const Bytes>(std::move(piece)));
    if (size > 0) pages.push_back(*state.pieces().back());
  }
  EXPECT_EQ(state.pieces().size(), 5U);
  EXPECT_EQ(state.size(), whole.size());
  EXPECT_EQ(*state.whole(), whole);
  const CapturedState captured = CapturedState::of(state);
  EXPECT_EQ(captured.digest, state_digest(pages));
  EXPECT_EQ(*captured.page_list, state_page_list(pages));
  EXPECT_EQ(captured.page_count(), 5U);
  // The pages are part of the state: the same bytes cut otherwise are another state.
  EXPECT_NE(captured.digest, state_digest(whole));
  // Ranges within a piece, across several, at both ends.
  for (auto [offset, len] :
       std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0},
                                                            {0, 3},
                                                            {1, 5},
                                                            {2, 1 << 20},
                                                            {(1 << 20) + 1, 6},
                                                            {100, whole.size() - 100},
                                                            {whole.size() - 1, 1},
                                                            {whole.size(), 0}}) {
    Bytes out{42};
    state.copy_to(offset, len, out);
    Bytes expected{42};
    expected.insert(expected.end(), whole.begin() + static_cast<std::ptrdiff_t>(offset),
                    whole.begin() + static_cast<std::ptrdiff_t>(offset + len));
    EXPECT_EQ(out, expected) << offset << "+" << len;
  }
  // One piece is its own whole, not a copy.
  const auto one = std::make_shared<const Bytes>(Bytes{1, 2, 3});
  EXPECT_EQ(StateBytes(one).whole(), one);
  EXPECT_EQ(StateBytes().size(), 0U);
  EXPECT_EQ(StateBytes().whole()->size(), 0U);
}

TEST(CapturedState, TakesTheDigestsOfSharedPagesFromThePreviousCapture) {
  const auto page = [](std::uint8_t fill, std::size_t size) {
    return std::make_shared<const Bytes>(Bytes(size, fill));
  };
  const SharedBytes a = page(1, 10), b = page(2, 20), c = page(3, 30);
  StateBytes first;
  for (const SharedBytes& p : {a, b, c}) first.append(p);
  const CapturedState before = CapturedState::of(first);
  // b replaced, d added, a and c shared: the same digest as hashing every page.
  const SharedBytes d = page(4, 5);
  StateBytes second;
  for (const SharedBytes& p : {c, page(9, 20), a, d}) second.append(p);
  const CapturedState fresh = CapturedState::of(second);
  const CapturedState reused = CapturedState::of(second, &before);
  EXPECT_EQ(reused.digest, fresh.digest);
  EXPECT_EQ(*reused.page_list, *fresh.page_list);
  EXPECT_EQ(reused.list_leaves, fresh.list_leaves);
  // A shared page's digest is read, not computed: a previous capture whose list lied about a
  // shared page shows in the result (which is why only the replica's own captures are passed).
  CapturedState lying = before;
  Bytes list = *lying.page_list;
  list[8] ^= 1;  // page a's digest
  lying.page_list = std::make_shared<const Bytes>(std::move(list));
  EXPECT_NE(CapturedState::of(second, &lying).digest, fresh.digest);
}

ReplicaId source_of(StateFetch& f, TimeUs now_us = 0) {
  auto request = f.request(now_us);
  EXPECT_TRUE(request);
  return request ? request->first : ReplicaId{99};
}

TEST(StateFetch, FetchingReplicasStartAtDifferentSignersAndSkipThemselves) {
  const CheckpointProofMsg p = proof_signed_by({3, 0, 1});
  StateFetch by0(p, FetchPurpose::kCatchUp, 0, 0);  // sources 1, 3
  StateFetch by2(p, FetchPurpose::kCatchUp, 2, 0);  // sources 0, 1, 3
  StateFetch by3(p, FetchPurpose::kCatchUp, 3, 0);  // sources 0, 1
  EXPECT_EQ(source_of(by0), 1U);
  EXPECT_EQ(source_of(by2), 3U);
  EXPECT_EQ(source_of(by3), 1U);
  StateFetch alone(proof_signed_by({2}), FetchPurpose::kCatchUp, 2, 0);
  EXPECT_FALSE(alone.request(0));
  EXPECT_EQ(alone.on_tick(10'000'000, fetch_config()), StateFetch::Due::kNothing);
}

TEST(StateFetch, TakesFullChunksInOrderFromTheCurrentSourceOnly) {
  const Config config = fetch_config();
  StateFetch f(proof_signed_by({0, 1, 2}), FetchPurpose::kCatchUp, 3, 0);
  const ReplicaId source = source_of(f);  // 0
  // 10 bytes in 4 pages: a stream of 160 bytes of page list and the 10 bytes.
  ASSERT_EQ(fetched(10).page_count(), 4U);
  EXPECT_EQ(f.on_chunk(source + 1, chunk(0, 10, 40), config), StateFetch::Chunk::kUnsolicited);
  StateChunkMsg other_state = chunk(0, 10, 40);
  other_state.state_digest[0] = 8;
  EXPECT_EQ(f.on_chunk(source, other_state, config), StateFetch::Chunk::kUnsolicited);
  EXPECT_EQ(f.on_chunk(source, chunk(40, 10, 40), config), StateFetch::Chunk::kDuplicate);
  EXPECT_EQ(f.on_chunk(source, chunk(0, 10, 40), config), StateFetch::Chunk::kMore);
  EXPECT_EQ(f.request(0)->second.offset, 40U);
  for (std::uint64_t offset = 40; offset < 160; offset += 40) {
    ASSERT_EQ(f.on_chunk(source, chunk(offset, 10, 40), config), StateFetch::Chunk::kMore);
  }
  EXPECT_EQ(f.on_chunk(source, chunk(160, 10, 10), config), StateFetch::Chunk::kComplete);
  EXPECT_EQ(f.received_bytes(), 170U);
  const CapturedState taken = f.take_state();
  const CapturedState expected = fetched(10);
  EXPECT_EQ(*taken.state.whole(), fetched_state(10));
  EXPECT_EQ(taken.state.pieces().size(), 4U);  // the pages as they were
  EXPECT_EQ(taken.digest, expected.digest);
  EXPECT_EQ(*taken.page_list, *expected.page_list);
  EXPECT_EQ(taken.list_leaves, expected.list_leaves);
  EXPECT_EQ(CapturedState::of(taken.state).digest, expected.digest);
}

TEST(StateDigest, IsARootOverTheSizeThePageCountAndTheLeavesOfThePageList) {
  EXPECT_EQ(state_leaf_count(0), 0U);
  EXPECT_EQ(state_leaf_count(1), 1U);
  EXPECT_EQ(state_leaf_count(kStateLeafBytes), 1U);
  EXPECT_EQ(state_leaf_count(kStateLeafBytes + 1), 2U);
  // 30,000 pages: a page list of 1.2 MB, two leaves.
  const Bytes state = fetched_state(60'000);
  std::vector<ByteView> pages;
  for (std::size_t at = 0; at < state.size(); at += 2)
    pages.push_back(ByteView(state).subspan(at, 2));
  const Bytes list = state_page_list(pages);
  ASSERT_EQ(list.size(), 30'000 * kStatePageEntryBytes);
  const PageEntry e = page_entry(list, 29'999);
  EXPECT_EQ(e.len, 2U);
  EXPECT_EQ(e.digest, codec::blake2b(ByteView(state).subspan(59'998)));
  const std::vector<Digest> leaves = state_leaves(list);
  ASSERT_EQ(leaves.size(), 2U);
  EXPECT_EQ(leaves[1], codec::blake2b(ByteView(list).subspan(kStateLeafBytes)));
  EXPECT_EQ(state_digest(pages), state_root(state.size(), pages.size(), leaves));
  // Every byte counts, and so do the size and the cuts between pages.
  Bytes changed = state;
  changed[40'001] ^= 1;
  std::vector<ByteView> changed_pages;
  for (std::size_t at = 0; at < changed.size(); at += 2) {
    changed_pages.push_back(ByteView(changed).subspan(at, 2));
  }
  EXPECT_NE(state_digest(changed_pages), state_digest(pages));
  EXPECT_NE(state_digest(state), state_digest(pages));
  EXPECT_NE(state_digest(Bytes(3)), state_digest(Bytes(4)));
  EXPECT_NE(state_digest(Bytes{}), state_digest(Bytes(1)));
  // The first chunk's digests for a state of at most 4 GiB: one page per byte at most.
  EXPECT_EQ(state_first_chunk_digest_bytes(std::uint64_t{4} << 30),
            state_leaf_count((std::uint64_t{4} << 30) * kStatePageEntryBytes) * sizeof(Digest));
  EXPECT_GT(state_first_chunk_digest_bytes(~std::uint64_t{0}), 0U);  // no overflow to zero
}

TEST(StateFetch, EachLeafAndPageIsCheckedWhenItsBytesAreInAndTheLeavesAgainstTheProof) {
  Config config = fetch_config();
  config.state_chunk_bytes = kStateLeafBytes / 2;
  // 60,000 pages of 50 bytes: a page list of 2.4 MB (three leaves) and 3 MB of pages.
  const std::uint64_t page = 50;
  const std::uint64_t total = 60'000 * page;
  const CapturedState state = fetched(total, page);
  const Bytes stream = stream_of(state);
  const std::uint64_t list_bytes = state.page_list->size();
  ASSERT_EQ(state.list_leaves.size(), 3U);
  CheckpointProofMsg p = proof_signed_by({0, 1, 2});
  p.state_digest = state.digest;
  for (CheckpointMsg& c : p.checkpoints) c.state_digest = state.digest;
  const std::uint64_t half = config.state_chunk_bytes;
  const auto at = [&](std::uint64_t offset) {
    StateChunkMsg c;
    c.seq = 10;
    c.state_digest = state.digest;
    c.total_bytes = total;
    c.page_count = state.page_count();
    c.offset = offset;
    if (offset == 0) c.leaves = state.list_leaves;
    const std::uint64_t n = std::min(half, stream.size() - offset);
    c.data.assign(stream.begin() + static_cast<std::ptrdiff_t>(offset),
                  stream.begin() + static_cast<std::ptrdiff_t>(offset + n));
    return c;
  };
  {  // digests that do not make up the proven digest, too few of them, another page count
    StateFetch f(p, FetchPurpose::kCatchUp, 3, 0);
    const ReplicaId source = source_of(f);
    StateChunkMsg lying = at(0);
    lying.leaves[1][0] ^= 1;
    EXPECT_EQ(f.on_chunk(source, lying, config), StateFetch::Chunk::kWrong);
    lying = at(0);
    lying.leaves.pop_back();
    EXPECT_EQ(f.on_chunk(source, lying, config), StateFetch::Chunk::kWrong);
    lying = at(0);
    lying.page_count -= 1;
    EXPECT_EQ(f.on_chunk(source, lying, config), StateFetch::Chunk::kWrong);
    lying = at(0);
    lying.page_count = total + 1;  // more pages than bytes
    EXPECT_EQ(f.on_chunk(source, lying, config), StateFetch::Chunk::kInvalid);
    // A later chunk carries no leaves, and the same size and page count.
    EXPECT_EQ(f.on_chunk(source, at(0), config), StateFetch::Chunk::kMore);
    StateChunkMsg extra = at(half);
    extra.leaves.push_back(Digest{});
    EXPECT_EQ(f.on_chunk(source, extra, config), StateFetch::Chunk::kInvalid);
    extra = at(half);
    extra.page_count += 1;
    EXPECT_EQ(f.on_chunk(source, extra, config), StateFetch::Chunk::kInvalid);
  }
  {  // a wrong byte in the list's second leaf is found with that leaf's last chunk
    StateFetch f(p, FetchPurpose::kCatchUp, 3, 0);
    const ReplicaId source = source_of(f);
    EXPECT_EQ(f.on_chunk(source, at(0), config), StateFetch::Chunk::kMore);
    EXPECT_EQ(f.on_chunk(source, at(half), config), StateFetch::Chunk::kMore);  // leaf 0 checked
    StateChunkMsg wrong = at(2 * half);
    wrong.data[17] ^= 1;
    EXPECT_EQ(f.on_chunk(source, wrong, config), StateFetch::Chunk::kMore);  // leaf 1 half in
    EXPECT_EQ(f.on_chunk(source, at(3 * half), config), StateFetch::Chunk::kWrong);
    // The next source is asked from leaf 1: leaf 0 was checked.
    f.abandon(0);
    const auto request = f.request(0);
    ASSERT_TRUE(request);
    EXPECT_NE(request->first, source);
    EXPECT_EQ(request->second.offset, 2 * half);
    EXPECT_EQ(f.on_chunk(request->first, at(2 * half), config), StateFetch::Chunk::kMore);
    EXPECT_EQ(f.on_chunk(request->first, at(3 * half), config), StateFetch::Chunk::kMore);
  }
  {  // a wrong byte in a page is found with that page's last byte, not at the end
    StateFetch f(p, FetchPurpose::kCatchUp, 3, 0);
    const ReplicaId source = source_of(f);
    std::uint64_t offset = 0;
    for (; offset + half <= list_bytes + half; offset += half) {
      ASSERT_EQ(f.on_chunk(source, at(offset), config), StateFetch::Chunk::kMore);
    }
    // `offset` is the first chunk wholly past the list; change a byte of its first whole page.
    const std::uint64_t page_start = (offset - list_bytes + page - 1) / page * page;
    StateChunkMsg wrong = at(offset);
    wrong.data[list_bytes + page_start - offset + 3] ^= 1;
    EXPECT_EQ(f.on_chunk(source, wrong, config), StateFetch::Chunk::kWrong);
    // The next source goes on from that page (those before it were checked) and completes.
    f.abandon(0);
    const auto request = f.request(0);
    ASSERT_TRUE(request);
    const ReplicaId next = request->first;
    EXPECT_NE(next, source);
    EXPECT_EQ(request->second.offset, list_bytes + page_start);
    for (offset = list_bytes + page_start; offset + half < stream.size(); offset += half) {
      ASSERT_EQ(f.on_chunk(next, at(offset), config), StateFetch::Chunk::kMore);
    }
    EXPECT_EQ(f.on_chunk(next, at(offset), config), StateFetch::Chunk::kComplete);
    const CapturedState taken = f.take_state();
    EXPECT_EQ(taken.digest, p.state_digest);
    EXPECT_EQ(CapturedState::of(taken.state).digest, p.state_digest);
    EXPECT_EQ(*taken.state.whole(), fetched_state(total));
  }
}

TEST(StateFetch, TakesThePagesItHoldsAndAsksOnlyForTheOthers) {
  const Config config = fetch_config();  // chunks of 40 bytes
  // 300 bytes in 100 pages of 3: a stream of 4000 bytes of page list, then the pages.
  const CapturedState state = fetched(300);
  ASSERT_EQ(state.page_count(), 100U);
  PageIndex known;
  add_pages(state, known);
  const Digest page50 = page_entry(*state.page_list, 50).digest;
  const Digest page90 = page_entry(*state.page_list, 90).digest;
  known.erase(page50);
  known.erase(page90);
  const auto unrelated = std::make_shared<const Bytes>(Bytes{1, 2, 3});
  known.emplace(codec::blake2b(*unrelated), unrelated);
  StateFetch f(proof_signed_by({0, 1, 2}, 300), FetchPurpose::kCatchUp, 3, 0, {}, std::nullopt,
               known);
  const ReplicaId source = source_of(f);
  for (std::uint64_t offset = 0; offset < 4000; offset += 40) {
    ASSERT_EQ(f.request(0)->second.offset, offset);
    ASSERT_EQ(f.on_chunk(source, chunk(offset, 300, 40, 300), config), StateFetch::Chunk::kMore);
  }
  // The list is in: pages 0-49 are held, so page 50 is asked for.
  EXPECT_EQ(f.request(0)->second.offset, 4000U + 50 * 3);
  // Its chunk brings pages 50 to 62 and a byte of 63; only page 50 is taken from it, and the
  // held pages up to 89 follow.
  ASSERT_EQ(f.on_chunk(source, chunk(4150, 300, 40, 300), config), StateFetch::Chunk::kMore);
  EXPECT_EQ(f.request(0)->second.offset, 4000U + 90 * 3);
  EXPECT_EQ(f.on_chunk(source, chunk(4270, 300, 30, 300), config), StateFetch::Chunk::kComplete);
  EXPECT_EQ(f.received_bytes(), 4000U + 40 + 30);
  EXPECT_EQ(f.stream_bytes_done(), 4300U);
  EXPECT_EQ(f.held_bytes(), 98U * 3);
  const CapturedState taken = f.take_state();
  EXPECT_EQ(taken.digest, state.digest);
  EXPECT_EQ(*taken.state.whole(), fetched_state(300));
  ASSERT_EQ(taken.state.pieces().size(), 100U);
  EXPECT_EQ(taken.state.pieces()[0], state.state.pieces()[0]);  // shared, not copied
  EXPECT_NE(taken.state.pieces()[50], state.state.pieces()[50]);
  EXPECT_EQ(CapturedState::of(taken.state).digest, state.digest);
}

TEST(StateFetch, ASupersedingTransferTakesThePagesItsPredecessorFetchedAndOnlyThoseOfItsList) {
  const Config config = fetch_config();
  const CapturedState state = fetched(300);
  const auto unrelated = std::make_shared<const Bytes>(Bytes{1, 2, 3});
  PageIndex known;
  known.emplace(codec::blake2b(*unrelated), unrelated);
  StateFetch first(proof_signed_by({0, 1, 2}, 300), FetchPurpose::kCatchUp, 3, 0, {}, std::nullopt,
                   known);
  const ReplicaId source = source_of(first);
  std::uint64_t offset = 0;
  for (; offset <= 4000; offset += 40) {
    ASSERT_EQ(first.on_chunk(source, chunk(offset, 300, 40, 300), config),
              StateFetch::Chunk::kMore);
  }
  // 13 pages are in (and a byte of the 14th); the unrelated page went with the list.
  PageIndex handed = first.take_known();
  EXPECT_EQ(handed.size(), 13U);
  EXPECT_FALSE(handed.contains(codec::blake2b(*unrelated)));
  EXPECT_EQ(first.stream_bytes_done(), 0U);
  StateFetch second(proof_signed_by({0, 1, 2}, 300), FetchPurpose::kCatchUp, 3, 0, first.tried(),
                    std::nullopt, std::move(handed));
  const ReplicaId next = source_of(second);
  EXPECT_NE(next, source);
  for (offset = 0; offset < 4000; offset += 40) {
    ASSERT_EQ(second.on_chunk(next, chunk(offset, 300, 40, 300), config), StateFetch::Chunk::kMore);
  }
  EXPECT_EQ(second.request(0)->second.offset, 4000U + 13 * 3);
}

TEST(StateFetch, ShortOrInconsistentChunksAreInvalid) {
  Config config = fetch_config();
  config.snapshot_bytes_max = 100;
  StateFetch f(proof_signed_by({0, 1, 2}), FetchPurpose::kCatchUp, 3, 0);
  const ReplicaId source = source_of(f);
  EXPECT_EQ(f.on_chunk(source, chunk(0, 10, 1), config), StateFetch::Chunk::kInvalid);  // drip
  EXPECT_EQ(f.on_chunk(source, chunk(0, 0, 0), config), StateFetch::Chunk::kInvalid);
  EXPECT_EQ(f.on_chunk(source, chunk(0, 101, 40), config), StateFetch::Chunk::kInvalid);
  EXPECT_EQ(f.on_chunk(source, chunk(0, 10, 40), config), StateFetch::Chunk::kMore);
  // The total a source claimed first holds for the whole transfer.
  EXPECT_EQ(f.on_chunk(source, chunk(40, 20, 40), config), StateFetch::Chunk::kInvalid);
  EXPECT_EQ(f.on_chunk(source, chunk(40, 10, 41), config), StateFetch::Chunk::kInvalid);
}

TEST(StateFetch, ASilentSourceGetsThreeIntervalsThenTheNextOneIsAsked) {
  const Config config = fetch_config();
  StateFetch f(proof_signed_by({0, 1, 2}), FetchPurpose::kCatchUp, 3, 0);
  EXPECT_EQ(source_of(f, 0), 0U);
  EXPECT_EQ(f.on_tick(50'000, config), StateFetch::Due::kNothing);
  EXPECT_EQ(f.on_tick(100'000, config), StateFetch::Due::kResend);
  EXPECT_EQ(source_of(f, 100'000), 0U);
  EXPECT_EQ(f.on_tick(200'000, config), StateFetch::Due::kResend);
  EXPECT_EQ(source_of(f, 200'000), 0U);
  EXPECT_EQ(f.on_tick(300'000, config), StateFetch::Due::kAbandon);
  f.abandon(300'000);
  EXPECT_EQ(source_of(f, 300'000), 1U);
  EXPECT_EQ(f.on_tick(400'000, config), StateFetch::Due::kResend);  // a fresh count
}

TEST(StateFetch, ASlowSourceIsGivenUpAfterTheGracePeriodAndRestartsFromZero) {
  const Config config = fetch_config();  // 1000 bytes/s after 1 s
  StateFetch f(proof_signed_by({0, 1, 2}, 400), FetchPurpose::kCatchUp, 3, 0);
  TimeUs now = 0;
  const ReplicaId source = source_of(f, now);
  // A chunk just before every timeout: 40 bytes per 90 ms is 444 bytes/s.
  for (std::uint64_t offset = 0; offset < 400; offset += 40) {
    now += 90'000;
    ASSERT_EQ(f.on_chunk(source, chunk(offset, 400, 40, 400), config), StateFetch::Chunk::kMore);
    ASSERT_TRUE(f.request(now));
  }
  EXPECT_EQ(f.on_tick(now, config), StateFetch::Due::kNothing);  // still in the grace period
  now = 1'500'000;  // 400 bytes in 1.5 s: below 1000 bytes/s over the 0.5 s past the grace
  EXPECT_EQ(f.on_tick(now, config), StateFetch::Due::kAbandon);
  f.abandon(now);
  EXPECT_EQ(f.received_bytes(), 0U);
  const auto request = f.request(now);
  ASSERT_TRUE(request);
  EXPECT_NE(request->first, source);
  EXPECT_EQ(request->second.offset, 0U);
  EXPECT_EQ(f.on_tick(now + 50'000, config), StateFetch::Due::kNothing);  // its own grace
}

TEST(StateFetch, EverySourceIsTriedOnceBeforeAnyIsTriedAgain) {
  StateFetch f(proof_signed_by({0, 1, 2, 3, 4, 5, 6}), FetchPurpose::kRepair, 6, 0);
  std::vector<ReplicaId> order;
  for (int k = 0; k < 12; ++k) {
    order.push_back(source_of(f));
    f.abandon(0);
  }
  // Sources 0..5, starting at 6 % 6 = 0, then all of them again.
  const std::vector<ReplicaId> expected = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5};
  EXPECT_EQ(order, expected);
  EXPECT_EQ(f.purpose(), FetchPurpose::kRepair);
  EXPECT_EQ(f.proof().seq, 10U);
}

TEST(StateFetch, ASupersedingTransferAsksTheSourcesItsPredecessorsDidNotUseFirst) {
  // Replica 3 would start at source 0 (3 % 3) every time: a faulty 0 that answers just fast
  // enough never to be given up before the next checkpoint supersedes the transfer would then be
  // the only source it ever asks.
  const CheckpointProofMsg p = proof_signed_by({0, 1, 2});
  StateFetch first(p, FetchPurpose::kCatchUp, 3, 0);
  EXPECT_EQ(first.source(), std::optional<ReplicaId>{0});
  StateFetch second(p, FetchPurpose::kCatchUp, 3, 0, first.tried());
  EXPECT_EQ(second.source(), std::optional<ReplicaId>{1});
  second.abandon(0);  // 1 given up: 2 next
  EXPECT_EQ(source_of(second), 2U);
  EXPECT_EQ(second.tried(), (std::vector<ReplicaId>{0, 1, 2}));
  StateFetch third(p, FetchPurpose::kCatchUp, 3, 0, second.tried());  // all tried: a new round
  EXPECT_EQ(third.source(), std::optional<ReplicaId>{0});
  // A source that completed the last transfer is asked first, unless its chain used it already.
  StateFetch after_success(p, FetchPurpose::kCatchUp, 3, 0, {}, ReplicaId{2});
  EXPECT_EQ(after_success.source(), std::optional<ReplicaId>{2});
  StateFetch superseding(p, FetchPurpose::kCatchUp, 3, 0, after_success.tried(), ReplicaId{2});
  EXPECT_EQ(superseding.source(), std::optional<ReplicaId>{0});
  EXPECT_FALSE(StateFetch(proof_signed_by({3}), FetchPurpose::kCatchUp, 3, 0).source());
}

// ---- ViewChanges and NEW-VIEW proposals -------------------------------------------------------

Config view_config() {
  Config config;
  config.f = 1;
  config.n = 4;
  config.checkpoint_interval = 10;
  config.log_window = 20;
  return config;
}

// A prepared certificate for (view, seq) with `digest`, with the prepares of the view's backups.
PreparedCert cert(ViewNum view, SeqNum seq, std::uint8_t digest, const Config& config) {
  PreparedCert c;
  c.header = BatchHeader{view, seq, static_cast<TimeUs>(1000 * seq), Digest{}, false};
  c.header.batch_digest[0] = digest;
  for (ReplicaId r = 0; r < config.n && c.prepares.size() < 2 * config.f; ++r) {
    if (r == config.primary_of(view)) continue;
    c.prepares.push_back(
        PrepareMsg{view, seq, c.header.batch_digest, r, {}, c.header.timestamp_us});
  }
  return c;
}

ViewChangeMsg view_change(ViewNum new_view, ReplicaId replica, SeqNum stable_seq,
                          std::vector<PreparedCert> prepared) {
  ViewChangeMsg vc;
  vc.new_view = new_view;
  vc.replica = replica;
  vc.stable.seq = stable_seq;
  if (stable_seq != 0) {
    vc.stable = proof_signed_by({0, 1, 2});
    vc.stable.seq = stable_seq;
    for (CheckpointMsg& c : vc.stable.checkpoints) c.seq = stable_seq;
  }
  vc.prepared = std::move(prepared);
  return vc;
}

TEST(ViewChanges, KeepsEachReplicasLatestAndCountsWhoWantsWhat) {
  ViewChanges vcs;
  vcs.store(view_change(2, 0, 0, {}));
  vcs.store(view_change(3, 1, 0, {}));
  vcs.store(view_change(5, 2, 0, {}));
  vcs.store(view_change(4, 0, 0, {}));  // replaces replica 0's view 2
  EXPECT_EQ(vcs.size(), 3U);
  EXPECT_EQ(vcs.of(0)->new_view, 4U);
  EXPECT_EQ(vcs.of(3), nullptr);
  EXPECT_EQ(vcs.at_least(4), 2U);
  EXPECT_EQ(vcs.at_least(6), 0U);
  // f+1 = 2 others above view 1: join the lower of the two highest (4 and 5 from replicas 0, 2
  // seen by replica 1).
  EXPECT_EQ(vcs.view_to_join(1, 1, 1), 4U);
  EXPECT_EQ(vcs.view_to_join(4, 1, 1), std::nullopt);  // only replica 2 wants more than 4
  vcs.discard_below(4);
  EXPECT_EQ(vcs.size(), 2U);
  EXPECT_EQ(vcs.of(1), nullptr);
}

TEST(ViewChanges, KnownOnlyForTheSameBytes) {
  const Config config = view_config();
  ViewChanges vcs;
  ViewChangeMsg vc = view_change(2, 1, 0, {cert(1, 1, 9, config)});
  vcs.store(vc);
  EXPECT_TRUE(vcs.known(vc));
  ViewChangeMsg altered = vc;
  altered.prepared[0].prepares[0].signature[5] ^= 1;
  EXPECT_FALSE(vcs.known(altered));
  altered = vc;
  altered.replica = 2;
  EXPECT_FALSE(vcs.known(altered));
}

TEST(ViewChanges, AQuorumForANewViewStartsWithTheNewPrimarysOwn) {
  ViewChanges vcs;
  vcs.store(view_change(1, 0, 0, {}));
  vcs.store(view_change(1, 2, 0, {}));
  vcs.store(view_change(2, 3, 0, {}));    // another view: not counted
  EXPECT_FALSE(vcs.quorum_for(1, 1, 3));  // the primary (1) has none
  vcs.store(view_change(1, 1, 0, {}));
  auto quorum = vcs.quorum_for(1, 1, 3);
  ASSERT_TRUE(quorum);
  ASSERT_EQ(quorum->size(), 3U);
  EXPECT_EQ((*quorum)[0].replica, 1U);
  EXPECT_EQ((*quorum)[1].replica, 0U);
  EXPECT_EQ((*quorum)[2].replica, 2U);
  EXPECT_FALSE(vcs.quorum_for(2, 3, 3));
}

TEST(NewViewProposals, HighestViewCertificatePerSeqAndNullBatchesInTheGaps) {
  const Config config = view_config();
  // Replica 0: stable at 10, prepared 11 (view 1) and 14 (view 1).
  // Replica 1: stable at 0, prepared 5 (below the highest stable: ignored) and 11 (view 2).
  // Replica 2: stable at 10, prepared nothing.
  const std::vector<ViewChangeMsg> vcs = {
      view_change(3, 0, 10, {cert(1, 11, 1, config), cert(1, 14, 4, config)}),
      view_change(3, 1, 0, {cert(1, 5, 5, config), cert(2, 11, 2, config)}),
      view_change(3, 2, 10, {}),
  };
  const NewViewProposals p = new_view_proposals(3, vcs);
  EXPECT_EQ(p.min_s, 10U);
  EXPECT_EQ(p.stable.seq, 10U);
  ASSERT_EQ(p.headers.size(), 4U);  // seqs 11..14
  EXPECT_EQ(p.headers[0].seq, 11U);
  EXPECT_EQ(p.headers[0].view, 3U);
  EXPECT_EQ(p.headers[0].batch_digest[0], 2);  // view 2's certificate wins over view 1's
  EXPECT_EQ(p.headers[0].timestamp_us, 11'000);
  EXPECT_FALSE(p.headers[0].null_batch);
  for (std::size_t i : {1, 2}) {
    EXPECT_TRUE(p.headers[i].null_batch) << i;
    EXPECT_EQ(p.headers[i].batch_digest, Digest{});
    EXPECT_EQ(p.headers[i].timestamp_us, 0);
  }
  EXPECT_EQ(p.headers[3].batch_digest[0], 4);
  // Nothing prepared above the checkpoint: nothing proposed.
  EXPECT_TRUE(new_view_proposals(3, {view_change(3, 2, 10, {})}).headers.empty());
}

TEST(ViewChangeChecks, PreparedCertificates) {
  const Config config = view_config();
  const PreparedCert good = cert(1, 11, 1, config);
  EXPECT_TRUE(prepared_cert_well_formed(good, 2, 10, config));
  EXPECT_FALSE(prepared_cert_well_formed(good, 1, 10, config));  // not below the new view
  EXPECT_FALSE(prepared_cert_well_formed(good, 2, 11, config));  // at or below the checkpoint
  EXPECT_FALSE(prepared_cert_well_formed(cert(1, 31, 1, config), 2, 10, config));  // window
  auto broken = [&](auto change) {
    PreparedCert c = good;
    change(c);
    return !prepared_cert_well_formed(c, 2, 10, config);
  };
  EXPECT_TRUE(broken([](PreparedCert& c) { c.prepares.pop_back(); }));  // fewer than 2f
  EXPECT_TRUE(broken([](PreparedCert& c) { c.prepares[1].replica = c.prepares[0].replica; }));
  EXPECT_TRUE(broken([](PreparedCert& c) { c.prepares[1].replica = 1; }));  // view 1's primary
  EXPECT_TRUE(broken([](PreparedCert& c) { c.prepares[1].batch_digest[0] = 7; }));
  EXPECT_TRUE(broken([](PreparedCert& c) { c.prepares[1].timestamp_us += 1; }));
  EXPECT_TRUE(broken([](PreparedCert& c) { c.header.null_batch = true; }));  // with a digest
  EXPECT_TRUE(broken([&](PreparedCert& c) {
    c.prepares.push_back(c.prepares[0]);
    c.prepares.back().replica = 3;
    c.prepares.push_back(c.prepares[0]);  // n prepares
  }));
}

TEST(ViewChangeChecks, ViewChangesAndNewViews) {
  const Config config = view_config();
  const ViewChangeMsg good =
      view_change(2, 3, 10, {cert(1, 11, 1, config), cert(1, 12, 2, config)});
  EXPECT_TRUE(view_change_well_formed(good, config));
  auto broken = [&](auto change) {
    ViewChangeMsg vc = good;
    change(vc);
    return !view_change_well_formed(vc, config);
  };
  EXPECT_TRUE(broken([](ViewChangeMsg& vc) { std::swap(vc.prepared[0], vc.prepared[1]); }));
  EXPECT_TRUE(broken([](ViewChangeMsg& vc) { vc.prepared.push_back(vc.prepared[1]); }));
  EXPECT_TRUE(broken([](ViewChangeMsg& vc) { vc.replica = 4; }));
  EXPECT_TRUE(broken([](ViewChangeMsg& vc) { vc.new_view = 0; }));
  EXPECT_TRUE(broken([](ViewChangeMsg& vc) { vc.stable.checkpoints.pop_back(); }));

  NewViewMsg nv;
  nv.view = 2;
  nv.replica = 2;
  for (ReplicaId r = 0; r < 3; ++r) nv.view_changes.push_back(view_change(2, r, 0, {}));
  EXPECT_TRUE(new_view_well_formed(nv, config));
  NewViewMsg bad = nv;
  bad.replica = 1;  // not view 2's primary
  EXPECT_FALSE(new_view_well_formed(bad, config));
  bad = nv;
  bad.view_changes.pop_back();
  EXPECT_FALSE(new_view_well_formed(bad, config));
  bad = nv;
  bad.view_changes[2].replica = 0;
  EXPECT_FALSE(new_view_well_formed(bad, config));
  bad = nv;
  bad.view_changes[2].new_view = 3;
  EXPECT_FALSE(new_view_well_formed(bad, config));
  bad = nv;
  bad.proposals.push_back(BatchHeader{});  // no signature for it
  EXPECT_FALSE(new_view_well_formed(bad, config));
}

// ---- EarlyVotes ------------------------------------------------------------------------------

PrepareMsg prepare(ViewNum view, SeqNum seq, ReplicaId replica) {
  PrepareMsg p;
  p.view = view;
  p.seq = seq;
  p.replica = replica;
  return p;
}

TEST(EarlyVotes, KeptPerSenderForItsLatestViewAndTakenForThatView) {
  EarlyVotes early(4, 8);
  using O = EarlyVotes::Outcome;
  EXPECT_EQ(early.keep(1, 3, 11, 0, prepare(3, 11, 1)), O::kKept);
  EXPECT_EQ(early.keep(1, 3, 11, 0, prepare(3, 11, 1)), O::kRefused);  // that seq already
  CommitMsg commit;
  commit.view = 3;
  commit.seq = 11;
  EXPECT_EQ(early.keep(1, 3, 11, 0, commit), O::kKept);  // another kind
  EXPECT_EQ(early.keep(2, 4, 12, 0, prepare(4, 12, 2)), O::kKept);
  EXPECT_EQ(early.keep(2, 3, 12, 0, prepare(3, 12, 2)), O::kOlderView);  // 2 moved on to 4
  PrePrepareMsg pp;
  pp.header.view = 3;
  pp.header.seq = 13;
  EXPECT_EQ(early.keep(3, 3, 13, 0, pp), O::kKept);
  EXPECT_EQ(early.size(), 4U);

  auto taken = early.take(3);
  ASSERT_EQ(taken.size(), 2U);  // replicas 1 and 3; replica 2's view-4 vote waits on
  EXPECT_EQ(taken[0].first, 1U);
  EXPECT_EQ(taken[0].second.prepares.size(), 1U);
  EXPECT_EQ(taken[0].second.commits.size(), 1U);
  EXPECT_EQ(taken[1].first, 3U);
  EXPECT_EQ(taken[1].second.pre_prepares.count(13), 1U);
  EXPECT_EQ(early.size(), 1U);
  EXPECT_TRUE(early.take(3).empty());
  EXPECT_EQ(early.take(5).size(), 0U);  // view 4's are older than 5: forgotten
  EXPECT_EQ(early.size(), 0U);
}

TEST(EarlyVotes, BoundedPerSenderAndKindAndAboveTheFloor) {
  EarlyVotes early(4, 3);
  using O = EarlyVotes::Outcome;
  EXPECT_EQ(early.keep(0, 2, 10, 10, prepare(2, 10, 0)), O::kRefused);  // at the floor
  for (SeqNum seq = 11; seq <= 13; ++seq) {
    EXPECT_EQ(early.keep(0, 2, seq, 10, prepare(2, seq, 0)), O::kKept);
  }
  EXPECT_EQ(early.keep(0, 2, 14, 10, prepare(2, 14, 0)), O::kRefused);
  EXPECT_EQ(early.keep(1, 2, 14, 10, prepare(2, 14, 1)), O::kKept);  // another sender's share
  // A later view from the same sender replaces its votes rather than adding to them.
  EXPECT_EQ(early.keep(0, 3, 14, 10, prepare(3, 14, 0)), O::kKept);
  EXPECT_EQ(early.size(), 2U);
}

// ---- Slot and SlotLog -------------------------------------------------------------------------

BatchPtr batch_of(std::uint64_t number) {
  Request r;
  r.client = ClientKey{"alice", 1};
  r.number = number;
  r.payload = {1, 2, 3};
  return make_batch({r});
}

BatchHeader header_for(ViewNum view, SeqNum seq, const BatchPtr& body) {
  return BatchHeader{view, seq, 1000, body->digest, false};
}

TEST(Slot, KeepsTheReferencedBodiesAndAtMostFour) {
  Slot s;
  const BatchPtr accepted = batch_of(1);
  const BatchPtr certified = batch_of(2);
  const BatchPtr committed = batch_of(3);
  s.header = header_for(1, 5, accepted);
  s.cert = PreparedCert{header_for(0, 5, certified), {}, {}};
  s.committed = header_for(0, 5, committed);
  EXPECT_TRUE(s.references(accepted->digest));
  EXPECT_TRUE(s.references(certified->digest));
  EXPECT_TRUE(s.references(committed->digest));
  EXPECT_FALSE(s.references(batch_of(9)->digest));
  s.store_body(batch_of(9));  // referenced by nothing
  s.store_body(accepted);
  s.store_body(accepted);  // known already
  s.store_body(certified);
  s.store_body(committed);
  EXPECT_EQ(s.bodies.size(), 4U);
  s.store_body(batch_of(10));  // a fifth: the unreferenced one goes
  EXPECT_EQ(s.bodies.size(), 4U);
  EXPECT_EQ(s.find_body(batch_of(9)->digest), nullptr);
  for (const BatchPtr& b : {accepted, certified, committed}) {
    EXPECT_NE(s.find_body(b->digest), nullptr);
  }
}

TEST(Slot, KnownHeaderPrefersTheCommittedOneAndANewViewClearsOnlyTheViewsState) {
  Slot s;
  EXPECT_EQ(s.known_header(), nullptr);
  const BatchPtr body = batch_of(1);
  s.header = header_for(2, 5, body);
  EXPECT_EQ(s.known_header()->view, 2U);
  s.committed = header_for(1, 5, body);
  EXPECT_EQ(s.known_header()->view, 1U);
  s.prepares[1] = PrepareMsg{2, 5, body->digest, 1, {}, 1000};
  s.commits[1] = CommitMsg{};
  s.prepared = true;
  s.prepares_verified = 2;
  s.cert = PreparedCert{header_for(2, 5, body), {}, {}};
  s.claims[3] = header_for(1, 5, body);
  s.store_body(body);
  s.clear_view();
  EXPECT_FALSE(s.header);
  EXPECT_TRUE(s.prepares.empty());
  EXPECT_TRUE(s.commits.empty());
  EXPECT_FALSE(s.prepared);
  EXPECT_EQ(s.prepares_verified, 0U);
  EXPECT_TRUE(s.cert);  // across views
  EXPECT_TRUE(s.committed);
  EXPECT_EQ(s.claims.size(), 1U);
  EXPECT_EQ(s.bodies.size(), 1U);
}

TEST(SlotLog, AssignmentsHeldPrePreparesAndDiscard) {
  SlotLog log;
  const BatchPtr b11 = batch_of(1);
  const BatchPtr b12 = batch_of(2);
  log.at(11).header = header_for(1, 11, b11);
  log.assign(11, *b11);
  const RequestId first{ClientKey{"alice", 1}, 1};
  EXPECT_TRUE(log.assigned(first));
  EXPECT_FALSE(log.assigned_elsewhere(first, 11));
  EXPECT_TRUE(log.assigned_elsewhere(first, 12));
  log.hold(HeldPrePrepare{header_for(1, 12, b12), {}, b12, false});
  log.hold(HeldPrePrepare{header_for(1, 13, b12), {}, b12, false});
  ASSERT_NE(log.find(12), nullptr);
  EXPECT_TRUE(log.find(12)->held);

  std::vector<SeqNum> reviewed;
  log.review_held([&](SeqNum seq, Slot&) {
    reviewed.push_back(seq);
    return seq == 13;  // 12 is released, 13 waits on
  });
  EXPECT_EQ(reviewed, (std::vector<SeqNum>{12, 13}));
  EXPECT_FALSE(log.find(12)->held);
  EXPECT_TRUE(log.find(13)->held);
  log.check(10, 20, 1);

  log.discard_through(12);
  EXPECT_EQ(log.find(11), nullptr);
  EXPECT_EQ(log.find(12), nullptr);
  EXPECT_FALSE(log.assigned(first));
  reviewed.clear();
  log.review_held([&](SeqNum seq, Slot&) {
    reviewed.push_back(seq);
    return true;
  });
  EXPECT_EQ(reviewed, (std::vector<SeqNum>{13}));

  log.assign(13, *b12);
  log.clear_view();
  EXPECT_EQ(log.assigned_count(), 0U);
  EXPECT_FALSE(log.find(13)->held);
  reviewed.clear();
  log.review_held([&](SeqNum seq, Slot&) {
    reviewed.push_back(seq);
    return true;
  });
  EXPECT_TRUE(reviewed.empty());
}

TEST(SlotLog, PreparedAndCommittedAboveTheExecutionPoint) {
  SlotLog log;
  const BatchPtr body = batch_of(1);
  EXPECT_EQ(log.highest_prepared_above(10), 10U);
  EXPECT_FALSE(log.committed_above(10));
  log.at(9).cert = PreparedCert{header_for(1, 9, body), {}, {}};
  log.at(12).cert = PreparedCert{header_for(1, 12, body), {}, {}};
  log.at(14).header = header_for(1, 14, body);  // accepted, not prepared
  EXPECT_EQ(log.highest_prepared_above(10), 12U);
  EXPECT_EQ(log.highest_prepared_above(12), 12U);
  log.at(13).committed = header_for(1, 13, body);
  EXPECT_TRUE(log.committed_above(12));
  EXPECT_FALSE(log.committed_above(13));
}

TEST(SlotLogDeathTest, ASlotOutsideTheWindowOrViewBreaksTheInvariants) {
  const BatchPtr body = batch_of(1);
  SlotLog outside;
  outside.at(31);
  EXPECT_DEATH(outside.check(10, 20, 1), "invariant");
  SlotLog stale_view;
  stale_view.at(11).header = header_for(0, 11, body);
  EXPECT_DEATH(stale_view.check(10, 20, 1), "invariant");
  SlotLog wrong_seq;
  wrong_seq.at(11).committed = header_for(1, 12, body);
  EXPECT_DEATH(wrong_seq.check(10, 20, 1), "invariant");
}

// ---- PrimaryMonitor ----------------------------------------------------------------------------

Config monitor_config() {
  Config config;
  config.request_timeout_us = 1'000'000;
  config.slow_primary_factor = 4;
  config.batch_delay_us = 0;
  config.vouch_defer_us = 0;
  return config;
}

TEST(PrimaryMonitor, TheBoundFollowsTheAgreementTimeWithinItsClamp) {
  PrimaryMonitor m(monitor_config());
  EXPECT_EQ(m.bound(), 100'000);  // no sample yet: request_timeout_us / 10
  m.executed(0, 50'000);          // first sample: 50 ms
  EXPECT_EQ(m.bound(), 200'000);
  m.executed(0, 130'000);  // smoothed: 50 + (130 - 50) / 8 = 60 ms
  EXPECT_EQ(m.bound(), 240'000);
  for (int i = 0; i < 200; ++i) m.executed(0, 900'000);
  EXPECT_EQ(m.bound(), 1'000'000);  // at most request_timeout_us
}

TEST(PrimaryMonitor, AGapNeedsWaitingRequestsAndRoom) {
  PrimaryMonitor m(monitor_config());
  m.view_installed(10, 0);
  EXPECT_EQ(m.high_seq(), 10U);
  EXPECT_FALSE(m.gap_start(100));  // no room seen yet
  m.track_room(true, 200);
  EXPECT_FALSE(m.gap_start(std::nullopt));  // no request waits
  EXPECT_EQ(m.gap_start(100), 200);         // the latest of request, room, last pre-prepare
  EXPECT_EQ(m.gap_start(300), 300);
  m.track_room(true, 400);  // room all along: its start stays
  EXPECT_EQ(m.gap_start(100), 200);
  m.track_room(false, 500);
  EXPECT_FALSE(m.gap_start(100));
}

TEST(PrimaryMonitor, TheSecondSlowGapInARowMakesThePrimarySlow) {
  PrimaryMonitor m(monitor_config());
  m.view_installed(0, 0);
  m.executed(0, 50'000);  // bound 200 ms
  m.track_room(true, 0);
  // A first slow gap: not yet slow, however long.
  EXPECT_FALSE(m.slow(1'000'000, 0, false));
  m.pre_prepare_accepted(1, 1'000'000, 0);    // ends the slow gap (counted)
  EXPECT_FALSE(m.slow(1'100'000, 0, false));  // the next gap is only 100 ms long
  EXPECT_TRUE(m.slow(1'200'000, 0, false));   // the second slow gap
  // A fast answer to new work wipes the count.
  m.pre_prepare_accepted(2, 1'250'000, 1'240'000);
  EXPECT_FALSE(m.slow(2'000'000, 1'240'000, false));
  // A pre-prepare waiting for agreed time's pace counts as a slow gap already.
  EXPECT_TRUE(m.slow(2'000'000, 1'240'000, true));
  // A new view starts the count again.
  m.view_installed(5, 3'000'000);
  EXPECT_FALSE(m.slow(4'000'000, 0, false));
}

TEST(PrimaryMonitor, OldPrePreparesChangeNothingAndZeroTurnsTheCheckOff) {
  PrimaryMonitor m(monitor_config());
  m.view_installed(10, 0);
  m.executed(0, 50'000);
  m.track_room(true, 0);
  m.pre_prepare_accepted(8, 500'000, 0);  // below the highest: not a new pre-prepare
  EXPECT_EQ(m.high_seq(), 10U);
  EXPECT_EQ(m.gap_start(0), 0);
  m.pre_prepare_accepted(11, 500'000, 0);
  EXPECT_EQ(m.high_seq(), 11U);
  EXPECT_TRUE(m.slow(800'000, 0, false));

  Config off = monitor_config();
  off.slow_primary_factor = 0;
  PrimaryMonitor disabled(off);
  disabled.executed(0, 50'000);
  disabled.track_room(true, 0);
  EXPECT_FALSE(disabled.slow(10'000'000, 0, true));
}

// ---- ViewState ------------------------------------------------------------------------------

TEST(ViewState, ChangingIntoAViewThenInstallingIt) {
  ViewState v(/*timeout_base_us=*/1'000, /*timeout_max_us=*/3'000);
  v.restore(2, false, 100);
  v.check();
  EXPECT_EQ(v.number(), 2U);
  EXPECT_FALSE(v.changing());
  EXPECT_EQ(v.entered_us(), 100);

  v.begin_change(3, 200);
  v.check();
  EXPECT_EQ(v.number(), 3U);
  EXPECT_TRUE(v.changing());
  EXPECT_EQ(v.entered_us(), 200);
  EXPECT_EQ(v.new_view_bytes(), nullptr);

  auto nv = std::make_shared<const Bytes>(Bytes{1, 2, 3});
  v.install(nv, 300);
  v.check();
  EXPECT_FALSE(v.changing());
  EXPECT_EQ(v.entered_us(), 300);
  EXPECT_EQ(v.new_view_bytes(), nv);

  // Entering a higher view (a NEW-VIEW for it arrived) forgets the old view's NEW-VIEW and keeps
  // "changing" as it was.
  v.enter(5, 400);
  EXPECT_EQ(v.number(), 5U);
  EXPECT_FALSE(v.changing());
  EXPECT_EQ(v.new_view_bytes(), nullptr);
}

TEST(ViewState, TheTimerDoublesUpToItsCapAndResetsAfterProgressInAnInstalledView) {
  ViewState v(1'000, 3'000);
  v.start_timer(0);  // not changing view: no timer
  EXPECT_FALSE(v.deadline_us());

  v.begin_change(1, 0);
  v.start_timer(10);
  ASSERT_TRUE(v.deadline_us());
  EXPECT_EQ(*v.deadline_us(), 1'010);
  v.start_timer(500);  // already running
  EXPECT_EQ(*v.deadline_us(), 1'010);
  EXPECT_FALSE(v.timer_expired(1'009));
  EXPECT_TRUE(v.timer_expired(1'010));
  EXPECT_FALSE(v.timer_expired(1'010));  // once

  v.begin_change(2, 1'010);
  v.start_timer(1'010);
  EXPECT_EQ(*v.deadline_us(), 3'010);  // twice as long
  EXPECT_TRUE(v.timer_expired(3'010));
  v.begin_change(3, 3'010);
  v.start_timer(3'010);
  EXPECT_EQ(*v.deadline_us(), 6'010);  // capped
  EXPECT_TRUE(v.timer_expired(6'010));

  v.begin_change(4, 6'010);
  v.install(nullptr, 6'100);
  EXPECT_FALSE(v.deadline_us());
  v.batch_executed(3);  // an older view's batch proves nothing about this one
  v.begin_change(5, 7'000);
  v.start_timer(7'000);
  EXPECT_EQ(*v.deadline_us(), 10'000);

  v.install(nullptr, 8'000);
  v.batch_executed(5);
  v.begin_change(6, 9'000);
  v.start_timer(9'000);
  EXPECT_EQ(*v.deadline_us(), 10'000);  // back to the base
}

TEST(ViewStateDeathTest, ViewsOnlyGrow) {
  ViewState v(1'000, 3'000);
  v.restore(4, false, 0);
  EXPECT_DEATH(v.enter(4, 0), "view > number_");
  EXPECT_DEATH(v.begin_change(3, 0), "view > number_");
}

// ---- Checkpoints ----------------------------------------------------------------------------

CheckpointProofMsg proof_at(SeqNum seq, std::uint8_t state) {
  CheckpointProofMsg p;
  p.seq = seq;
  p.state_digest.fill(state);
  return p;
}

OwnCheckpoint own_state(std::uint8_t state) {
  OwnCheckpoint o;
  o.digest.fill(state);
  o.state = std::make_shared<const Bytes>(Bytes{state});
  return o;
}

TEST(Checkpoints, OwnStatesAndTheArchiveFollowTheStableCheckpoint) {
  Checkpoints c(/*interval=*/10);
  c.reset(CheckpointProofMsg{}, own_state(0));
  EXPECT_EQ(c.stable_seq(), 0U);
  EXPECT_EQ(c.retain_floor(), 0U);
  ASSERT_NE(c.own(0), nullptr);

  c.keep_own(10, own_state(1));
  c.keep_own(20, own_state(2));
  EXPECT_EQ(c.latest_own()->digest, own_state(2).digest);
  for (SeqNum s = 1; s <= 20; ++s) c.archive(s, ArchivedBatch{BatchHeader{0, s, 0, {}, true}, {}});

  c.advance(proof_at(20, 2));
  c.discard();
  EXPECT_EQ(c.stable_seq(), 20U);
  EXPECT_EQ(c.stable_proof().state_digest, own_state(2).digest);
  EXPECT_EQ(c.own(0), nullptr);  // below the stable checkpoint
  EXPECT_EQ(c.own(10), nullptr);
  ASSERT_NE(c.own(20), nullptr);  // serves state transfer
  EXPECT_EQ(c.retain_floor(), 10U);
  EXPECT_EQ(c.archived(10), nullptr);  // at or below the floor
  ASSERT_NE(c.archived(11), nullptr);
  EXPECT_EQ(c.archived(11)->header.seq, 11U);
  EXPECT_EQ(c.archive_count(), 10U);

  // A restart from a verified stable state keeps that state only.
  c.reset(proof_at(30, 3), own_state(3));
  EXPECT_EQ(c.stable_seq(), 30U);
  EXPECT_EQ(c.own_count(), 1U);
  EXPECT_EQ(c.archive_count(), 0U);
}

TEST(Checkpoints, CapturesAndTheProofThatWaitsForOne) {
  Checkpoints c(10);
  const std::uint64_t a = c.begin_capture(10);
  const std::uint64_t b = c.begin_capture(20);
  EXPECT_NE(a, b);
  EXPECT_TRUE(c.capture_pending(10));
  EXPECT_FALSE(c.capture_pending(30));

  c.await_capture(proof_at(20, 2));
  c.await_capture(proof_at(10, 1));  // lower: the higher one keeps waiting
  EXPECT_FALSE(c.take_proof_awaiting(10));
  EXPECT_EQ(c.end_capture(a), SeqNum{10});
  EXPECT_FALSE(c.end_capture(a));  // once
  EXPECT_FALSE(c.capture_pending(10));
  const auto waiting = c.take_proof_awaiting(20);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->seq, 20U);
  EXPECT_FALSE(c.take_proof_awaiting(20));

  // A stable checkpoint at 20 makes older captures useless; a replaced state all of them.
  const std::uint64_t d = c.begin_capture(30);
  c.await_capture(proof_at(20, 2));
  c.advance(proof_at(20, 2));
  c.discard();
  EXPECT_TRUE(c.capture_pending(20));
  EXPECT_FALSE(c.take_proof_awaiting(20));
  c.drop_captures();
  EXPECT_FALSE(c.end_capture(b));
  EXPECT_FALSE(c.end_capture(d));
  EXPECT_EQ(c.captures_pending(), 0U);
}

// The driver's image of a capture (state_capture.h): the newest capture waits for it, until the
// image is taken, the capture ends, or it is dropped or discarded.
TEST(Checkpoints, TheNewestCaptureWaitsForItsImage) {
  Checkpoints c(10);
  EXPECT_FALSE(c.awaiting_image());
  const std::uint64_t a = c.begin_capture(10);
  ASSERT_TRUE(c.awaiting_image());
  EXPECT_EQ(c.awaiting_image()->id, a);
  EXPECT_EQ(c.awaiting_image()->seq, 10U);
  c.image_taken(a + 1);  // another capture's: nothing changes
  EXPECT_TRUE(c.awaiting_image());
  c.image_taken(a);
  EXPECT_FALSE(c.awaiting_image());
  EXPECT_TRUE(c.capture_pending(10));  // still running, from its image

  const std::uint64_t b = c.begin_capture(20);
  EXPECT_EQ(c.end_capture(b), SeqNum{20});  // answered on the spot
  EXPECT_FALSE(c.awaiting_image());

  c.begin_capture(30);
  c.advance(proof_at(40, 2));
  c.discard();  // a newer stable checkpoint: the capture and the wait for its image are gone
  EXPECT_FALSE(c.awaiting_image());
  c.check();

  c.begin_capture(50);
  c.drop_captures();
  EXPECT_FALSE(c.awaiting_image());
}

TEST(CheckpointsDeathTest, TheStableCheckpointNeverMovesBack) {
  Checkpoints c(10);
  c.advance(proof_at(20, 2));
  c.advance(proof_at(20, 2));  // the same seq again (a state transfer ending) is fine
  EXPECT_DEATH(c.advance(proof_at(10, 1)), "stable_");
}

TEST(CheckpointsDeathTest, CheckFindsStatesAndBatchesTheStableCheckpointLeftBehind) {
  Checkpoints c(10);
  c.keep_own(10, own_state(1));
  c.archive(10, ArchivedBatch{BatchHeader{0, 10, 0, {}, true}, {}});
  c.advance(proof_at(20, 2));
  EXPECT_DEATH(c.check(), "own_");  // not discarded yet
  c.discard();
  c.check();
  c.archive(21, ArchivedBatch{BatchHeader{0, 21, 0, {}, true}, {}});  // above stable
  EXPECT_DEATH(c.check(), "archive_");
}

// ---- ProofWait ------------------------------------------------------------------------------

TEST(ProofWait, LastsWhileExecutionProgressesAndEndsWhenReachedOrOutOfPatience) {
  ProofWait w(/*patience_us=*/1'000);
  EXPECT_FALSE(w.check(0, 0, 0, false));  // not waiting
  w.wait(proof_at(20, 2), /*last_executed=*/15, /*now_us=*/0);
  w.wait(proof_at(10, 1), 15, 500);  // lower: the higher proof and the start stay
  EXPECT_EQ(w.deadline_us(), TimeUs{1'000});
  EXPECT_FALSE(w.check(0, 15, 999, false));
  EXPECT_FALSE(w.check(0, 17, 999, false));  // progress: the wait starts over
  EXPECT_EQ(w.deadline_us(), TimeUs{1'999});
  const auto reached = w.check(0, 20, 1'200, false);
  ASSERT_TRUE(reached);
  EXPECT_EQ(reached->seq, 20U);
  EXPECT_FALSE(w.waiting());

  w.wait(proof_at(30, 3), 20, 2'000);
  EXPECT_FALSE(w.check(0, 20, 2'999, false));
  EXPECT_TRUE(w.check(0, 20, 3'000, false));  // out of patience: fetch the state

  w.wait(proof_at(40, 4), 20, 4'000);
  EXPECT_TRUE(w.check(0, 20, 4'000, /*give_up=*/true));  // a view change: no log to wait for

  w.wait(proof_at(50, 5), 20, 5'000);
  EXPECT_FALSE(w.check(/*stable_seq=*/50, 20, 5'000, false));  // stable anyway: nothing to do
  EXPECT_FALSE(w.waiting());
  w.wait(proof_at(60, 6), 20, 6'000);
  w.cancel();
  EXPECT_FALSE(w.deadline_us());
}

// ---- VouchOutbox ----------------------------------------------------------------------------

VouchEntry vouch_for(std::uint64_t number) { return VouchEntry{ClientKey{"c", 1}, number, {}}; }

struct Sent {
  std::vector<std::uint64_t> to_primary;
  std::vector<std::uint64_t> to_all;
};

Sent flush(VouchOutbox& o, TimeUs now_us, std::uint64_t executed_up_to = 0) {
  Sent sent;
  o.flush(
      now_us, [&](const VouchEntry& v) { return v.number > executed_up_to; },
      [&](const std::vector<VouchEntry>& entries, bool to_primary) {
        for (const VouchEntry& v : entries) {
          (to_primary ? sent.to_primary : sent.to_all).push_back(v.number);
        }
      });
  return sent;
}

TEST(VouchOutbox, FirstVouchesGoToThePrimaryNowAndToEveryoneLater) {
  VouchOutbox o(/*defer_us=*/1'000);
  o.add(vouch_for(1), /*repeat=*/false, /*at_primary=*/false, 0);
  o.add(vouch_for(2), false, false, 100);
  o.add(vouch_for(3), /*repeat=*/true, false, 100);
  EXPECT_EQ(o.outgoing(), 3U);
  EXPECT_EQ(o.deferred(), 2U);
  EXPECT_EQ(o.next_due_us(), TimeUs{1'000});

  Sent now = flush(o, 100);
  EXPECT_EQ(now.to_primary, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(now.to_all, (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(o.outgoing(), 0U);

  // 1 falls due; request 1 was executed meanwhile, so nobody needs it. 2 follows later.
  Sent later = flush(o, 1'000, /*executed_up_to=*/1);
  EXPECT_TRUE(later.to_primary.empty());
  EXPECT_TRUE(later.to_all.empty());
  EXPECT_EQ(o.next_due_us(), TimeUs{1'100});
  EXPECT_EQ(flush(o, 1'100).to_all, (std::vector<std::uint64_t>{2}));
  EXPECT_FALSE(o.next_due_us());
}

TEST(VouchOutbox, ThePrimaryDefersOnlyAndNoDeferralSendsToEveryone) {
  VouchOutbox at_primary(1'000);
  at_primary.add(vouch_for(1), false, /*at_primary=*/true, 0);
  EXPECT_TRUE(flush(at_primary, 0).to_primary.empty());
  EXPECT_EQ(flush(at_primary, 1'000).to_all, (std::vector<std::uint64_t>{1}));

  VouchOutbox at_once(0);
  at_once.add(vouch_for(1), false, false, 0);
  EXPECT_EQ(at_once.deferred(), 0U);
  Sent sent = flush(at_once, 0);
  EXPECT_TRUE(sent.to_primary.empty());
  EXPECT_EQ(sent.to_all, (std::vector<std::uint64_t>{1}));
}

// ---- RequestFetches and BatchFetches --------------------------------------------------------

Digest digest_of(std::uint8_t b) {
  Digest d{};
  d.fill(b);
  return d;
}

TEST(RequestFetches, AskedOfTheVouchersInTurnAndEndedWhenNoLongerWanted) {
  RequestFetches f;
  const RequestId id{ClientKey{"c", 1}, 7};
  EXPECT_FALSE(f.due());
  f.want(digest_of(1), id);
  f.want(digest_of(1), id);  // once
  f.want(digest_of(2), id);
  EXPECT_TRUE(f.due());
  EXPECT_EQ(f.size(), 2U);

  std::map<Digest, std::optional<std::vector<ReplicaId>>> vouchers;
  vouchers[digest_of(1)] = std::vector<ReplicaId>{1, 3};
  vouchers[digest_of(2)] = std::vector<ReplicaId>{};  // nobody vouched for it any more
  auto lookup = [&](const RequestId&, const Digest& d) { return vouchers[d]; };

  auto round = f.round(0, /*retry_us=*/500, /*per_target_max=*/10, lookup);
  EXPECT_FALSE(f.due());
  EXPECT_EQ(round.size(), 1U);
  EXPECT_EQ(round[1], (std::vector<Digest>{digest_of(1)}));
  EXPECT_EQ(f.size(), 1U);  // digest 2 ended

  EXPECT_TRUE(f.round(499, 500, 10, lookup).empty());  // asked recently
  round = f.round(500, 500, 10, lookup);
  EXPECT_EQ(round[3], (std::vector<Digest>{digest_of(1)}));  // the next voucher

  vouchers[digest_of(1)] = std::nullopt;  // its bytes came some other way
  EXPECT_TRUE(f.round(600, 500, 10, lookup).empty());
  EXPECT_EQ(f.size(), 0U);
}

TEST(RequestFetches, AReplicaIsAskedForAtMostSoManyDigestsARound) {
  RequestFetches f;
  const RequestId id{ClientKey{"c", 1}, 7};
  for (std::uint8_t b = 1; b <= 3; ++b) f.want(digest_of(b), id);
  auto lookup = [](const RequestId&, const Digest&) {
    return std::optional<std::vector<ReplicaId>>(std::vector<ReplicaId>{2});
  };
  auto round = f.round(0, 500, /*per_target_max=*/2, lookup);
  EXPECT_EQ(round[2], (std::vector<Digest>{digest_of(1), digest_of(2)}));
  EXPECT_TRUE(f.due());  // the third in the next round
  round = f.round(1, 500, 2, lookup);
  EXPECT_EQ(round[2], (std::vector<Digest>{digest_of(3)}));
  EXPECT_FALSE(f.due());
}

TEST(BatchFetches, TheOtherReplicasInTurnOncePerRetryInterval) {
  BatchFetches f(/*self=*/1, /*n=*/4);
  EXPECT_EQ(f.ask(5, digest_of(1), 0, /*retry_us=*/500), ReplicaId{2});
  EXPECT_FALSE(f.ask(5, digest_of(1), 499, 500));
  EXPECT_EQ(f.ask(5, digest_of(1), 500, 500), ReplicaId{3});
  EXPECT_EQ(f.ask(5, digest_of(1), 1'000, 500), ReplicaId{0});
  EXPECT_EQ(f.ask(5, digest_of(1), 1'500, 500), ReplicaId{2});  // never itself
  EXPECT_EQ(f.ask(5, digest_of(2), 1'600, 500), ReplicaId{2});  // another digest starts over

  f.ask(6, digest_of(3), 0, 500);
  f.ask(9, digest_of(4), 0, 500);
  const auto kept = f.prune([](SeqNum seq, const Digest&) { return seq != 6; });
  ASSERT_EQ(kept.size(), 2U);
  EXPECT_EQ(kept[0], (std::pair<SeqNum, Digest>{5, digest_of(2)}));
  EXPECT_EQ(kept[1], (std::pair<SeqNum, Digest>{9, digest_of(4)}));
  f.discard_through(5);
  EXPECT_EQ(f.size(), 1U);
  f.done(9);
  EXPECT_EQ(f.size(), 0U);
}

}  // namespace
}  // namespace bastion::bft
