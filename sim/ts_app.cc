// The tuple-space simulator application: workload and plug-in; see ts_app.h.
#include "sim/ts_app.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "codec/check.h"
#include "codec/codec.h"
#include "server/tuplespace_app.h"
#include "sim/ts_model.h"

namespace bastion::sim {
namespace {

constexpr std::uint64_t kShortLeaseMsMin = 30;
constexpr std::uint64_t kShortLeaseMsMax = 1'500;
constexpr std::uint64_t kLongLeaseMs = 24 * 3'600'000;  // a day: never expires in a run
constexpr std::uint64_t kWaitMsMin = 20;
constexpr std::uint64_t kWaitMsMax = 800;
constexpr std::size_t kSeenPerPartitionMax = 12;

static_assert(kLongLeaseMs >= kTsLongLeaseMs && kShortLeaseMsMax < kTsLongLeaseMs);

Bytes encode(const ts::Request& request) { return ts::encode_request(request); }

// Every creation of a policy space carries the policy (also the ones that fail).
ts::SpaceCreate create(const std::string& space) {
  ts::SpaceOptions options;
  if (ts_policy_space(space)) options.policy = std::string(kTsPolicy);
  return ts::SpaceCreate{space, std::move(options)};
}

}  // namespace

TsWorkload::TsWorkload(Rng rng, std::uint32_t clients)
    : rng_(std::move(rng)), correct_clients_(clients > 1 ? clients - 1 : 1) {
  // One space of either kind, or one of each (ts_model.h: "p" spaces carry kTsPolicy).
  const std::size_t space_count = 1 + rng_.index(2);
  const std::size_t policy_index = rng_.index(2);
  for (std::size_t i = 0; i < space_count; ++i) {
    spaces_.push_back(i == policy_index ? ts_policy_space_name(i, correct_clients_)
                                        : "s" + std::to_string(i));
  }
  const std::size_t key_count = 3 + rng_.index(2);
  for (std::size_t i = 0; i < key_count; ++i) keys_.push_back("k" + std::to_string(i));
}

TsWorkload::Place TsWorkload::pick_place() { return {rng_.pick(spaces_), rng_.pick(keys_)}; }

ts::Tuple TsWorkload::fresh_tuple(const std::string& key) {
  // Unique second fields: a tuple in a result names exactly one insertion (ts_model.h).
  const std::int64_t n = next_value_++;
  if (rng_.chance(0.2)) return ts::Tuple{key, n, rng_.chance(0.5)};
  return ts::Tuple{key, n};
}

ts::Template TsWorkload::pick_template(const Place& place) {
  const auto& seen = seen_[place];
  const bool wide = rng_.chance(0.25);
  const auto roll = rng_.index(100);
  ts::Pattern second = ts::Pattern::any();
  if (roll < 20) {
    second = ts::Pattern::typed(ts::Type::kInt);
  } else if (roll < 45 && !seen.empty()) {
    second = ts::Pattern(ts::Value(rng_.pick(seen)));
  }
  if (!wide) return ts::Template{ts::Pattern(ts::Value(place.second)), second};
  ts::Pattern third = rng_.chance(0.6) ? ts::Pattern::any() : ts::Pattern(ts::Value(true));
  return ts::Template{ts::Pattern(ts::Value(place.second)), second, third};
}

std::vector<std::string> TsWorkload::pick_names(std::uint32_t client) {
  // Correct clients only (the model names invokers after their index), sometimes a stranger so
  // that a list may exclude everyone, and mostly the caller itself.
  std::vector<std::string> names;
  if (rng_.chance(0.7)) names.push_back(ts_sim_principal(client));
  const std::size_t others = 1 + rng_.index(2);
  for (std::size_t i = 0; i < others; ++i) {
    names.push_back(rng_.chance(0.15) ? std::string("nobody")
                                      : ts_sim_principal(static_cast<std::uint32_t>(
                                            rng_.index(correct_clients_))));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::uint64_t TsWorkload::pick_lease_ms() {
  if (rng_.chance(0.25)) return kLongLeaseMs;
  return rng_.uniform(kShortLeaseMsMin, kShortLeaseMsMax);
}

ts::TupleSpec TsWorkload::pick_spec(const std::string& key, std::uint32_t client, bool byzantine) {
  ts::TupleSpec spec;
  spec.tuple = fresh_tuple(key);
  if (rng_.chance(0.45)) spec.lease_ms = pick_lease_ms();
  if (!byzantine && rng_.chance(0.25)) {
    if (rng_.chance(0.5)) spec.readers = pick_names(client);
    if (rng_.chance(0.7)) spec.removers = pick_names(client);
  }
  return spec;
}

WorkloadOp TsWorkload::next_op(std::uint32_t client) {
  if (client == 0 && spaces_requested_ < spaces_.size()) {
    return {encode(create(spaces_[spaces_requested_++])), false};
  }
  const Place place = pick_place();
  const std::string& space = place.first;
  const auto roll = rng_.index(100);
  if (roll < 24) return {encode(ts::Out{space, pick_spec(place.second, client, false)}), false};
  if (roll < 36) return {encode(ts::Rdp{space, pick_template(place)}), rng_.chance(0.5)};
  if (roll < 46) return {encode(ts::Inp{space, pick_template(place)}), false};
  if (roll < 54) {
    return {encode(ts::Rd{space, pick_template(place), rng_.uniform(kWaitMsMin, kWaitMsMax)}),
            false};
  }
  if (roll < 63) {
    return {encode(ts::In{space, pick_template(place), rng_.uniform(kWaitMsMin, kWaitMsMax)}),
            false};
  }
  if (roll < 72) {
    ts::Template tmpl = pick_template(place);
    return {encode(ts::Cas{space, std::move(tmpl), pick_spec(place.second, client, false)}), false};
  }
  if (roll < 79) {
    ts::Template tmpl = pick_template(place);
    return {encode(ts::Replace{space, std::move(tmpl), pick_spec(place.second, client, false)}),
            false};
  }
  if (roll < 85) return {encode(ts::Renew{space, pick_template(place), pick_lease_ms()}), false};
  const std::uint64_t max = rng_.chance(0.5) ? 0 : rng_.uniform(1, 3);
  if (roll < 93) return {encode(ts::RdAll{space, pick_template(place), max}), rng_.chance(0.5)};
  if (roll < 98) return {encode(ts::InAll{space, pick_template(place), max}), false};
  return {encode(create(space)), false};
}

void TsWorkload::remember(const std::string& space, const ts::Tuple& tuple) {
  if (tuple.size() < 2 || !tuple[0].is(ts::Type::kString) || !tuple[1].is(ts::Type::kInt)) return;
  auto& seen = seen_[{space, tuple[0].as_string()}];
  seen.push_back(tuple[1].as_int());
  if (seen.size() > kSeenPerPartitionMax) seen.erase(seen.begin());
}

void TsWorkload::observe(std::uint32_t, const WorkloadOp& op, const Bytes& result) {
  auto request = ts::decode_request(op.payload);
  auto reply = codec::decode<ts::Reply>(result);
  if (!request || !reply) return;
  std::string space;
  std::visit(
      [&](const auto& o) {
        if constexpr (requires { o.space; }) space = o.space;
      },
      *request);
  if (const auto* out = std::get_if<ts::Out>(&*request)) remember(space, out->entry.tuple);
  if (const auto* f = std::get_if<ts::Found>(&*reply)) remember(space, f->tuple);
  if (const auto* all = std::get_if<ts::FoundAll>(&*reply)) {
    for (const ts::Tuple& t : all->tuples) remember(space, t);
  }
  if (const auto* cas = std::get_if<ts::CasResult>(&*reply); cas != nullptr && !cas->inserted) {
    remember(space, cas->existing);
  }
}

std::vector<Bytes> TsWorkload::equivocation(std::uint32_t client) {
  // Alternatives on one partition (the checker lets at most one take effect).
  const Place place = pick_place();
  const std::string& space = place.first;
  Bytes other = encode(ts::Out{space, pick_spec(place.second, client, true)});
  const auto roll = rng_.index(100);
  if (roll < 40) return {encode(ts::Out{space, pick_spec(place.second, client, true)}), other};
  ts::Template tmpl = pick_template(place);
  if (roll < 65) {
    return {encode(ts::Cas{space, std::move(tmpl), pick_spec(place.second, client, true)}), other};
  }
  if (roll < 85) return {encode(ts::Inp{space, std::move(tmpl)}), other};
  return {encode(ts::Replace{space, std::move(tmpl), pick_spec(place.second, client, true)}),
          other};
}

WorkloadOp TsWorkload::harmless(std::uint32_t /*client*/, bool blocking) {
  const Place place = pick_place();
  if (!blocking) {
    if (rng_.chance(0.5)) return {encode(ts::Rdp{place.first, pick_template(place)}), false};
    return {encode(ts::RdAll{place.first, pick_template(place), rng_.uniform(1, 3)}), false};
  }
  // A waiting rd never takes a tuple (a waiting in would): it may wake on a real key's tuple, or
  // wait on a key nobody writes, for a long time or forever (timeout 0).
  const std::uint64_t timeout_ms = rng_.chance(0.3) ? 0 : rng_.uniform(5'000, 60'000);
  if (rng_.chance(0.5))
    return {encode(ts::Rd{place.first, pick_template(place), timeout_ms}), false};
  const ts::Template nobody{ts::Pattern(ts::Value(std::string("kbyz"))), ts::Pattern::any()};
  return {encode(ts::Rd{place.first, nobody, timeout_ms}), false};
}

std::unique_ptr<StateMachine> make_ts_state_machine() {
  auto app = std::make_unique<server::TupleSpaceApp>(std::vector<std::string>{kTsAdminPrincipal});
  // Every replica starts with a space that no operation of the workload names, holding tuples
  // enough for several snapshot pages that never change: a state transfer then takes them from
  // the pages the fetching replica holds (bft/core/state_fetch.h) instead of fetching them.
  constexpr std::int64_t kBulkTuples = 300;
  const bft::ClientKey admin{std::string(kTsAdminPrincipal), 0};
  app->begin_batch(0);
  BASTION_CHECK(app->execute(bft::Request{admin, 1, false, encode(create("bulk"))}).result);
  ts::OutAll bulk{"bulk", {}};
  for (std::int64_t i = 0; i < kBulkTuples; ++i) {
    ts::TupleSpec spec;
    spec.tuple = ts::Tuple{"bulk", i, std::string(100, 'b')};
    bulk.entries.push_back(std::move(spec));
  }
  BASTION_CHECK(app->execute(bft::Request{admin, 2, false, encode(bulk)}).result);
  bft::StateBytes pieces;
  app->snapshot_pieces(pieces);
  BASTION_CHECK(pieces.pieces().size() >= 4);  // the header and at least three pages
  return app;
}

AppPlugin ts_app_plugin() {
  AppPlugin p;
  p.name = "tuplespace";
  p.make_state_machine = make_ts_state_machine;
  p.make_workload = [](Rng rng, std::uint32_t clients) {
    return std::make_unique<TsWorkload>(std::move(rng), clients);
  };
  p.make_model = [] { return std::make_unique<TsModel>(); };
  return p;
}

}  // namespace bastion::sim
