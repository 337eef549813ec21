// bastion-example-hello: a small complete program on the Bastion client library.
//
//   bastion-example-hello [CLUSTER_FILE [IDENTITY]]
//
// It connects to a cluster (default: $BASTION_CLUSTER, else ./var/local-cluster/cluster.toml,
// with the cluster's default identity), creates the space "hello" if it is an admin, then:
// out / rdp / inp; a lock built on cas with a lease (so a crashed holder cannot keep it); an
// asynchronous batch of outs collected with their futures; and error handling throughout.
// Exit code 0 when everything worked, 1 otherwise.
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "client/client.h"
#include "tuplespace/text.h"

namespace {

using bastion::Client;
using bastion::Errc;
using bastion::Error;
using bastion::Insert;
using bastion::Template;
using bastion::Tuple;
using namespace std::chrono_literals;

int failed(const std::string& what, const Error& error) {
  std::cerr << "hello: " << what << ": " << bastion::errc_name(error.code) << ": " << error.message
            << '\n';
  return 1;
}

Tuple tuple(std::string_view text) { return *bastion::ts::parse_tuple(text); }
Template pattern(std::string_view text) { return *bastion::ts::parse_template(text); }

// A mutual-exclusion lock on one tuple: ("lock", NAME, HOLDER). cas inserts it only if no lock
// tuple exists; the lease frees it if the holder dies without releasing it.
bool try_lock(Client& client, const std::string& name) {
  const Template any_holder = {bastion::ts::Value("lock"), bastion::ts::Value(name),
                               bastion::ts::Pattern::any()};
  const Tuple mine = {"lock", name, client.principal()};
  auto outcome = client.cas("hello", any_holder, mine, Insert{10s, {}, {}});
  if (!outcome) {
    failed("lock", outcome.error());
    return false;
  }
  if (!outcome->inserted) {
    std::cout << "lock '" << name << "' is held: " << bastion::ts::to_text(*outcome->existing)
              << '\n';
  }
  return outcome->inserted;
}

bool unlock(Client& client, const std::string& name) {
  const Tuple mine = {"lock", name, client.principal()};
  auto removed = client.inp("hello", bastion::ts::exact(mine));
  return removed && removed->has_value();
}

}  // namespace

int main(int argc, char** argv) {
  bastion::ClientOptions options;
  const char* env = std::getenv("BASTION_CLUSTER");  // NOLINT(concurrency-mt-unsafe)
  options.cluster_file = argc > 1         ? argv[1]
                         : env != nullptr ? env
                                          : "./var/local-cluster/cluster.toml";
  if (argc > 2) options.identity_dir = argv[2];
  options.timeout = 5s;

  auto connected = Client::connect(options);
  if (!connected) return failed("connect", connected.error());
  Client& client = **connected;
  std::cout << "connected as " << client.principal() << " to " << client.n()
            << " replicas (f = " << client.f() << ")\n";

  // Only admins may create spaces; anyone else uses the space an admin made.
  if (auto created = client.create_space("hello"); !created) {
    const Errc code = created.error().code;
    if (code != Errc::kSpaceExists && code != Errc::kDenied) {
      return failed("create space", created.error());
    }
  }

  // out, rdp, inp.
  if (auto r = client.out("hello", tuple("(\"greeting\", \"hello, world\")")); !r) {
    return failed("out", r.error());
  }
  auto read = client.rdp("hello", pattern("(\"greeting\", ?string)"));
  if (!read) return failed("rdp", read.error());
  if (read->has_value()) std::cout << "read:    " << bastion::ts::to_text(**read) << '\n';
  auto taken = client.inp("hello", pattern("(\"greeting\", ?string)"));
  if (!taken) return failed("inp", taken.error());
  std::cout << "removed: " << (taken->has_value() ? bastion::ts::to_text(**taken) : "nothing")
            << '\n';

  // The cas lock.
  if (try_lock(client, "printer")) {
    std::cout << "lock 'printer' acquired\n";
    if (!try_lock(client, "printer")) std::cout << "a second acquire fails, as it should\n";
    std::cout << (unlock(client, "printer") ? "lock released\n" : "lock was not ours any more\n");
  }

  // Many requests in flight: start them all, then collect the results.
  std::vector<std::future<bastion::Expected<bastion::Done>>> pending;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(client.out_async("hello", {"item", std::int64_t{i}}));
  }
  int stored = 0;
  for (auto& f : pending) {
    auto r = f.get();
    if (!r) return failed("out (async)", r.error());
    ++stored;
  }
  auto items = client.in_all("hello", pattern("(\"item\", ?int)"));
  if (!items) return failed("inAll", items.error());
  std::cout << "stored " << stored << " items asynchronously, removed " << items->size()
            << " with inAll\n";

  // A bounded wait: nothing will arrive, so rd returns empty after the wait.
  auto waited = client.rd("hello", pattern("(\"never\")"), 200ms);
  if (!waited) return failed("rd", waited.error());
  std::cout << "rd waited 200 ms: " << (waited->has_value() ? "found" : "nothing") << '\n';
  return 0;
}
