// Engine: canonical snapshot encoding, restore with full validation, and digest.
//
// Format version 5 (all through codec's canonical archives; "n:" is a LEB128 count): a header,
// then the pages of each space's tuples.
//   header: u8 version = 5, i64 now_ms, u64 next_seq, u64 next_arrival
//     n: spaces, by name (strictly increasing):
//       string name, SpaceOptions
//       n: blacklisted principals, strictly increasing
//       n: tuples stored (in the pages below)
//       n: waiters, by arrival (strictly increasing):
//         u64 arrival, WaiterKey, u8 kind (0 rd, 1 in), Template, i64 deadline_ms (kNever = none)
//   for each space, by name, pages holding its tuples by seq (strictly increasing):
//     n: owners: the clients owning the page's tuples, strictly increasing, each owning one
//     n (>= 1): tuples: u64 seq, varint owner index, i64 expiry_ms (kNever = no lease),
//                       readers, removers (string lists, strictly increasing), Tuple
// A page ends after a tuple whose seq is a page boundary (snapshot_page_boundary()), before a tuple
// that would take its tuples' encodings past kSnapshotPageBytes, or at the space's end; nowhere
// else. So where pages end depends on the tuples alone, and a page that no change touched encodes
// the same from one snapshot to the next (Engine::Space::pages keeps them).
//
// Versions 1 to 4 are read: no pages, each space's owners, tuples and waiters in turn after its
// blacklist (version 4; before it: none) and options (version 1: without the trailing access
// lists, protection and fingerprint key; version 2: without the protection and fingerprint key).
// Every state has exactly one encoding, and restore() accepts nothing else: the snapshot's bytes
// re-encode to themselves.
#include <algorithm>
#include <string>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "codec/codec.h"
#include "tuplespace/engine.h"

namespace bastion::ts {
namespace {

using codec::DecodeError;
using detail::SlotId;

const std::vector<std::string> kEveryone;

void check_names(const std::vector<std::string>& names, const char* what) {
  if (names.size() > kAclEntriesMax) throw DecodeError(std::string(what) + " list too long");
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty() || names[i].size() > kNameBytesMax) {
      throw DecodeError(std::string("bad ") + what + " name");
    }
    if (i > 0 && !(names[i - 1] < names[i])) {
      throw DecodeError(std::string(what) + " list not sorted or has duplicates");
    }
  }
}

std::uint64_t load_count(codec::BoundedInputArchive& ar) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  return n;
}

template <class Archive>
void save_count(Archive& ar, std::uint64_t n) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(n)));
}

void check_unique(std::vector<std::uint64_t>& numbers, const char* what) {
  std::sort(numbers.begin(), numbers.end());
  if (std::adjacent_find(numbers.begin(), numbers.end()) != numbers.end()) {
    throw DecodeError(std::string("duplicate ") + what);
  }
}

// Version 1 options end with the policy, version 2 with the access lists; version 3 appends the
// protection and fingerprint key.
void load_options(codec::BoundedInputArchive& ar, std::uint8_t version, SpaceOptions& o) {
  if (version >= 3) {
    ar(o);
    return;
  }
  ar(o.confidential, o.tuple_bytes_max, o.fields_max, o.tuples_max, o.tuples_per_client_max,
     o.waiters_per_client_max, o.policy);
  if (version == 2) ar(o.access);
}

// Owner names, strictly increasing (grown as they decode: the count is only a claim).
std::vector<std::string> load_owners(codec::BoundedInputArchive& ar) {
  const std::uint64_t count = load_count(ar);
  std::vector<std::string> owners;
  for (std::uint64_t k = 0; k < count; ++k) {
    std::string who;
    ar(who);
    if (!owners.empty() && !(owners.back() < who)) throw DecodeError("owners not sorted");
    owners.push_back(std::move(who));
  }
  return owners;
}

}  // namespace

// A mix of the seq's bits (SplitMix64's), so that boundaries follow no pattern of seqs.
bool snapshot_page_boundary(std::uint64_t seq) {
  std::uint64_t z = seq + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return ((z ^ (z >> 31)) & 63) == 0;
}

