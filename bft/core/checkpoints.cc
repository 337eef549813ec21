#include "bft/core/checkpoints.h"

#include <algorithm>

#include "codec/check.h"

namespace bastion::bft {

void Checkpoints::reset(const CheckpointProofMsg& proof, OwnCheckpoint own) {
  stable_ = proof;
  own_.clear();
  own_[proof.seq] = std::move(own);
  archive_.clear();
  drop_captures();
}

void Checkpoints::advance(const CheckpointProofMsg& proof) {
  BASTION_CHECK(proof.seq >= stable_.seq);  // a stable checkpoint never moves back
  stable_ = proof;
}

void Checkpoints::discard() {
  own_.erase(own_.begin(), own_.lower_bound(stable_.seq));
  archive_.erase(archive_.begin(), archive_.upper_bound(retain_floor()));
  std::erase_if(captures_, [this](const auto& c) { return c.second < stable_.seq; });
  if (awaiting_image_ && !captures_.contains(*awaiting_image_)) awaiting_image_.reset();
  if (proof_awaiting_capture_ && proof_awaiting_capture_->seq <= stable_.seq) {
    proof_awaiting_capture_.reset();
  }
}

void Checkpoints::check() const {
  BASTION_CHECK(own_.empty() || own_.begin()->first >= stable_.seq);
  BASTION_CHECK(archive_.empty() || (archive_.begin()->first > retain_floor() &&
                                     archive_.rbegin()->first <= stable_.seq));
  BASTION_CHECK(!proof_awaiting_capture_ || proof_awaiting_capture_->seq > stable_.seq);
  BASTION_CHECK(!awaiting_image_ || captures_.contains(*awaiting_image_));
}

const OwnCheckpoint* Checkpoints::own(SeqNum seq) const {
  auto it = own_.find(seq);
  return it == own_.end() ? nullptr : &it->second;
}

const OwnCheckpoint* Checkpoints::latest_own() const {
  return own_.empty() ? nullptr : &own_.rbegin()->second;
}

void Checkpoints::add_own_pages(PageIndex& index) const {
  for (const auto& [seq, own] : own_) add_pages(own, index);
}

const ArchivedBatch* Checkpoints::archived(SeqNum seq) const {
  auto it = archive_.find(seq);
  return it == archive_.end() ? nullptr : &it->second;
}

std::uint64_t Checkpoints::begin_capture(SeqNum seq) {
  const std::uint64_t id = ++last_capture_id_;
  captures_.emplace(id, seq);
  awaiting_image_ = id;
  return id;
}

std::optional<CaptureRequest> Checkpoints::awaiting_image() const {
  if (!awaiting_image_) return std::nullopt;
  return CaptureRequest{*awaiting_image_, captures_.at(*awaiting_image_)};
}

void Checkpoints::image_taken(std::uint64_t id) {
  if (awaiting_image_ == id) awaiting_image_.reset();
}

std::optional<SeqNum> Checkpoints::end_capture(std::uint64_t id) {
  auto it = captures_.find(id);
  if (it == captures_.end()) return std::nullopt;  // a state since replaced or discarded
  const SeqNum seq = it->second;
  captures_.erase(it);
  image_taken(id);
  return seq;
}

bool Checkpoints::capture_pending(SeqNum seq) const {
  return std::any_of(captures_.begin(), captures_.end(),
                     [seq](const auto& c) { return c.second == seq; });
}

void Checkpoints::drop_captures() {
  captures_.clear();
  awaiting_image_.reset();
  proof_awaiting_capture_.reset();
}

void Checkpoints::await_capture(const CheckpointProofMsg& proof) {
  if (!proof_awaiting_capture_ || proof_awaiting_capture_->seq < proof.seq) {
    proof_awaiting_capture_ = proof;
  }
}

std::optional<CheckpointProofMsg> Checkpoints::take_proof_awaiting(SeqNum seq) {
  if (!proof_awaiting_capture_ || proof_awaiting_capture_->seq != seq) return std::nullopt;
  std::optional<CheckpointProofMsg> proof = std::move(proof_awaiting_capture_);
  proof_awaiting_capture_.reset();
  return proof;
}

}  // namespace bastion::bft
