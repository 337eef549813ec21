// A small HTTP server for a replica's metrics and status page, on its own thread.
//
// It answers GET on a few fixed paths, each with a handler that returns the body; anything else
// gets 404 (405 for other methods). Built on Boost.Beast with its own io_context and thread, so
// a scrape never runs on (or waits for) the replica's io thread, and stop() returns at once.
// Bounded: at most kConnectionsMax connections at a time (more are closed on accept), request
// headers of at most 8 KiB, no request bodies, 5 s to send a request; one response per
// connection.
//
// Handlers run on the server's thread: they must only read data that is safe to read from another
// thread (the metrics registry, a published status snapshot), never the protocol state.
//
// Thread-safety: handle(), start(), stop() and the destructor from one thread; handlers on the
// server's thread until stop() returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "codec/result.h"

namespace bastion::server {

struct HttpResponse {
  std::string content_type;
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;
  static constexpr std::size_t kConnectionsMax = 16;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before start(). `path` is matched exactly (the query string is ignored).
  void handle(const std::string& path, Handler handler);
  // Listens on host:port (port 0: any free port) and starts the thread.
  Result<Done, std::string> start(const std::string& host, std::uint16_t port);
  // Closes every connection and joins the thread. Idempotent.
  void stop();

  std::uint16_t port() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace bastion::server