Engine::Page Engine::encode_page(const Space& s, SlotId first) {
  std::vector<SlotId> ids;
  std::uint64_t size = 0;
  Page page;
  for (SlotId id = first; id != detail::kNoSlot; id = s.store.next_by_seq(id)) {
    const auto& slot = s.store.at(id);
    if (!ids.empty() && size + slot.encoded_bytes > kSnapshotPageBytes) break;
    ids.push_back(id);
    size += slot.encoded_bytes;
    if (snapshot_page_boundary(slot.seq)) {
      page.boundary = true;
      break;
    }
  }
  std::vector<std::string_view> owners;
  for (SlotId id : ids) owners.push_back(s.store.at(id).owner->first);
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());

  page.last_slot = ids.back();
  page.last_seq = s.store.at(ids.back()).seq;
  codec::Bytes bytes;
  codec::OutputArchive ar{codec::VectorSink(bytes)};
  save_count(ar, owners.size());
  for (std::string_view who : owners) ar(std::string(who));
  save_count(ar, ids.size());
  for (SlotId id : ids) {
    const auto& slot = s.store.at(id);
    ar(slot.seq);
    ar.saveVarint(static_cast<std::uint64_t>(
        std::lower_bound(owners.begin(), owners.end(), slot.owner->first) - owners.begin()));
    ar(slot.expiry_ms);
    ar(slot.acl ? slot.acl->readers : kEveryone, slot.acl ? slot.acl->removers : kEveryone);
    const codec::ByteView enc = slot.encoding();  // the canonical Tuple encoding
    ar.saveBinary(enc.data(), enc.size());
  }
  bytes.shrink_to_fit();  // kept for long: not the growth's spare capacity
  page.bytes = std::make_shared<const codec::Bytes>(std::move(bytes));
  return page;
}

void Engine::refresh_pages(Space& s) {
  // Walks the space's tuples page by page: a page kept is used as it is, a missing one encoded;
  // kept pages the walk steps over (a new page now reaches past their start) are dropped.
  auto it = s.pages.begin();
  for (SlotId next = s.store.first_by_seq(); next != detail::kNoSlot;
       next = s.store.next_by_seq(it->second.last_slot), ++it) {
    const std::uint64_t seq = s.store.at(next).seq;
    while (it != s.pages.end() && it->first < seq) it = s.pages.erase(it);
    if (it == s.pages.end() || it->first != seq)
      it = s.pages.emplace_hint(it, seq, encode_page(s, next));
  }
  s.pages.erase(it, s.pages.end());
}

void Engine::snapshot_pieces(const std::function<void(Piece)>& emit) const {
  codec::Bytes header;
  {
    codec::OutputArchive ar{codec::VectorSink(header)};
    ar(kSnapshotVersion, now_ms_, next_seq_, next_arrival_);
    save_count(ar, spaces_.size());
    for (const auto& [name, s] : spaces_) {
      ar(name, s->options);
      save_count(ar, s->blacklist.size());
      for (const std::string& who : s->blacklist) ar(who);
      save_count(ar, s->store.size());
      save_count(ar, s->waiters.size());
      for (const auto& [arrival, w] : s->waiters) {
        ar(arrival, w.key, static_cast<std::uint8_t>(w.removes ? 1 : 0), w.tmpl, w.deadline_ms);
      }
    }
  }
  emit(std::make_shared<const codec::Bytes>(std::move(header)));
  for (const auto& entry : spaces_) {
    Space& s = *entry.second;
    refresh_pages(s);
    for (const auto& [first, page] : s.pages) emit(page.bytes);
  }
}

SlotId Engine::load_tuple(codec::BoundedInputArchive& ar, Space& s,
                          const std::vector<std::string>& owners, std::vector<bool>& owns,
                          std::uint64_t& previous_seq, std::vector<std::uint64_t>& seqs) {
  const SpaceOptions& o = s.options;
  std::uint64_t seq = 0;
  ar(seq);
  if (seq <= previous_seq || seq >= next_seq_) throw DecodeError("bad tuple seq");
  previous_seq = seq;
  const std::uint64_t owner = ar.loadVarint();
  if (owner >= owners.size()) throw DecodeError("bad owner index");
  std::int64_t expiry = 0;
  ar(expiry);
  if (expiry != kNever && expiry <= now_ms_) throw DecodeError("expired tuple");
  auto acl = std::make_unique<detail::Acl>();
  ar(acl->readers, acl->removers);
  check_names(acl->readers, "reader");
  check_names(acl->removers, "remover");
  if (acl->readers.empty() && acl->removers.empty()) acl.reset();
  Tuple tuple;
  ar(tuple);
  if (tuple.empty() || tuple.size() > o.fields_max) throw DecodeError("bad tuple arity");
  const codec::Bytes enc = codec::encode(tuple);
  if (enc.size() > o.tuple_bytes_max) throw DecodeError("tuple too large");
  const SlotId id = store_tuple(s, seq, enc, expiry, owners[owner], std::move(acl));
  if (s.store.at(id).owner->second.tuples > o.tuples_per_client_max) {
    throw DecodeError("client holds too many tuples");
  }
  owns[owner] = true;
  seqs.push_back(seq);
  return id;
}

