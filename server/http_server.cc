// The metrics/status HTTP server on Boost.Beast (see http_server.h).
#include "server/http_server.h"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <map>
#include <thread>

namespace bastion::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {
constexpr std::uint32_t kHeaderBytesMax = 8 * 1024;
constexpr std::chrono::seconds kRequestTimeout{5};
}  // namespace

class HttpServer::Impl {
 public:
  // Declared first so that it outlives the io_context, whose destructor frees open sessions.
  std::size_t open = 0;
  std::map<std::string, Handler> handlers;
  std::uint16_t port = 0;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  void accept();
  HttpResponse respond(const http::request<http::empty_body>& request, http::status& status) const;
};

namespace {

// One connection: read one request, write one response, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    ++server_.open;
    parser_.header_limit(kHeaderBytesMax);
    parser_.body_limit(0);
  }
  ~Session() { --server_.open; }

  void run() {
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const auto& request = parser_.get();
    http::status status = http::status::ok;
    HttpResponse r = server_.respond(request, status);
    response_.version(request.version());
    response_.result(status);
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.keep_alive(false);
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kHeaderBytesMax};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

HttpResponse HttpServer::Impl::respond(const http::request<http::empty_body>& request,
                                       http::status& status) const {
  if (request.method() != http::verb::get) {
    status = http::status::method_not_allowed;
    return {"text/plain", "only GET\n"};
  }
  const std::string_view target(request.target().data(), request.target().size());
  const std::string path(target.substr(0, target.find('?')));
  auto it = handlers.find(path);
  if (it == handlers.end()) {
    status = http::status::not_found;
    return {"text/plain", "not found\n"};
  }
  return it->second();
}

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && open < kConnectionsMax) std::make_shared<Session>(*this, std::move(socket))->run();
    // A refused or failed connection just closes (socket destructor).
    accept();
  });
}

HttpServer::HttpServer() : impl_(std::make_shared<Impl>()) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::handle(const std::string& path, Handler handler) {
  impl_->handlers[path] = std::move(handler);
}

std::uint16_t HttpServer::port() const { return impl_->port; }

Result<Done, std::string> HttpServer::start(const std::string& host, std::uint16_t port) {
  const std::string listen = host + ":" + std::to_string(port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail("cannot serve HTTP on " + listen + ": not an IP address");
  const tcp::endpoint endpoint(address, port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    a.close(ignored);
    return fail("cannot serve HTTP on " + listen + ": " + ec.message());
  }
  impl_->port = a.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return Done{};
}

void HttpServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace bastion::server
