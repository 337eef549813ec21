// NodeThread: a ReplicaNode on its own io_context and thread, for tests (this library's and the
// client library's) that run a whole cluster in one process.
//
// call(f) runs f(node) on the node's thread and waits for its result, so a test reads status or
// digests without racing the protocol. After stop() (or if the node stopped by itself) the thread
// has ended and call() runs f on the caller's thread: nothing else touches the node any more.
//
// Thread-safety: every method may be called from any thread except the node's own; call() must
// not be called from inside f.
#pragma once

#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "codec/thread_annotations.h"
#include "server/replica_node.h"

namespace bastion::server {

class NodeThread {
 public:
  // Builds and starts the node on a new thread; returns once it serves (or failed to start).
  static Result<std::unique_ptr<NodeThread>, NodeError> start(config::ClusterConfig cluster,
                                                              bft::ReplicaId id,
                                                              NodeOptions options = {});
  ~NodeThread();
  NodeThread(const NodeThread&) = delete;
  NodeThread& operator=(const NodeThread&) = delete;

  // Stops the node (flushing its storage) and joins the thread. Idempotent.
  void stop();

  template <class F>
  auto call(F&& f) -> std::invoke_result_t<F&, ReplicaNode&> {
    using R = std::invoke_result_t<F&, ReplicaNode&>;
    {
      MutexLock lock(mutex_);
      if (thread_.joinable() && !stopped_) {
        std::packaged_task<R()> task([&] { return f(*node_); });
        auto future = task.get_future();
        boost::asio::post(io_, [&task] { task(); });
        return future.get();
      }
    }
    return f(*node_);
  }

 private:
  NodeThread() = default;

  boost::asio::io_context io_;
  std::unique_ptr<ReplicaNode> node_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  Mutex mutex_;
  bool stopped_ BASTION_GUARDED_BY(mutex_) = false;
};

}  // namespace bastion::server