void Engine::load_waiter(codec::BoundedInputArchive& ar, Space& s,
                         std::vector<std::uint64_t>& arrivals) {
  const SpaceOptions& o = s.options;
  Waiter w;
  std::uint8_t kind = 0;
  ar(w.arrival, w.key, kind, w.tmpl, w.deadline_ms);
  if (w.arrival == 0 || w.arrival >= next_arrival_ ||
      (!s.waiters.empty() && w.arrival <= s.waiters.rbegin()->first)) {
    throw DecodeError("bad waiter arrival");
  }
  if (kind > 1) throw DecodeError("bad waiter kind");
  w.removes = kind == 1;
  if (w.tmpl.empty() || w.tmpl.size() > o.fields_max) throw DecodeError("bad template arity");
  if (w.deadline_ms != kNever && w.deadline_ms <= now_ms_) {
    throw DecodeError("waiter past its deadline");
  }
  if (waiters_by_key_.contains(w.key)) throw DecodeError("duplicate waiter key");
  auto usage = s.usage.find(w.key.client);
  if (usage != s.usage.end() && usage->second.waiters >= o.waiters_per_client_max) {
    throw DecodeError("client has too many waiters");
  }
  if (o.waiters_per_client_max == 0) throw DecodeError("client has too many waiters");
  w.compiled = detail::CompiledTemplate(w.tmpl);
  arrivals.push_back(w.arrival);
  add_waiter(s, std::move(w));
}

void Engine::load_blacklist(codec::BoundedInputArchive& ar, Space& s) {
  const std::uint64_t blacklisted = load_count(ar);
  if (blacklisted > kBlacklistMax) throw DecodeError("blacklist too long");
  for (std::uint64_t k = 0; k < blacklisted; ++k) {
    std::string who;
    ar(who);
    if (who.empty() || who.size() > kNameBytesMax) throw DecodeError("bad blacklisted name");
    if (!s.blacklist.empty() && !(*s.blacklist.rbegin() < who)) {
      throw DecodeError("blacklist not sorted or duplicated");
    }
    s.blacklist.insert(s.blacklist.end(), std::move(who));
  }
}

void Engine::load_legacy_space(codec::BoundedInputArchive& ar, std::uint8_t version, Space& s,
                               std::vector<std::uint64_t>& seqs,
                               std::vector<std::uint64_t>& arrivals) {
  if (version >= 4) load_blacklist(ar, s);
  const std::vector<std::string> owners = load_owners(ar);
  std::vector<bool> owns(owners.size(), false);
  const std::uint64_t tuple_count = load_count(ar);
  if (tuple_count > s.options.tuples_max) throw DecodeError("space holds too many tuples");
  std::uint64_t previous_seq = 0;
  for (std::uint64_t k = 0; k < tuple_count; ++k) {
    load_tuple(ar, s, owners, owns, previous_seq, seqs);
  }
  if (std::find(owns.begin(), owns.end(), false) != owns.end()) {
    throw DecodeError("owner without tuples");
  }
  const std::uint64_t waiter_count = load_count(ar);
  for (std::uint64_t k = 0; k < waiter_count; ++k) load_waiter(ar, s, arrivals);
}

