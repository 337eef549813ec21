// The protocol tests' in-process cluster (see harness.h).
#include "tests/unit/bft/harness.h"

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "codec/codec.h"

namespace bastion::bft::test {

Signature fake_sign(ReplicaId signer, SignDomain domain, ByteView message) {
  codec::Blake2b h;
  const std::uint8_t head[5] = {
      static_cast<std::uint8_t>(domain), static_cast<std::uint8_t>(signer),
      static_cast<std::uint8_t>(signer >> 8), static_cast<std::uint8_t>(signer >> 16),
      static_cast<std::uint8_t>(signer >> 24)};
  h.update(ByteView(head, sizeof(head)));
  h.update(message);
  const Digest d = h.finish();
  Signature s{};
  std::copy(d.begin(), d.end(), s.begin());
  return s;
}

Signature sign_as(ReplicaId signer, SignDomain domain, const Bytes& message) {
  return fake_sign(signer, domain, message);
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string to_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes client_request_bytes(std::uint64_t session, std::uint64_t number, const std::string& payload,
                           bool read_only) {
  return encode_message(ClientRequestMsg{session, number, read_only, to_bytes(payload)});
}

// ---- KvApp ---------------------------------------------------------------------------------

namespace {

std::vector<std::string> words(const Bytes& payload) {
  std::istringstream in(to_string(payload));
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

struct WaiterWire {
  ClientKey client;
  std::uint64_t number = 0;
  std::string key;
  TimeUs deadline_us = 0;
  template <class A>
  void serialize(A& ar) {
    ar(client, number, key, deadline_us);
  }
};

struct KvWire {
  std::map<std::string, std::string> kv;
  std::vector<WaiterWire> waiters;
  TimeUs now_us = 0;
  template <class A>
  void serialize(A& ar) {
    ar(kv, waiters, now_us);
  }
};

}  // namespace

std::vector<Completion> KvApp::begin_batch(TimeUs now) {
  now_us = now;
  ++batches;
  std::vector<Completion> out;
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (it->deadline_us <= now) {
      out.push_back(Completion{it->client, it->number, to_bytes("timeout")});
      it = waiters.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

ExecuteResult KvApp::execute(const Request& r) {
  history.emplace_back(r.client, r.number);
  ExecuteResult out;
  const auto w = words(r.payload);
  if (w.size() == 3 && w[0] == "put") {
    kv[w[1]] = w[2];
    out.result = to_bytes("ok");
    for (auto it = waiters.begin(); it != waiters.end();) {
      if (it->key == w[1]) {
        out.completions.push_back(Completion{it->client, it->number, to_bytes("found " + w[2])});
        it = waiters.erase(it);
      } else {
        ++it;
      }
    }
  } else if (w.size() == 2 && w[0] == "get") {
    auto it = kv.find(w[1]);
    out.result = to_bytes(it == kv.end() ? "none" : it->second);
  } else if (w.size() == 3 && w[0] == "wait") {
    auto it = kv.find(w[1]);
    if (it != kv.end()) {
      out.result = to_bytes("found " + it->second);
    } else {
      waiters.push_back(Waiter{r.client, r.number, w[1], now_us + std::stoll(w[2])});
    }
  } else if (w.size() == 2 && w[0] == "del") {
    kv.erase(w[1]);
    out.result = to_bytes("ok");
  } else {
    out.result = to_bytes("error");
  }
  return out;
}

std::optional<Bytes> KvApp::execute_read_only(const Request& r) {
  const auto w = words(r.payload);
  if (w.size() != 2 || w[0] != "get") return std::nullopt;
  auto it = kv.find(w[1]);
  return to_bytes(it == kv.end() ? "none" : it->second);
}

std::optional<TimeUs> KvApp::next_deadline_us() const {
  std::optional<TimeUs> best;
  for (const Waiter& w : waiters) {
    if (!best || w.deadline_us < *best) best = w.deadline_us;
  }
  return best;
}

void KvApp::session_evicted(const ClientKey& client) {
  evicted.push_back(client);
  std::erase_if(waiters, [&](const Waiter& w) { return w.client == client; });
}

Bytes KvApp::snapshot() const {
  KvWire wire;
  wire.kv = kv;
  for (const Waiter& w : waiters) {
    wire.waiters.push_back(WaiterWire{w.client, w.number, w.key, w.deadline_us});
  }
  wire.now_us = now_us;
  return codec::encode(wire);
}

Digest KvApp::digest() const { return codec::blake2b(snapshot()); }

bool KvApp::restore(ByteView snapshot) {
  auto wire = codec::decode<KvWire>(snapshot);
  if (!wire) return false;
  kv = std::move(wire->kv);
  waiters.clear();
  for (auto& w : wire->waiters) {
    waiters.push_back(Waiter{std::move(w.client), w.number, std::move(w.key), w.deadline_us});
  }
  now_us = wire->now_us;
  return true;
}

// ---- Cluster -------------------------------------------------------------------------------

// Replica i's disk syncs on the spot unless stalled; its captures are answered on the spot
// unless held.
class Cluster::Env final : public DriverEnv {
 public:
  Env(Cluster& c, ReplicaId i) : c_(c), i_(i) {}

  bool answer_capture(const CaptureRequest& request) override {
    c_.capture_asked_[i_] = request;
    if (c_.captures_held_[i_]) return false;
    c_.replicas_[i_]->on_checkpoint_captured(
        request.id, CapturedState::of(c_.replicas_[i_]->checkpoint_state()), c_.clock(i_));
    return true;
  }

  Appended append(std::vector<PersistRecord>& records, bool sync,
                  std::uint64_t /*records_end*/) override {
    for (auto& r : records) c_.disk[i_].push_back(std::move(r));
    if (!sync || c_.disk_stalled_[i_]) return Appended::kLater;
    c_.synced[i_] = c_.disk[i_].size();
    return Appended::kDurable;
  }

  void carry_out(Output& out) override {
    for (const Executed& e : out.executed) c_.executed[i_].push_back(e);
    for (const OutMessage& m : out.messages) {
      ++c_.messages_sent[i_];
      if (m.to) {
        c_.route(Envelope{i_, *m.to, m.bytes});
      } else {
        for (ReplicaId j = 0; j < c_.config_.n; ++j) {
          if (j != i_) c_.route(Envelope{i_, j, m.bytes});
        }
      }
    }
    for (const OutReply& r : out.replies) {
      auto decoded = decode_message(*r.bytes);
      if (!decoded) continue;
      if (auto* m = std::get_if<ReplyMsg>(&*decoded)) c_.replies.push_back(Reply{i_, r.client, *m});
    }
    c_.capture_asked_[i_] = out.capture;
  }

 private:
  Cluster& c_;
  ReplicaId i_;
};

Cluster::Cluster(std::uint32_t f, std::function<void(Config&)> tune) : verifier_(3 * f + 1) {
  config_.f = f;
  config_.n = 3 * f + 1;
  config_.checkpoint_interval = 4;
  config_.log_window = 16;
  config_.pipeline_max = 4;
  if (tune) tune(config_);
  skew_us.assign(config_.n, 0);
  executed.resize(config_.n);
  disk.resize(config_.n);
  synced.assign(config_.n, 0);
  disk_stalled_.assign(config_.n, false);
  captures_held_.assign(config_.n, false);
  capture_asked_.assign(config_.n, std::nullopt);
  messages_sent.assign(config_.n, 0);
  for (ReplicaId i = 0; i < config_.n; ++i) {
    Config c = config_;
    c.self = i;
    configs_.push_back(c);
    signers_.push_back(std::make_unique<FakeSigner>(i));
    apps_.push_back(std::make_unique<KvApp>());
    replicas_.push_back(std::make_unique<Replica>(c, *apps_[i], *signers_[i], verifier_));
    envs_.push_back(std::make_unique<Env>(*this, i));
  }
  drivers_.resize(config_.n);
  for (ReplicaId i = 0; i < config_.n; ++i) {
    start_driver(i);
    replicas_[i]->start(clock(i));
    collect(i);
  }
}

Cluster::~Cluster() = default;

void Cluster::start_driver(ReplicaId i) {
  drivers_[i] = std::make_unique<Driver>(*replicas_[i], *envs_[i], /*check_invariants=*/true);
}

void Cluster::collect(ReplicaId i) {
  if (up(i)) drivers_[i]->run();
}

void Cluster::route(const Envelope& e) {
  if (rewrite) {
    if (auto replaced = rewrite(e)) {
      for (const Envelope& r : *replaced) queue.push_back(r);
      return;
    }
  }
  queue.push_back(e);
}

void Cluster::send_request(const std::string& principal, std::uint64_t session,
                           std::uint64_t number, const std::string& payload, bool read_only,
                           std::optional<std::vector<ReplicaId>> targets) {
  const Bytes bytes = client_request_bytes(session, number, payload, read_only);
  std::vector<ReplicaId> to;
  if (targets) {
    to = *targets;
  } else {
    for (ReplicaId i = 0; i < config_.n; ++i) to.push_back(i);
  }
  for (ReplicaId t : to) inject_client(principal, t, bytes);
}

void Cluster::inject(ReplicaId from, ReplicaId to, const Bytes& bytes) {
  if (!up(to)) return;
  replicas_[to]->on_replica_message(from, bytes, clock(to));
  collect(to);
}

void Cluster::inject_client(const std::string& principal, ReplicaId to, const Bytes& bytes) {
  if (!up(to)) return;
  replicas_[to]->on_client_message(principal, bytes, clock(to));
  collect(to);
}

std::size_t Cluster::deliver(std::size_t max) {
  std::size_t delivered = 0;
  while (!queue.empty() && delivered < max) {
    Envelope e = std::move(queue.front());
    queue.pop_front();
    if (!up(e.to)) continue;
    if (filter && !filter(e)) continue;
    ++delivered;
    replicas_[e.to]->on_replica_message(e.from, *e.bytes, clock(e.to));
    collect(e.to);
  }
  return delivered;
}

void Cluster::advance(TimeUs dt_us, TimeUs step_us) {
  const TimeUs target = now_us_ + dt_us;
  deliver();
  while (now_us_ < target) {
    now_us_ = std::min(now_us_ + step_us, target);
    for (ReplicaId i = 0; i < config_.n; ++i) {
      if (!up(i)) continue;
      auto t = replicas_[i]->next_tick_us();
      if (t && *t <= clock(i)) {
        replicas_[i]->on_tick(clock(i));
        collect(i);
      }
    }
    deliver();
  }
}

bool Cluster::run_until(const std::function<bool()>& pred, TimeUs limit_us, TimeUs step_us) {
  deliver();
  const TimeUs end = now_us_ + limit_us;
  while (!pred() && now_us_ < end) advance(step_us, step_us);
  return pred();
}

void Cluster::crash(ReplicaId i, bool lose_unsynced) {
  drivers_[i].reset();
  replicas_[i].reset();
  apps_[i].reset();
  if (lose_unsynced) disk[i].resize(synced[i]);
}

void Cluster::unstall_disk(ReplicaId i) {
  disk_stalled_[i] = false;
  synced[i] = disk[i].size();
  drivers_[i]->durable(drivers_[i]->records_taken());
  collect(i);
}

void Cluster::restart(ReplicaId i) {
  apps_[i] = std::make_unique<KvApp>();
  replicas_[i] = std::make_unique<Replica>(configs_[i], *apps_[i], *signers_[i], verifier_);
  start_driver(i);
  PersistedStateBuilder builder;
  for (const PersistRecord& r : disk[i]) builder.add(r);
  replicas_[i]->start(clock(i), &builder.state());
  collect(i);
}

std::vector<Reply> Cluster::replies_for(const std::string& principal, std::uint64_t session,
                                        std::uint64_t number) const {
  std::vector<Reply> out;
  for (const Reply& r : replies) {
    if (r.client.principal == principal && r.client.session == session && r.msg.number == number) {
      out.push_back(r);
    }
  }
  return out;
}

std::optional<std::string> Cluster::accepted(const std::string& principal, std::uint64_t session,
                                             std::uint64_t number) const {
  std::map<std::string, std::set<ReplicaId>> votes;
  for (const Reply& r : replies_for(principal, session, number)) {
    // Read-only replies need 2f+1 and a separate vote; kPending is provisional.
    if (r.msg.read_only || r.msg.status == static_cast<std::uint8_t>(ReplyStatus::kPending)) {
      continue;
    }
    std::string key = to_string(r.msg.result);
    if (r.msg.status != 0) key = "status:" + std::to_string(r.msg.status);
    votes[key].insert(r.from);
  }
  for (const auto& [result, from] : votes) {
    if (from.size() >= config_.f + 1) return result;
  }
  return std::nullopt;
}

bool Cluster::pending(const std::string& principal, std::uint64_t session,
                      std::uint64_t number) const {
  std::set<ReplicaId> from;
  for (const Reply& r : replies_for(principal, session, number)) {
    if (r.msg.status == static_cast<std::uint8_t>(ReplyStatus::kPending)) from.insert(r.from);
  }
  return from.size() >= config_.f + 1;
}

std::uint64_t Cluster::counter(ReplicaId i, const std::string& name) const {
  if (!up(i)) return 0;
  const auto& c = replicas_[i]->counters();
  auto it = c.find(name);
  return it == c.end() ? 0 : it->second;
}

}  // namespace bastion::bft::test
