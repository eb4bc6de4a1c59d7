#include "tcp_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

#include <quictun/sdk.hpp>

namespace quictun::transport_tcp {
namespace {

[[noreturn]] void bad(std::string_view address, const std::string& why) {
  throw sdk::Error("bad address " + sdk::quote(address) + ": " + why);
}

bool is_host_name(std::string_view host) {
  // RFC 1123 names plus '_' (seen in service-discovery names); anything else is a typo we can
  // report now rather than as an obscure resolver failure later.
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::uint16_t parse_port(std::string_view address, std::string_view text, Use use) {
  if (text.empty()) bad(address, "missing port");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool digits_only = text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || ec != std::errc() || end != text.data() + text.size() || value > 65535)
    bad(address, "port " + sdk::quote(text) + " is not a number from 1 to 65535");
  if (value == 0 && use == Use::connect) bad(address, "cannot connect to port 0");
  return static_cast<std::uint16_t>(value);
}

SocketAddress ipv4(const in_addr& ip, std::uint16_t port) {
  SocketAddress out;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  sin->sin_addr = ip;
  out.length = sizeof(sockaddr_in);
  return out;
}

SocketAddress ipv6(const in6_addr& ip, std::uint32_t scope, std::uint16_t port) {
  SocketAddress out;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = ip;
  sin6->sin6_scope_id = scope;
  out.length = sizeof(sockaddr_in6);
  return out;
}

// "fe80::1%eth0" or "fe80::1%2": link-local addresses need the interface they live on.
std::optional<SocketAddress> parse_ipv6(const TcpAddress& a) {
  std::string ip = a.host;
  std::uint32_t scope = 0;
  if (auto percent = ip.find('%'); percent != std::string::npos) {
    std::string zone = ip.substr(percent + 1);
    ip.resize(percent);
    if (zone.empty()) bad(a.text, "empty IPv6 zone after '%'");
    auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), scope);
    if (ec != std::errc() || end != zone.data() + zone.size()) {
      scope = ::if_nametoindex(zone.c_str());
      if (scope == 0) bad(a.text, "unknown network interface " + sdk::quote(zone));
    }
  }
  in6_addr addr{};
  if (::inet_pton(AF_INET6, ip.c_str(), &addr) != 1) return std::nullopt;
  return ipv6(addr, scope, a.port);
}

}  // namespace

TcpAddress parse_tcp_address(std::string_view address, Use use) {
  TcpAddress out;
  out.text = std::string(address);
  auto colon = address.find(':');
  if (colon == std::string_view::npos) bad(address, "missing scheme (expected tcp:HOST:PORT)");
  out.scheme = std::string(address.substr(0, colon));
  if (out.scheme == "tcp") out.family = AF_UNSPEC;
  else if (out.scheme == "tcp4") out.family = AF_INET;
  else if (out.scheme == "tcp6") out.family = AF_INET6;
  else bad(address, "scheme " + sdk::quote(out.scheme) + " is not tcp, tcp4 or tcp6");

  std::string_view rest = address.substr(colon + 1);
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) bad(address, "missing ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    if (host.empty()) bad(address, "empty IPv6 address in brackets");
    std::string_view after = rest.substr(close + 1);
    if (after.empty()) bad(address, "missing port");
    if (after.front() != ':') bad(address, "expected ':PORT' after ']'");
    port = after.substr(1);
    out.bracketed = true;
  } else {
    auto last = rest.rfind(':');
    if (last == std::string_view::npos) bad(address, "missing port");
    host = rest.substr(0, last);
    port = rest.substr(last + 1);
    if (host.find(':') != std::string_view::npos)
      bad(address, "an IPv6 address must be written in brackets, as in " + out.scheme + ":[::1]:PORT");
  }
  out.host = std::string(host);
  out.port = parse_port(address, port, use);
  out.port_text = std::to_string(out.port);

  if (out.host.empty() && use == Use::connect) bad(address, "missing host");
  if (out.bracketed && out.family == AF_INET)
    bad(address, "tcp4 takes an IPv4 address, not " + sdk::quote("[" + out.host + "]"));
  if (!out.bracketed && !out.host.empty() && !is_host_name(out.host))
    bad(address, sdk::quote(out.host) + " is neither an IP address nor a host name");
  return out;
}

std::optional<SocketAddress> literal_socket_address(const TcpAddress& a, Use use) {
  if (a.bracketed) {
    auto v6 = parse_ipv6(a);
    if (!v6) bad(a.text, sdk::quote(a.host) + " is not an IPv6 address");
    return v6;
  }
  if (a.host.empty()) {
    // Every interface of the scheme's family; plain "tcp" means IPv4, since a v6-only
    // wildcard would surprise anyone who wrote "tcp::PORT" expecting IPv4 clients.
    if (a.family == AF_INET6) return ipv6(in6addr_any, 0, a.port);
    in_addr any{};
    any.s_addr = htonl(INADDR_ANY);
    return ipv4(any, a.port);
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, a.host.c_str(), &v4) == 1) {
    if (a.family == AF_INET6)
      bad(a.text, "tcp6 takes an IPv6 address in brackets, not " + a.host);
    return ipv4(v4, a.port);
  }
  return std::nullopt;
}

std::string format_ip(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST];
  if (::getnameinfo(address, length, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return {};
  return host;
}

SocketAddress parse_nameserver(std::string_view text) {
  auto bad_nameserver = [&](const std::string& why) {
    return sdk::Error("nameserver " + sdk::quote(text) + " " + why +
                      " (write 192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353)");
  };
  // Where the port is, if any: after "]" for a bracketed IPv6 address; after the one ':' of an
  // IPv4 address; an unbracketed IPv6 address has no port.
  std::string host(text), port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) throw bad_nameserver("lacks the ']' after its IPv6 address");
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') throw bad_nameserver("has something other than :PORT after ']'");
    has_port = !rest.empty();
    if (has_port) port = std::string(rest.substr(1));
  } else if (auto colon = text.find(':');
             colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
    has_port = true;
  }
  std::uint16_t number = 53;
  if (has_port) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      throw bad_nameserver("has port " + sdk::quote(port) + ", not a number from 1 to 65535");
    number = static_cast<std::uint16_t>(value);
  }
  SocketAddress out;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(number);
    out.length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(number);
    out.length = sizeof(sockaddr_in6);
  } else {
    throw bad_nameserver("is not an IP address (a nameserver cannot be found by name)");
  }
  return out;
}

std::string format_endpoint(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(address, length, host, sizeof host, service, sizeof service,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return {};
  if (address->sa_family == AF_INET6) return std::string("[") + host + "]:" + service;
  return std::string(host) + ":" + service;
}

}  // namespace quictun::transport_tcp
