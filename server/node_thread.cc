// A ReplicaNode on its own thread (see node_thread.h).
#include "server/node_thread.h"

namespace bastion::server {

Result<std::unique_ptr<NodeThread>, NodeError> NodeThread::start(config::ClusterConfig cluster,
                                                                 bft::ReplicaId id,
                                                                 NodeOptions options) {
  std::unique_ptr<NodeThread> t(new NodeThread());
  t->node_ = std::make_unique<ReplicaNode>(t->io_, std::move(cluster), id, std::move(options));
  // Started before the thread runs the io_context: nothing else touches the node yet.
  if (auto r = t->node_->start(); !r) return fail(std::move(r.error()));
  t->work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          t->io_.get_executor());
  t->thread_ = std::thread([raw = t.get()] { raw->io_.run(); });
  return t;
}

NodeThread::~NodeThread() { stop(); }

void NodeThread::stop() {
  MutexLock lock(mutex_);
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] {
      node_->stop();
      work_.reset();
    });
    thread_.join();
  } else if (node_) {
    node_->stop();
  }
}

}  // namespace bastion::server
