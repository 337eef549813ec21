// Boost.Asio and its OpenSSL layer, included the one way bft/net uses them (internal header).
//
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it, which
// breaks with GCC 12's libstdc++ whenever asio.hpp is included before <utility>.
#pragma once

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace bastion::net {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace bastion::net
