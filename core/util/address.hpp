// Socket addresses: parsing "HOST:PORT" and printing sockaddrs.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace quictun {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"
  std::string ip_string() const;  // "1.2.3.4" or "::1"
  std::uint16_t port() const;
};

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

// Splits "host:port", "[v6]:port". Throws UsageError naming `what` when malformed.
HostPort split_host_port(std::string_view text, std::string_view what);

// Resolves host:port for UDP (numeric addresses need no DNS). Throws RuntimeError.
SocketAddress resolve_udp(const HostPort& hp, std::string_view what);

// Converts a sockaddr of known length.
SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);

}  // namespace quictun
