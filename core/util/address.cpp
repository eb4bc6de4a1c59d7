#include "util/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "util/error.hpp"

namespace quictun {

std::string errno_text(int err) { return std::strerror(err); }

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  if (family() == AF_INET6) return "[" + ip_string() + "]:" + std::to_string(port());
  return ip_string() + ":" + std::to_string(port());
}

HostPort split_host_port(std::string_view text, std::string_view what) {
  HostPort hp;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": missing ']'");
    hp.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": missing port");
    rest.remove_prefix(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": expected HOST:PORT");
    hp.host = std::string(text.substr(0, colon));
    rest = text.substr(colon + 1);
  }
  if (rest.empty()) throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": missing port");
  for (char c : rest) {
    if (c < '0' || c > '9')
      throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": port is not a number");
  }
  if (rest.size() > 5 || std::stoul(std::string(rest)) > 65535)
    throw UsageError(std::string(what) + ": \"" + std::string(text) + "\": port out of range");
  hp.port = std::string(rest);
  if (hp.host.empty()) hp.host = "0.0.0.0";
  return hp;
}

SocketAddress resolve_udp(const HostPort& hp, std::string_view what) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res);
  if (rc != 0 || !res)
    throw RuntimeError(std::string(what) + ": cannot resolve \"" + hp.host + "\": " + gai_strerror(rc));
  SocketAddress out = from_sockaddr(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  std::memcpy(&out.storage, sa, len);
  out.len = len;
  return out;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  ip.family = AF_INET6;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), kMapped, sizeof kMapped) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    ip.family = AF_INET;
  }
  return ip;
}

bool IpNetwork::contains(const IpAddress& ip) const {
  if (ip.family != base.family) return false;
  std::size_t full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::optional<IpNetwork> parse_network(std::string_view text, std::string* problem) {
  auto slash = text.find('/');
  std::optional<IpAddress> ip = parse_ip(text.substr(0, slash));
  if (!ip) {
    *problem = "\"" + std::string(text.substr(0, slash)) + "\" is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  IpNetwork net{*ip, ip->bits()};
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    const std::size_t written_bits = text.find(':') != std::string_view::npos ? 128 : 32;  // as spelt, mapped or not
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || n > written_bits) {
      *problem = "prefix length \"" + std::string(bits) + "\" is not a number from 0 to " + std::to_string(written_bits);
      return std::nullopt;
    }
    // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it maps.
    if (ip->family == AF_INET && text.find(':') != std::string_view::npos) {
      if (n < 96) {
        *problem = "an IPv4-mapped prefix must be at least 96 bits long";
        return std::nullopt;
      }
      n -= 96;
    }
    net.prefix = n;
  }
  IpNetwork masked = net;
  for (std::size_t bit = net.prefix; bit < net.base.bits(); ++bit)
    masked.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (masked.base.bytes != net.base.bytes) {
    *problem = "\"" + std::string(text) + "\" has bits set after its prefix length (did you mean the network address?)";
    return std::nullopt;
  }
  return net;
}

std::optional<PortRange> parse_port_range(std::string_view text, std::string* problem) {
  if (text == "*") return PortRange{0, 65535};
  auto number = [&](std::string_view digits, std::uint16_t& out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
  };
  PortRange r;
  auto dash = text.find('-');
  bool ok = dash == std::string_view::npos ? number(text, r.lo) && number(text, r.hi)
                                           : number(text.substr(0, dash), r.lo) && number(text.substr(dash + 1), r.hi);
  if (!ok || r.lo > r.hi) {
    *problem = "port \"" + std::string(text) + "\" is not a port, a range LOW-HIGH or *";
    return std::nullopt;
  }
  return r;
}

}  // namespace quictun
