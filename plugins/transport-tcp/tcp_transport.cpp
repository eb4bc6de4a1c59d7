#include "tcp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "tcp_address.hpp"

namespace quictun::transport_tcp {
namespace {

constexpr int listen_backlog = 1024;

std::string errno_text(int error) { return std::generic_category().message(error); }

bool set_int_option(int fd, int level, int name, int value) {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

// Tunnelled protocols are often interactive (ssh, RPC); Nagle's delay would stack on top of
// QUIC's own pacing, so small writes go out at once.
void set_no_delay(int fd) { set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

sdk::Fd open_socket(int family) {
  return sdk::Fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
}

// Starts a non-blocking connect; the socket on success (connect under way or done), else an
// errno value.
std::pair<sdk::Fd, int> start_connect(const sockaddr* address, socklen_t length) {
  sdk::Fd fd = open_socket(address->sa_family);
  if (!fd) return {sdk::Fd(), errno};
  set_no_delay(fd.get());
  if (::connect(fd.get(), address, length) == 0) return {std::move(fd), 0};
  // EINTR on a non-blocking connect means the kernel carries on in the background, just
  // like EINPROGRESS; the host learns the outcome when the socket becomes writable.
  if (errno == EINPROGRESS || errno == EINTR) return {std::move(fd), 0};
  return {sdk::Fd(), errno};
}

sdk::ConnectResult failure(std::string why) {
  sdk::ConnectResult result;
  result.error = std::move(why);
  return result;
}

// Tries each resolved address in order and keeps the first socket whose connect does not fail
// at once. A connect that hangs is the host's to time out: the SDK hands back one socket.
sdk::ConnectResult connect_any(const std::string& address, const evutil_addrinfo* list, int family) {
  std::string errors;
  for (const evutil_addrinfo* ai = list; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (family != AF_UNSPEC && ai->ai_family != family) continue;
    auto [fd, error] = start_connect(ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen));
    if (fd) {
      sdk::ConnectResult result;
      result.fd = fd.release();
      return result;
    }
    if (!errors.empty()) errors += "; ";
    errors += format_endpoint(ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen)) + ": " + errno_text(error);
  }
  if (errors.empty()) return failure(address + ": cannot connect: the name has no address of a usable family");
  return failure(address + ": cannot connect: " + errors);
}

SocketAddress loopback(int family, std::uint16_t port) {
  SocketAddress out;
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_loopback;
    sin6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

}  // namespace

int TcpTransport::listen(std::string_view text) {
  TcpAddress address = parse_tcp_address(text, Use::listen);
  std::optional<SocketAddress> target = literal_socket_address(address, Use::listen);
  if (!target) {
    // Listening cannot wait for DNS (listen() answers at once), and a listener bound to
    // whatever a name resolved to at start-up is rarely what anyone wants; localhost is the
    // one name whose meaning is fixed.
    if (!sdk::equals_ignoring_case(address.host, "localhost"))
      throw sdk::Error(address.text + ": cannot listen: \"" + address.host +
                       "\" is a host name; listen on an IP address (or localhost)");
    target = loopback(address.family, address.port);
  }
  auto fail = [&](int error) { return sdk::Error(address.text + ": cannot listen: " + errno_text(error)); };

  sdk::Fd fd = open_socket(target->family());
  if (!fd) throw fail(errno);
  // Restarting the server must not wait out TIME_WAIT connections of the previous run.
  if (!set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) throw fail(errno);
  // v6-only, so that a tcp4 and a tcp6 listener can share a port instead of the IPv6 one
  // silently taking IPv4 clients (or failing with "Address already in use").
  if (target->family() == AF_INET6 && !set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1))
    throw fail(errno);
  if (::bind(fd.get(), target->get(), target->length) != 0) throw fail(errno);
  if (::listen(fd.get(), listen_backlog) != 0) throw fail(errno);
  listeners_[fd.get()] = address.text;
  return fd.release();
}

std::optional<sdk::AcceptedConnection> TcpTransport::accept(int listen_fd) {
  // Each dropped connection below uses up one entry of the queue, so this ends; the bound only
  // guards against an error that would repeat forever.
  for (int attempt = 0; attempt < listen_backlog; ++attempt) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    sdk::Fd fd(::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd) {
      set_no_delay(fd.get());
      sdk::AcceptedConnection connection;
      connection.peer_address = format_endpoint(reinterpret_cast<sockaddr*>(&peer), length);
      connection.peer_ip = format_ip(reinterpret_cast<sockaddr*>(&peer), length);
      connection.fd = fd.release();
      return connection;
    }
    switch (errno) {
      case EAGAIN:
        return std::nullopt;
      case EINTR:
        continue;
      // The client went away before we took its connection, or (Linux passes these on from
      // the new socket) the network failed under it: that connection is lost, the listener
      // is fine, and the next one may be waiting.
      case ECONNABORTED:
      case EPROTO:
      case EPERM:
      case ENETDOWN:
      case ENETUNREACH:
      case EHOSTDOWN:
      case EHOSTUNREACH:
      case ENONET:
      case ENOPROTOOPT:
        continue;
      default:
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: the host has to back off; EBADF, EINVAL: a bug.
        throw sdk::Error(listener_name(listen_fd) + ": cannot accept: " + errno_text(errno));
    }
  }
  return std::nullopt;
}