void Engine::load_pages(codec::BoundedInputArchive& ar, Space& s, std::uint64_t tuple_count,
                        std::vector<std::uint64_t>& seqs) {
  std::uint64_t previous_seq = 0;
  std::uint64_t loaded = 0;
  bool previous_cut = true;  // the page before ended at a boundary (or there is none)
  std::uint64_t previous_size = 0;
  while (loaded < tuple_count) {
    const std::vector<std::string> owners = load_owners(ar);
    std::vector<bool> owns(owners.size(), false);
    const std::uint64_t n = load_count(ar);
    if (n == 0 || n > tuple_count - loaded) throw DecodeError("bad page tuple count");
    std::uint64_t size = 0;
    for (std::uint64_t k = 0; k < n; ++k) {
      const SlotId id = load_tuple(ar, s, owners, owns, previous_seq, seqs);
      // Where pages end is a function of the tuples (see the top of this file).
      const std::uint64_t bytes_of_tuple = s.store.at(id).encoded_bytes;
      if (k == 0 && !previous_cut && previous_size + bytes_of_tuple <= kSnapshotPageBytes) {
        throw DecodeError("page ends early");
      }
      if (k > 0 && size + bytes_of_tuple > kSnapshotPageBytes) throw DecodeError("page too large");
      if (k + 1 < n && snapshot_page_boundary(previous_seq)) {
        throw DecodeError("page goes on past a boundary");
      }
      size += bytes_of_tuple;
    }
    if (std::find(owns.begin(), owns.end(), false) != owns.end()) {
      throw DecodeError("owner without tuples");
    }
    loaded += n;
    previous_cut = snapshot_page_boundary(previous_seq);
    previous_size = size;
  }
  // The pages are not kept from the input: the first snapshot encodes them, so that it shows
  // what this state encodes to rather than what was read.
}

void Engine::load_state(codec::BoundedInputArchive& ar) {
  std::uint8_t version = 0;
  ar(version);
  if (version < 1 || version > kSnapshotVersion) {
    throw DecodeError("unsupported snapshot version");
  }
  ar(now_ms_, next_seq_, next_arrival_);
  if (now_ms_ < 0 || next_seq_ == 0 || next_arrival_ == 0) throw DecodeError("bad counters");

  std::vector<std::uint64_t> seqs;
  std::vector<std::uint64_t> arrivals;
  std::vector<std::pair<Space*, std::uint64_t>> paged;  // version 5: tuples to load from pages
  const std::uint64_t space_count = load_count(ar);
  const std::string* previous_name = nullptr;
  for (std::uint64_t i = 0; i < space_count; ++i) {
    auto owned = std::make_unique<Space>();
    ar(owned->name);
    load_options(ar, version, owned->options);
    if (owned->name.empty() || owned->name.size() > kNameBytesMax) {
      throw DecodeError("bad space name");
    }
    if (previous_name != nullptr && !(*previous_name < owned->name)) {
      throw DecodeError("spaces not sorted or duplicated");
    }
    if (!validate(owned->options)) throw DecodeError("bad space options");
    Space& s = *owned;
    previous_name = &spaces_.emplace(owned->name, std::move(owned)).first->first;
    if (version < 5) {
      load_legacy_space(ar, version, s, seqs, arrivals);
      continue;
    }
    load_blacklist(ar, s);
    const std::uint64_t tuple_count = load_count(ar);
    if (tuple_count > s.options.tuples_max) throw DecodeError("space holds too many tuples");
    paged.emplace_back(&s, tuple_count);
    const std::uint64_t waiter_count = load_count(ar);
    for (std::uint64_t k = 0; k < waiter_count; ++k) load_waiter(ar, s, arrivals);
  }
  for (const auto& [s, tuple_count] : paged) load_pages(ar, *s, tuple_count, seqs);
  check_unique(seqs, "tuple seq");
  check_unique(arrivals, "waiter arrival");
}

codec::Bytes Engine::snapshot() const {
  codec::Bytes out;
  out.reserve(state_bytes_ + (64 << 10));  // at least the pages' bytes (the charges count more)
  snapshot_pieces(
      [&out](const Piece& piece) { out.insert(out.end(), piece->begin(), piece->end()); });
  return out;
}

codec::Digest Engine::digest() const {
  codec::Blake2b hasher;
  hash_snapshot(hasher);
  return hasher.finish();
}

void Engine::hash_snapshot(codec::Blake2b& hasher) const {
  snapshot_pieces([&hasher](const Piece& piece) { hasher.update(*piece); });
}

Result<Engine, Error> Engine::restore(codec::ByteView bytes) {
  Engine engine;
  std::string problem;
  try {
    codec::BoundedInputArchive ar(bytes);
    engine.load_state(ar);
    if (ar.remaining() != 0) problem = "trailing bytes";
  } catch (const DecodeError& e) {
    problem = e.what();
  } catch (const cereal::Exception& e) {
    problem = e.what();
  } catch (const std::length_error& e) {
    problem = std::string("length error: ") + e.what();
  } catch (const std::bad_alloc&) {
    problem = "allocation failed";
  }
  if (!problem.empty()) return fail(Error{ErrorCode::kMalformed, "invalid snapshot: " + problem});
  return engine;
}

}  // namespace bastion::ts
