#include "util/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

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

}  // namespace quictun