void TcpTransport::connect(std::string_view text, sdk::ConnectCallback done) {
  TcpAddress address;
  std::optional<SocketAddress> target;
  try {
    address = parse_tcp_address(text, Use::connect);
    target = literal_socket_address(address, Use::connect);
  } catch (const sdk::Error& e) {
    done(failure(e.what()));
    return;
  }
  if (!target) {
    connect_by_name(std::move(address), std::move(done));
    return;
  }
  auto [fd, error] = start_connect(target->get(), target->length);
  if (!fd) {
    done(failure(address.text + ": cannot connect: " + errno_text(error)));
    return;
  }
  sdk::ConnectResult result;
  result.fd = fd.release();
  done(std::move(result));
}

void TcpTransport::connect_by_name(TcpAddress address, sdk::ConnectCallback done) {
  if (!resolver_) {
    try {
      resolver_ = ResolverPtr(new Resolver(host_.loop(), host_, options_.nameservers));
    } catch (const sdk::Error& e) {
      done(failure(address.text + ": cannot resolve \"" + address.host + "\": " + e.what()));
      return;
    }
  }
  sdk::Host& host = host_;
  auto on_resolved = [&host, address, done = std::move(done)](int result, AddressList list) mutable {
    sdk::ConnectResult outcome =
        result != 0 ? failure(address.text + ": cannot resolve \"" + address.host + "\": " + evutil_gai_strerror(result))
                    : connect_any(address.text, list.get(), address.family);
    // We are inside a libevent callback: an exception must not unwind through C frames. The
    // transport may be gone once done() returns (the host may destroy it), so only `host` is used.
    try {
      done(std::move(outcome));
    } catch (const std::exception& e) {
      host.log(sdk::LogLevel::error, std::string("connect callback failed: ") + e.what());
    } catch (...) {
      host.log(sdk::LogLevel::error, "connect callback failed with an unknown exception");
    }
  };
  // The answer may come at once (the name is in /etc/hosts) and done() may then have destroyed
  // this transport: touch nothing after this call.
  resolver_->resolve(address.host, address.port_text, address.family, std::move(on_resolved));
}

void TcpTransport::unlisten(std::string_view, int listen_fd) { listeners_.erase(listen_fd); }

std::string TcpTransport::listener_name(int listen_fd) const {
  auto it = listeners_.find(listen_fd);
  return it != listeners_.end() ? it->second : "tcp listener (fd " + std::to_string(listen_fd) + ")";
}

}  // namespace quictun::transport_tcp
