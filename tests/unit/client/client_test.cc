// bastion::Client against a real in-process cluster (4 ReplicaNodes on loopback TLS): every call,
// the errors the service reports, blocking reads, many calls in flight from several threads,
// a crashed replica, a cluster without quorum, status, and shutdown with calls in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "tests/unit/client/live_cluster.h"
#include "tuplespace/text.h"

namespace bastion {
namespace {

using namespace std::chrono_literals;
using testing::LiveCluster;

Tuple tup(std::string_view text) { return *ts::parse_tuple(text); }
Template tmpl(std::string_view text) { return *ts::parse_template(text); }

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = cluster_.connect();  // the cluster file's default identity: admin
    ASSERT_EQ(admin_->principal(), "admin");
    auto created = admin_->create_space("jobs");
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  LiveCluster cluster_;
  std::unique_ptr<Client> admin_;
};

TEST_F(ClientTest, SpaceAdministration) {
  EXPECT_EQ(admin_->n(), 4u);
  EXPECT_EQ(admin_->f(), 1u);
  ts::SpaceOptions small;
  small.tuples_max = 2;
  ASSERT_TRUE(admin_->create_space("small", small).ok());
  auto again = admin_->create_space("small");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kSpaceExists);

  auto spaces = admin_->list_spaces();
  ASSERT_TRUE(spaces.ok()) << spaces.error().message;
  ASSERT_EQ(spaces->size(), 2u);
  EXPECT_EQ((*spaces)[0].name, "jobs");
  EXPECT_EQ((*spaces)[1].name, "small");
  EXPECT_EQ((*spaces)[1].options.tuples_max, 2u);

  // Quota of the space, reported by the service.
  ASSERT_TRUE(admin_->out("small", tup("(1)")).ok());
  ASSERT_TRUE(admin_->out("small", tup("(2)")).ok());
  auto full = admin_->out("small", tup("(3)"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, Errc::kQuotaExceeded);

  // Administration is reserved to admins: a clear denial, agreed by the replicas.
  auto client = cluster_.connect("client1");
  EXPECT_EQ(client->principal(), "client1");
  auto denied = client->delete_space("small");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kDenied);
  EXPECT_NE(denied.error().message.find("client1"), std::string::npos);

  ASSERT_TRUE(admin_->delete_space("small").ok());
  auto gone = client->rdp("small", tmpl("(*)"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::kNoSuchSpace);
}

TEST_F(ClientTest, TupleOperations) {
  ASSERT_TRUE(admin_->out("jobs", tup("(\"job\", 1)")).ok());
  ASSERT_TRUE(admin_->out("jobs", tup("(\"job\", 2)")).ok());
  // The oldest match, on the read-only path (2f+1 matching) and ordered.
  EXPECT_EQ(admin_->rdp("jobs", tmpl("(\"job\", *)")).value(), tup("(\"job\", 1)"));
  EXPECT_EQ(admin_->inp("jobs", tmpl("(\"job\", *)")).value(), tup("(\"job\", 1)"));
  EXPECT_EQ(admin_->inp("jobs", tmpl("(\"job\", *)")).value(), tup("(\"job\", 2)"));
  // Nothing matches: an empty answer, not an error.
  auto none = admin_->rdp("jobs", tmpl("(\"job\", *)"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(admin_->inp("jobs", tmpl("(*)"))->has_value());

  // cas: inserted, then the match that prevents it.
  auto first = admin_->cas("jobs", tmpl("(\"lock\", *)"), tup("(\"lock\", \"a\")"));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->inserted);
  auto second = admin_->cas("jobs", tmpl("(\"lock\", *)"), tup("(\"lock\", \"b\")"));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->existing, tup("(\"lock\", \"a\")"));

  // replace returns what it removed.
  EXPECT_EQ(admin_->replace("jobs", tmpl("(\"lock\", *)"), tup("(\"lock\", \"c\")")).value(),
            tup("(\"lock\", \"a\")"));
  EXPECT_FALSE(admin_->replace("jobs", tmpl("(\"none\")"), tup("(1)"))->has_value());

  // Leases: renew a timed tuple.
  ASSERT_TRUE(admin_->out("jobs", tup("(\"lease\")"), Insert{5000ms, {}, {}}).ok());
  EXPECT_EQ(admin_->renew("jobs", tmpl("(\"lease\")"), 5000ms).value(), tup("(\"lease\")"));

  // outAll, rdAll, inAll in insertion order, with max.
  std::vector<ts::TupleSpec> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(ts::TupleSpec{tup("(\"n\", " + std::to_string(i) + ")"), 0, {}, {}});
  ASSERT_TRUE(admin_->out_all("jobs", batch).ok());
  auto all = admin_->rd_all("jobs", tmpl("(\"n\", ?int)"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0], tup("(\"n\", 0)"));
  auto two = admin_->in_all("jobs", tmpl("(\"n\", ?int)"), 2);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1], tup("(\"n\", 1)"));
  EXPECT_EQ(admin_->in_all("jobs", tmpl("(\"n\", ?int)"))->size(), 3u);
  EXPECT_TRUE(admin_->rd_all("jobs", tmpl("(\"n\", ?int)"))->empty());

  // The generic call gives the service's reply as is.
  auto reply = admin_->execute(ts::Rdp{"jobs", tmpl("(\"lock\", *)")});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, ts::Reply(ts::Found{tup("(\"lock\", \"c\")")}));
}

