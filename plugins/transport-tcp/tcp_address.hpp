// Parsing and printing of TCP addresses: "tcp:HOST:PORT", "tcp:[V6]:PORT", "tcp4:..", "tcp6:..".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quictun::transport_tcp {

enum class Use { listen, connect };

// One address as written, split into its parts and checked for form (not yet resolved).
struct TcpAddress {
  std::string text;         // the whole address as given ("tcp:[::1]:22"), for messages
  std::string scheme;       // "tcp", "tcp4" or "tcp6"
  int family = AF_UNSPEC;   // what the scheme allows: AF_INET (tcp4), AF_INET6 (tcp6), AF_UNSPEC (tcp)
  std::string host;         // without brackets; "" means every interface (listen only)
  bool bracketed = false;   // the host was written "[...]", so it must be an IPv6 address
  std::uint16_t port = 0;   // 0 only when listening: the kernel picks one
  std::string port_text;    // the port in decimal, as resolvers want it
};

// A socket address with its length, as bind()/connect() take it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

// Splits and checks `address`. Throws sdk::Error `bad address "tcp:x": missing port` and the like.
TcpAddress parse_tcp_address(std::string_view address, Use use);

// The socket address of an IP-literal (or empty, when listening) host; nullopt when the host is
// a name that needs resolving. Throws sdk::Error when the literal does not fit the scheme
// (tcp4 with an IPv6 address) or is malformed.
std::optional<SocketAddress> literal_socket_address(const TcpAddress& address, Use use);

// A nameserver as [transport.tcp] names it: "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or
// "[2001:db8::53]:5353"; port 53 unless given. Throws sdk::Error saying what is wrong with it.
SocketAddress parse_nameserver(std::string_view text);

// "192.0.2.7:51234" or "[2001:db8::7]:51234".
std::string format_endpoint(const sockaddr* address, socklen_t length);
// "192.0.2.7" or "2001:db8::7".
std::string format_ip(const sockaddr* address, socklen_t length);

}  // namespace quictun::transport_tcp
