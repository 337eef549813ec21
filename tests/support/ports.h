// Loopback ports for tests that start replicas on fixed ports (cluster files name them).
//
// The ranges lie below the kernel's ephemeral range (32768-60999 by default): a port from that
// range can be taken as the source port of any outgoing connection while a killed replica is
// down, and the replica then cannot listen on it again when the test restarts it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace bastion::testing {

// True if 127.0.0.1:port could be bound a moment ago.
inline bool loopback_port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A base port for a cluster whose replica i listens on base + i and serves metrics on
// base + 100 + i, all free, in 10000..32099. Derived from the pid so that test processes running
// at the same time start from different places.
inline std::uint16_t pick_base_port(std::uint32_t replicas) {
  constexpr std::uint32_t kLowest = 10000;
  constexpr std::uint32_t kSlots =
      2200;  // bases kLowest, kLowest + 10, ...; highest + 100 + n < 32768
  const auto pid = static_cast<std::uint32_t>(::getpid());
  for (std::uint32_t attempt = 0; attempt < 500; ++attempt) {
    const auto base =
        static_cast<std::uint16_t>(kLowest + ((pid * 17 + attempt * 7919) % kSlots) * 10);
    bool free = true;
    for (std::uint32_t i = 0; i < replicas && free; ++i) {
      free = loopback_port_free(static_cast<std::uint16_t>(base + i)) &&
             loopback_port_free(static_cast<std::uint16_t>(base + 100 + i));
    }
    if (free) return base;
  }
  throw std::runtime_error("no free loopback port range below the ephemeral ports");
}

}  // namespace bastion::testing