TEST_F(ClientTest, AccessListsAreEnforcedForOtherClients) {
  auto alice = cluster_.connect("client1");
  auto bob = cluster_.connect("client2");
  ASSERT_TRUE(alice->out("jobs", tup("(\"private\")"), Insert{0ms, {"client1"}, {}}).ok());
  ASSERT_TRUE(alice->out("jobs", tup("(\"keep\")"), Insert{0ms, {}, {"client1"}}).ok());
  // Not a reader: the tuple is invisible to bob.
  EXPECT_FALSE(bob->rdp("jobs", tmpl("(\"private\")"))->has_value());
  EXPECT_EQ(alice->rdp("jobs", tmpl("(\"private\")")).value(), tup("(\"private\")"));
  // Readable but not removable: denied.
  EXPECT_EQ(bob->rdp("jobs", tmpl("(\"keep\")")).value(), tup("(\"keep\")"));
  auto denied = bob->inp("jobs", tmpl("(\"keep\")"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kDenied);
}

TEST_F(ClientTest, SpacePoliciesAndAccessLists) {
  // Only client1 may insert; @admins may remove.
  ts::SpaceOptions options;
  options.access.inserters = {"client1"};
  options.access.removers = {"@admins"};
  ASSERT_TRUE(admin_->create_space("red", options).ok());
  auto shown = admin_->show_space("red");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_EQ(shown->name, "red");
  EXPECT_EQ(shown->options.access, options.access);
  EXPECT_EQ(shown->policy_bytes, 0u);
  EXPECT_TRUE(shown->options.policy.empty());

  auto alice = cluster_.connect("client1");
  auto bob = cluster_.connect("client2");
  ASSERT_TRUE(alice->out("red", tup("(1)")).ok());
  auto denied = bob->out("red", tup("(2)"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kDenied);
  EXPECT_EQ(alice->inp("red", tmpl("(1)")).error().code, Errc::kDenied);

  // set_access replaces only the lists named: everyone may insert now, removers stay.
  ASSERT_TRUE(admin_->set_access("red", ts::kAccessInserters, {}).ok());
  ASSERT_TRUE(bob->out("red", tup("(2)")).ok());
  EXPECT_EQ(admin_->show_space("red")->options.access.removers,
            (std::vector<std::string>{"@admins"}));
  auto unknown_group = admin_->set_access("red", ts::kAccessReaders, {{}, {"@nobody"}, {}});
  ASSERT_FALSE(unknown_group.ok());
  EXPECT_EQ(unknown_group.error().code, Errc::kInvalidArgument);

  // A policy: stored as sent, shown by show_space, counted by list_spaces.
  const std::string script =
      "function decide(req)\n"
      "  if req.op == \"out\" and req.invoker == \"client2\" then return deny(\"not bob\") end\n"
      "  return allow()\n"
      "end\n";
  ASSERT_TRUE(admin_->set_policy("red", script).ok());
  shown = admin_->show_space("red");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  EXPECT_EQ(shown->options.policy, script);
  EXPECT_EQ(shown->policy_bytes, script.size());
  auto listed = admin_->list_spaces();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].name, "red");
  EXPECT_EQ((*listed)[1].policy_bytes, script.size());
  EXPECT_TRUE((*listed)[1].options.policy.empty());
  EXPECT_EQ(bob->out("red", tup("(3)")).error().code, Errc::kDenied);
  EXPECT_TRUE(alice->out("red", tup("(3)")).ok());

  // A script that does not compile is refused; an empty one removes the policy.
  auto bad = admin_->set_policy("red", "function decide(req) return");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(admin_->show_space("red")->options.policy, script);
  ASSERT_TRUE(admin_->set_policy("red", "").ok());
  EXPECT_EQ(admin_->show_space("red")->policy_bytes, 0u);
  EXPECT_TRUE(bob->out("red", tup("(4)")).ok());

  // Administration is for admins; anyone may look.
  EXPECT_EQ(alice->set_policy("red", "").error().code, Errc::kDenied);
  EXPECT_EQ(alice->set_access("red", ts::kAccessReaders, {}).error().code, Errc::kDenied);
  EXPECT_TRUE(alice->show_space("red").ok());
  EXPECT_EQ(admin_->show_space("nope").error().code, Errc::kNoSuchSpace);
}

