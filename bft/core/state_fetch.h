// State transfer towards a proven stable checkpoint, as the fetching replica sees it: which source
// to ask, how far it got, and when a source is given up (docs/protocol.md, "Catching up and state
// transfer").
//
// The sources are the proof's signers other than this replica; each fetching replica starts at a
// different one (its id modulo their number) so that several behind at once spread the load,
// unless a source completed its last transfer (it starts there). A transfer that a newer proof
// supersedes hands on the sources it used (tried()): the new one asks the others first, so that
// a faulty source slow enough to be superseded each time is not asked first every time. A
// source is given up when it stays silent for three retransmission intervals, sends a chunk that
// is not full size (the last one: the rest), falls below state_transfer_min_bytes_per_s once
// state_transfer_grace_us have passed, or (the replica finds) sends a state that does not match
// the proven digest. The next source is one not given up yet during this transfer; once every one
// has been, all get another try.
//
// What a source sends is a stream: the state's page list (bft/core/state_digest.h), then its pages
// in order; chunks and offsets count bytes of that stream. Checked as it comes: the first chunk
// brings the state's size, its page count and the leaf digests of its page list, checked against
// the proven digest; each leaf of the list is checked as soon as its bytes are in, and each page
// once the whole list is in and checked, so a source that sends other bytes is given up a leaf or
// a page later (kWrong), not after the whole state.
//
// Only what the replica lacks is fetched: a page of the proven list whose digest is in `known`
// (the pages of the replica's own checkpoint states, and those a superseded transfer had fetched
// or taken: take_known()) is taken from there, and the next offset asked is that of the next page
// it lacks. What is checked stays when a source is given up (the list's checked leaves, the
// checked pages, whoever sent them): the next source is asked from there, and only the unchecked
// rest is dropped. A digest names its bytes (BLAKE2b-256), so a page taken by digest is the
// proven one.
//
// Bounded: what is held grows by one checked chunk at a time up to the stream the first chunk
// claimed (proven with the leaf digests), a state of at most snapshot_bytes_max and its list;
// `known` is cut to the pages of the proven list once the list is in (before, it holds what the
// caller gave: pages it holds anyway and those of the previous transfer's list).
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "bft/core/config.h"
#include "bft/core/messages.h"
#include "bft/core/state_bytes.h"
#include "bft/core/state_capture.h"

namespace bastion::bft {

// Why a replica fetches a stable checkpoint's state.
enum class FetchPurpose : std::uint8_t {
  kCatchUp,  // it is behind: install the state (unless it executed up to it meanwhile)
  kRepair,   // its own state at that seq differs: install the proven one
  kKeep,     // it executed past it, but its own capture failed: keep the bytes as its stable state
};

class StateFetch {
 public:
  // `tried`: the sources of the transfers this one supersedes (asked last, unless every source
  // is among them); `prefer`: the source that completed this replica's last transfer.
  // `known`: pages the replica holds (see above).
  StateFetch(CheckpointProofMsg proof, FetchPurpose purpose, ReplicaId self, TimeUs now_us,
             const std::vector<ReplicaId>& tried = {},
             std::optional<ReplicaId> prefer = std::nullopt, PageIndex known = {});

  const CheckpointProofMsg& proof() const { return proof_; }
  FetchPurpose purpose() const { return purpose_; }
  // How far into the stream the transfer got: the bytes fetched and those taken from `known`.
  std::uint64_t stream_bytes_done() const { return next_; }
  // Stream bytes received from the current source (not those taken from `known`).
  std::uint64_t received_bytes() const { return received_; }
  // Bytes of the pages taken from `known`, so far.
  std::uint64_t held_bytes() const { return held_; }
  // The state once complete (kComplete below), with its digest and page list; the fetch then
  // starts over from byte 0 if asked again.
  CapturedState take_state();
  // The pages this transfer holds, checked, by digest: for the transfer that supersedes it. The
  // fetch then starts over from byte 0 if asked again.
  PageIndex take_known();

  // The source asked now; nullopt when the proof names no other replica.
  std::optional<ReplicaId> source() const;
  // The sources this transfer and those it superseded used: `tried`, those given up, the current.
  std::vector<ReplicaId> tried() const;

  // The FETCH-STATE to send now and to whom; nullopt when the proof names no other replica.
  std::optional<std::pair<ReplicaId, FetchStateMsg>> request(TimeUs now_us);

  enum class Due : std::uint8_t {
    kNothing,  // waiting for the chunk asked for
    kResend,   // the request may have been lost: ask the same source again
    kAbandon,  // the source is silent or too slow: give it up
  };
  // At a retransmission tick.
  Due on_tick(TimeUs now_us, const Config& config);
  // Gives up the current source for the next one (see above), which is asked from the first byte
  // not yet checked.
  void abandon(TimeUs now_us);

  enum class Chunk : std::uint8_t {
    kUnsolicited,  // not from the current source, or not of this checkpoint
    kDuplicate,    // not at the offset expected
    kInvalid,      // short, or its total changed or is out of bounds: abandon the source
    kWrong,        // digests or bytes that are not the proven state's: abandon the source
    kMore,         // taken; ask for the next
    kComplete,     // taken, and the state is whole and matches the proven digest
  };
  Chunk on_chunk(ReplicaId from, const StateChunkMsg& chunk, const Config& config);

 private:
  // Takes stream bytes past the page list into the pages, and the known pages that follow; false
  // if a page does not match.
  bool take_pages(ByteView data);
  // Forgets the transfer's progress: the next chunk asked is at byte 0.
  void restart();

  CheckpointProofMsg proof_;
  FetchPurpose purpose_;
  std::vector<ReplicaId> sources_;  // ascending
  std::size_t source_index_ = 0;
  std::vector<bool> abandoned_;   // per source, during this transfer
  std::vector<ReplicaId> tried_;  // by the transfers this one superseded
  std::uint32_t timeouts_ = 0;    // consecutive, with the current source
  std::uint64_t received_ = 0;    // stream bytes from the current source
  std::uint64_t next_ = 0;        // the stream offset to ask for next
  std::uint64_t held_ = 0;        // bytes of the pages taken from known_
  // From the current source's first chunk: the state's size and page count, the list's leaves.
  std::uint64_t total_bytes_ = 0;
  std::uint64_t page_count_ = 0;
  std::vector<Digest> leaves_;
  std::uint64_t leaves_checked_ = 0;  // leading leaves of the list whose bytes matched
  Bytes list_;
  bool list_checked_ = false;  // whole, its leaves checked, one of non-empty pages of the state
  Bytes page_;                 // the bytes so far of the page after those in pages_
  StateBytes pages_;           // the pages received and checked, or taken from known_
  PageIndex known_;
  TimeUs sent_us_ = 0;
  TimeUs source_start_us_ = 0;  // when the current source was first asked
};

}  // namespace bastion::bft
