// bastion-example-recipes: every coordination recipe of client/recipes once, against a cluster.
//
//   bastion-example-recipes CLUSTER_FILE [IDENTITY]
//
// As an admin (the cluster's default identity) it creates the spaces it needs: "recipe-locks"
// with the fenced-lock policy, and "recipes". Another identity uses them once an admin made them.
// Then: a fenced lock, an election, a barrier of one party, a counter, a queue and a semaphore.
// Exit code 0 when everything worked, 1 otherwise.
#include <iostream>
#include <random>
#include <string>

#include "client/client.h"
#include "client/recipes/barrier.h"
#include "client/recipes/counter.h"
#include "client/recipes/election.h"
#include "client/recipes/lock.h"
#include "client/recipes/queue.h"
#include "client/recipes/semaphore.h"

namespace {

using bastion::Client;
using bastion::Errc;
using bastion::Error;
using namespace std::chrono_literals;
namespace recipes = bastion::recipes;

constexpr const char* kLocks = "recipe-locks";
constexpr const char* kSpace = "recipes";

int failed(const std::string& what, const Error& error) {
  std::cerr << "recipes: " << what << ": " << bastion::errc_name(error.code) << ": "
            << error.message << '\n';
  return 1;
}

// Only admins create spaces; for anyone else they must exist already.
bool create(Client& client, const std::string& space, const std::string& policy) {
  bastion::ts::SpaceOptions options;
  options.policy = policy;
  auto created = client.create_space(space, options);
  if (created || created.error().code == Errc::kSpaceExists ||
      created.error().code == Errc::kDenied) {
    return true;
  }
  failed("create space " + space, created.error());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bastion-example-recipes CLUSTER_FILE [IDENTITY]\n";
    return 1;
  }
  bastion::ClientOptions options;
  options.cluster_file = argv[1];
  if (argc > 2) options.identity_dir = argv[2];
  options.timeout = 5s;
  auto connected = Client::connect(options);
  if (!connected) return failed("connect", connected.error());
  Client& client = **connected;
  if (!create(client, kLocks, std::string(recipes::FencedLock::policy())) ||
      !create(client, kSpace, "")) {
    return 1;
  }

  // A lock whose token a resource would check on every write.
  recipes::FencedLock lock(client, kLocks, "printer");
  auto token = lock.acquire(10s);
  if (!token) return failed("lock", token.error());
  if (!token->has_value()) {
    std::cout << "lock: someone else holds 'printer'\n";
  } else {
    std::cout << "lock: 'printer' held with token " << **token << '\n';
    if (auto released = lock.release(); !released) return failed("unlock", released.error());
  }

  // An election: campaign, look at the leader, step down.
  recipes::Election election(client, kLocks, "coordinator");
  auto term = election.campaign(10s);
  if (!term) return failed("campaign", term.error());
  auto leader = election.leader();
  if (!leader) return failed("leader", leader.error());
  if (leader->has_value()) {
    std::cout << "election: leader " << (*leader)->id << ", term " << (*leader)->term << '\n';
  }
  if (term->has_value()) {
    if (auto resigned = election.resign(); !resigned) return failed("resign", resigned.error());
  }

  // A barrier of one party opens at once, round after round. The epoch is the round: a second
  // run would start at epoch 1 again, so this one has a name of its own per run.
  recipes::Barrier barrier(client, kSpace, "start-" + std::to_string(std::random_device{}()), 1);
  for (int round = 0; round < 2; ++round) {
    auto open = barrier.arrive_and_wait(5s);
    if (!open) return failed("barrier", open.error());
    std::cout << "barrier: round " << round + 1 << (*open ? " opened\n" : " timed out\n");
  }

  // A sequencer.
  recipes::Counter counter(client, kSpace, "requests");
  auto n = counter.increment();
  if (!n) return failed("counter", n.error());
  std::cout << "counter: now " << *n << '\n';

  // A queue: push two items, pop them in order.
  recipes::Queue queue(client, kSpace, "jobs");
  for (const char* job : {"build", "test"}) {
    auto ticket = queue.push(bastion::ts::Value(job));
    if (!ticket) return failed("push", ticket.error());
    std::cout << "queue: pushed " << job << " with ticket " << *ticket << '\n';
  }
  for (int i = 0; i < 2; ++i) {
    auto entry = queue.pop(5s);
    if (!entry) return failed("pop", entry.error());
    if (entry->has_value()) {
      std::cout << "queue: popped " << (*entry)->item.as_string() << " (ticket " << (*entry)->ticket
                << ")\n";
    }
  }

  // A semaphore of two permits.
  recipes::Semaphore semaphore(client, kSpace, "downloads", 2);
  auto permit = semaphore.acquire(10s);
  if (!permit) return failed("semaphore", permit.error());
  if (permit->has_value()) {
    std::cout << "semaphore: permit in slot " << (*permit)->slot << '\n';
    if (auto released = semaphore.release(**permit); !released) {
      return failed("release permit", released.error());
    }
  }
  return 0;
}