TEST_F(ClientTest, BlockingReadIsWokenByAnInsertAndWaitsTimeOut) {
  auto waiter = cluster_.connect("client1");
  // Waiters are served in arrival order: the rd sees the tuple, then the in takes it. The pauses
  // let each reach the replicas before the next.
  auto rd = waiter->rd_async("jobs", tmpl("(\"task\", ?int)"), 0ms);  // forever
  EXPECT_EQ(rd.wait_for(300ms), std::future_status::timeout);
  auto in = waiter->in_async("jobs", tmpl("(\"task\", ?int)"), 0ms);
  EXPECT_EQ(in.wait_for(300ms), std::future_status::timeout);
  ASSERT_TRUE(admin_->out("jobs", tup("(\"task\", 7)")).ok());
  ASSERT_EQ(in.wait_for(10s), std::future_status::ready);
  auto got = in.get();
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->value(), tup("(\"task\", 7)"));
  ASSERT_EQ(rd.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(rd.get()->value(), tup("(\"task\", 7)"));

  // A bounded wait that nothing satisfies ends empty, in agreed time.
  const auto start = std::chrono::steady_clock::now();
  auto timed_out = waiter->rd("jobs", tmpl("(\"never\")"), 400ms);
  ASSERT_TRUE(timed_out.ok()) << timed_out.error().message;
  EXPECT_FALSE(timed_out->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 350ms);
}

