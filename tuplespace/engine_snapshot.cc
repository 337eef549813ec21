// Engine: canonical snapshot encoding, restore with full validation, and digest.
//
// Format version 4 (all through codec's canonical archives; "n:" is a LEB128 count):
//   u8 version = 4, i64 now_ms, u64 next_seq, u64 next_arrival
//   n: spaces, by name (strictly increasing):
//     string name, SpaceOptions (version 1: without its trailing access lists, protection and
//     fingerprint key; version 2: without the protection and fingerprint key)
//     n: blacklisted principals, strictly increasing (version 4; before it: none)
//     n: owners: the clients owning stored tuples, strictly increasing, each owning at least one
//     n: tuples, by seq (strictly increasing):
//       u64 seq, varint owner index, i64 expiry_ms (kNever = no lease),
//       readers, removers (string lists, strictly increasing), Tuple
//     n: waiters, by arrival (strictly increasing):
//       u64 arrival, WaiterKey, u8 kind (0 rd, 1 in), Template, i64 deadline_ms (kNever = none)
// Every state has exactly one encoding, and restore() accepts nothing else: the snapshot's bytes
// re-encode to themselves.
#include <algorithm>
#include <string>
#include <unordered_map>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "codec/codec.h"
#include "tuplespace/engine.h"

namespace bastion::ts {
namespace {

using codec::DecodeError;

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

}  // namespace

template <class Archive>
void Engine::save_state(Archive& ar) const {
  ar(kSnapshotVersion, now_ms_, next_seq_, next_arrival_);
  save_count(ar, spaces_.size());
  for (const auto& [name, s] : spaces_) {
    ar(name, s->options);
    save_count(ar, s->blacklist.size());
    for (const std::string& who : s->blacklist) ar(who);
    // Owner indexes follow name order, so they are a function of the state alone.
    std::unordered_map<const detail::Owner*, std::uint64_t> owner_index;
    std::uint64_t owners = 0;
    for (const auto& entry : s->usage) {
      if (entry.second.tuples > 0) owner_index.emplace(&entry, owners++);
    }
    save_count(ar, owners);
    for (const auto& entry : s->usage) {
      if (entry.second.tuples > 0) ar(entry.first);
    }
    const std::vector<detail::SlotId> ids = s->store.slots_by_seq();
    save_count(ar, ids.size());
    for (detail::SlotId id : ids) {
      const auto& slot = s->store.at(id);
      ar(slot.seq);
      ar.saveVarint(owner_index.at(slot.owner));
      ar(slot.expiry_ms);
      ar(slot.acl ? slot.acl->readers : kEveryone, slot.acl ? slot.acl->removers : kEveryone);
      const codec::ByteView enc = slot.encoding();  // the canonical Tuple encoding
      ar.saveBinary(enc.data(), enc.size());
    }
    save_count(ar, s->waiters.size());
    for (const auto& [arrival, w] : s->waiters) {
      ar(arrival, w.key, static_cast<std::uint8_t>(w.removes ? 1 : 0), w.tmpl, w.deadline_ms);
    }
  }
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
    if (version >= 4) {
      const std::uint64_t blacklisted = load_count(ar);
      if (blacklisted > kBlacklistMax) throw DecodeError("blacklist too long");
      for (std::uint64_t k = 0; k < blacklisted; ++k) {
        std::string who;
        ar(who);
        if (who.empty() || who.size() > kNameBytesMax) throw DecodeError("bad blacklisted name");
        if (!owned->blacklist.empty() && !(*owned->blacklist.rbegin() < who)) {
          throw DecodeError("blacklist not sorted or duplicated");
        }
        owned->blacklist.insert(owned->blacklist.end(), std::move(who));
      }
    }
    Space& s = *owned;
    previous_name = &spaces_.emplace(owned->name, std::move(owned)).first->first;
    const SpaceOptions& o = s.options;

    const std::uint64_t owner_count = load_count(ar);
    std::vector<std::string> owners(owner_count);
    for (std::uint64_t k = 0; k < owner_count; ++k) {
      ar(owners[k]);
      if (k > 0 && !(owners[k - 1] < owners[k])) throw DecodeError("owners not sorted");
    }
    std::vector<std::uint64_t> owned_tuples(owner_count, 0);

    const std::uint64_t tuple_count = load_count(ar);
    if (tuple_count > o.tuples_max) throw DecodeError("space holds too many tuples");
    std::uint64_t previous_seq = 0;
    for (std::uint64_t k = 0; k < tuple_count; ++k) {
      std::uint64_t seq = 0;
      ar(seq);
      if (seq <= previous_seq || seq >= next_seq_) throw DecodeError("bad tuple seq");
      previous_seq = seq;
      const std::uint64_t owner = ar.loadVarint();
      if (owner >= owner_count) throw DecodeError("bad owner index");
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
      store_tuple(s, seq, enc, expiry, owners[owner], std::move(acl));
      if (++owned_tuples[owner] > o.tuples_per_client_max) {
        throw DecodeError("client holds too many tuples");
      }
      seqs.push_back(seq);
    }
    for (std::uint64_t n : owned_tuples) {
      if (n == 0) throw DecodeError("owner without tuples");
    }

    const std::uint64_t waiter_count = load_count(ar);
    std::uint64_t previous_arrival = 0;
    for (std::uint64_t k = 0; k < waiter_count; ++k) {
      Waiter w;
      std::uint8_t kind = 0;
      ar(w.arrival, w.key, kind, w.tmpl, w.deadline_ms);
      if (w.arrival <= previous_arrival || w.arrival >= next_arrival_) {
        throw DecodeError("bad waiter arrival");
      }
      previous_arrival = w.arrival;
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
  }
  check_unique(seqs, "tuple seq");
  check_unique(arrivals, "waiter arrival");
}

codec::Bytes Engine::snapshot() const {
  codec::Bytes out;
  append_snapshot(out);
  return out;
}

void Engine::append_snapshot(codec::Bytes& out) const {
  codec::OutputArchive ar{codec::VectorSink(out)};
  save_state(ar);
}

codec::Digest Engine::digest() const {
  codec::Blake2b hasher;
  hash_snapshot(hasher);
  return hasher.finish();
}

void Engine::hash_snapshot(codec::Blake2b& hasher) const {
  codec::HashingOutputArchive ar{codec::HashSink(hasher)};
  save_state(ar);
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
