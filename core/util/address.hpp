// Socket addresses: parsing "HOST:PORT" and printing sockaddrs; IP networks and port ranges
// for matching addresses against rules.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
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

// An IP address as bytes. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as the IPv4
// address it maps, so one rule admits or refuses both spellings of the same destination.
struct IpAddress {
  int family = AF_UNSPEC;               // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  std::size_t bits() const { return family == AF_INET ? 32 : 128; }
};

// Strict numeric parse (inet_pton: no "127.1", no hex or octal forms, no zone); nullopt
// when `text` is not an address.
std::optional<IpAddress> parse_ip(std::string_view text);

// An address prefix such as 10.0.0.0/8 or fd00::/8; a bare address is a /32 or /128.
struct IpNetwork {
  IpAddress base;
  std::size_t prefix = 0;  // leading bits that must match
  bool contains(const IpAddress& ip) const;
};

// nullopt with `problem` set when `text` is not ADDRESS or ADDRESS/BITS. Host bits set below
// the prefix (10.1.0.0/8) are a problem too: such an entry is almost always a typo.
std::optional<IpNetwork> parse_network(std::string_view text, std::string* problem);

// Ports lo..hi inclusive.
struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;
  bool contains(std::uint16_t port) const { return port >= lo && port <= hi; }
};

// "22", "8000-8100" or "*" (every port); nullopt with `problem` set otherwise.
std::optional<PortRange> parse_port_range(std::string_view text, std::string* problem);

}  // namespace quictun