TEST_F(ClientTest, ManyCallsInFlightFromSeveralThreads) {
  constexpr int kThreads = 3;
  constexpr int kPerThread = 100;  // 300 in flight at once: more than the client's window
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<Expected<Done>>> futures;
      for (int i = 0; i < kPerThread; ++i) {
        futures.push_back(admin_->out_async(
            "jobs", tup("(\"bulk\", " + std::to_string(t) + ", " + std::to_string(i) + ")")));
      }
      for (auto& f : futures) {
        auto r = f.get();
        if (!r.ok()) {
          ADD_FAILURE() << r.error().message;
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = admin_->rd_all("jobs", tmpl("(\"bulk\", ?int, ?int)"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  // Each thread's own calls were ordered in the order it made them (one session, FIFO admission).
  std::vector<std::int64_t> last(kThreads, -1);
  for (const Tuple& tuple : *all) {
    const auto thread = tuple[1].as_int();
    EXPECT_GT(tuple[2].as_int(), last[static_cast<std::size_t>(thread)]);
    last[static_cast<std::size_t>(thread)] = tuple[2].as_int();
  }
}

TEST_F(ClientTest, ExecuteThenChainsCallsFromItsCallback) {
  // A closed loop of 50 outs, each started from the previous one's callback on the I/O thread,
  // then a read whose reply comes back the same way.
  constexpr int kCalls = 50;
  std::promise<int> finished;
  std::function<void(int)> next;
  next = [&](int i) {
    if (i == kCalls) {
      admin_->execute_then(
          ts::Rdp{"jobs", tmpl("(\"chain\", 49)")}, [&](Expected<ts::Reply> reply) {
            const auto* found = reply.ok() ? std::get_if<ts::Found>(&*reply) : nullptr;
            finished.set_value(found != nullptr ? kCalls : -1);
          });
      return;
    }
    ts::TupleSpec spec;
    spec.tuple = tup("(\"chain\", " + std::to_string(i) + ")");
    admin_->execute_then(ts::Out{"jobs", spec}, [&, i](Expected<ts::Reply> reply) {
      if (!reply.ok()) {
        finished.set_value(i);
        return;
      }
      next(i + 1);
    });
  };
  next(0);
  auto done = finished.get_future();
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(done.get(), kCalls);
  auto all = admin_->rd_all("jobs", tmpl("(\"chain\", ?int)"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kCalls));
}

TEST_F(ClientTest, SurvivesOneCrashedReplicaAndReportsUnavailableWithoutQuorum) {
  cluster_.stop(3);
  ASSERT_TRUE(admin_->out("jobs", tup("(\"after crash\")")).ok());
  EXPECT_EQ(admin_->rdp("jobs", tmpl("(\"after crash\")")).value(), tup("(\"after crash\")"));

  cluster_.stop(2);
  const auto start = std::chrono::steady_clock::now();
  auto out = admin_->out("jobs", tup("(\"lost\")"), {}, CallOptions{500ms});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::kUnavailable);
  EXPECT_NE(out.error().message.find("no quorum answered out within 500 ms"), std::string::npos)
      << out.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto read = admin_->rdp("jobs", tmpl("(*)"), CallOptions{300ms});
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::kUnavailable);
}

TEST_F(ClientTest, ClientOutlivesAnOutageLongerThanTheReplicasWindow) {
  // 3 x 128 writes time out while no replica is reachable, so none holds them: more numbers than
  // the replicas' window (256) above what they executed for the session. The client starts a new
  // session and goes on. (With replicas up but no quorum, they would hold the writes and order
  // them later, and the window would move.)
  for (bft::ReplicaId id = 0; id < LiveCluster::kReplicas; ++id) cluster_.stop(id);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::future<Expected<Done>>> lost;
    for (int i = 0; i < 128; ++i) {
      lost.push_back(admin_->out_async("jobs", tup("(\"lost\", " + std::to_string(i) + ")"), {},
                                       CallOptions{200ms}));
    }
    for (auto& f : lost) ASSERT_FALSE(f.get().ok());
  }
  // The replicas keep their state in memory here: they come back empty.
  for (bft::ReplicaId id = 0; id < LiveCluster::kReplicas; ++id) cluster_.start(id);
  auto created = admin_->create_space("again", {}, CallOptions{20s});
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_TRUE(admin_->out("again", tup("(\"after the outage\")")).ok());
  EXPECT_EQ(admin_->rdp("again", tmpl("(\"after the outage\")")).value(),
            tup("(\"after the outage\")"));
}

TEST_F(ClientTest, StatusReportsEveryReplica) {
  ASSERT_TRUE(admin_->out("jobs", tup("(1)")).ok());
  auto replicas = admin_->status(CallOptions{3s});
  ASSERT_EQ(replicas.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(replicas[i].id, i);
    EXPECT_TRUE(replicas[i].reachable) << replicas[i].error;
    EXPECT_EQ(replicas[i].view, 0u);
    EXPECT_EQ(replicas[i].primary, 0u);
    EXPECT_EQ(replicas[i].endpoint,
              "127.0.0.1:" + std::to_string(cluster_.config().replicas[i].port));
  }
  // At least f+1 replicas executed both requests by the time the out completed.
  int executed = 0;
  for (const auto& r : replicas) executed += r.last_executed >= 2 ? 1 : 0;
  EXPECT_GE(executed, 2);

  cluster_.stop(1);
  // A replica whose connection is refused is not waited for until the timeout (10 s here).
  const auto start = std::chrono::steady_clock::now();
  replicas = admin_->status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_EQ(replicas.size(), 4u);
  EXPECT_FALSE(replicas[1].reachable);
  EXPECT_FALSE(replicas[1].error.empty());
  EXPECT_TRUE(replicas[0].reachable);
}

TEST_F(ClientTest, ClosingFailsCallsInFlight) {
  auto client = cluster_.connect("client1");
  auto waiting = client->rd_async("jobs", tmpl("(\"never\")"), 0ms);
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout);
  client.reset();
  ASSERT_EQ(waiting.wait_for(1s), std::future_status::ready);
  auto r = waiting.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  EXPECT_EQ(r.error().message, "client closed");
}

TEST_F(ClientTest, TooLargeRequestsFailAtOnce) {
  Tuple big{ts::Value(std::string(2 << 20, 'x'))};
  auto r = admin_->out("jobs", big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kTooLarge);
}

TEST(ClientConnect, UnusableFilesAreConfigErrors) {
  LiveCluster cluster;
  ClientOptions o = cluster.options();
  o.cluster_file = (cluster.file().parent_path() / "missing.toml").string();
  auto r = Client::connect(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().message.find("missing.toml"), std::string::npos);

  r = Client::connect(cluster.options("nobody"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().message.find("nobody"), std::string::npos);

  // An identity given as a directory works like one given by name.
  auto by_dir = Client::connect(cluster.options(cluster.config().identity_dir("client2").string()));
  ASSERT_TRUE(by_dir.ok()) << by_dir.error().message;
  EXPECT_EQ((*by_dir)->principal(), "client2");
}

}  // namespace
}  // namespace bastion
