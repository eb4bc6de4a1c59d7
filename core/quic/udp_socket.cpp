#include "quic/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace quictun::quic {
namespace {

constexpr int kSocketBuffer = 8 << 20;     // enough for a burst of a large congestion window
constexpr std::size_t kRxBuffer = 65536;   // one GRO batch

void set_buffer(int fd, int force_opt, int opt) {
  // As root the FORCE variants bypass net.core.[rw]mem_max; otherwise take what we can get.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &kSocketBuffer, sizeof kSocketBuffer) != 0) {
    setsockopt(fd, SOL_SOCKET, opt, &kSocketBuffer, sizeof kSocketBuffer);
  }
}

bool is_wildcard(const SocketAddress& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.family() == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr);
  return false;
}

}  // namespace

UdpSocket::UdpSocket(Fd fd, SocketAddress local, bool wildcard)
    : fd_(std::move(fd)), local_(local), wildcard_(wildcard), rx_buffer_(kRxBuffer) {}

void UdpSocket::configure() {
  int fd = fd_.get();
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  int on = 1;
  setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
  if (local_.family() == AF_INET) {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    // Path MTU discovery is QUIC's job; the kernel must not fragment.
    int pmtu = IP_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    int pmtu = IPV6_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
  }
}

UdpSocket UdpSocket::bind(const SocketAddress& local) {
  Fd fd(::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw RuntimeError("UDP socket: " + errno_text(errno));
  if (local.family() == AF_INET6) {
    int off = 0;  // "[::]:7500" serves IPv4 too, as users expect of a wildcard
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (::bind(fd.get(), local.sa(), local.len) != 0)
    throw RuntimeError("cannot listen on UDP " + local.to_string() + ": " + errno_text(errno));
  SocketAddress bound;
  bound.len = sizeof bound.storage;
  getsockname(fd.get(), bound.sa(), &bound.len);
  UdpSocket s(std::move(fd), bound, is_wildcard(local));
  s.configure();
  return s;
}

UdpSocket UdpSocket::connect(const SocketAddress& remote) {
  Fd fd(::socket(remote.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw RuntimeError("UDP socket: " + errno_text(errno));
  if (::connect(fd.get(), remote.sa(), remote.len) != 0)
    throw RuntimeError("cannot reach " + remote.to_string() + ": " + errno_text(errno));
  SocketAddress bound;
  bound.len = sizeof bound.storage;
  getsockname(fd.get(), bound.sa(), &bound.len);
  UdpSocket s(std::move(fd), bound, false);
  s.connected_ = true;
  s.configure();
  return s;
}

bool UdpSocket::receive(const std::function<void(const ReceivedDatagram&)>& on_datagram, int budget) {
  bool any = false;
  for (int i = 0; i < budget; ++i) {
    SocketAddress remote;
    iovec iov{rx_buffer_.data(), rx_buffer_.size()};
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_name = &remote.storage;
    msg.msg_namelen = sizeof remote.storage;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
      // EAGAIN ends the batch; ECONNREFUSED (an ICMP error on a connected socket) too: the
      // connection's own timers notice a dead peer.
      break;
    }
    any = true;
    remote.len = msg.msg_namelen;
    SocketAddress local = local_;
    std::size_t segment = static_cast<std::size_t>(n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int gso = 0;
        std::memcpy(&gso, CMSG_DATA(c), sizeof gso);
        if (gso > 0) segment = static_cast<std::size_t>(gso);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && local.family() == AF_INET) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        reinterpret_cast<sockaddr_in*>(&local.storage)->sin_addr = pi.ipi_addr;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && local.family() == AF_INET6) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_addr = pi.ipi6_addr;
      }
    }
    for (std::size_t off = 0; off < static_cast<std::size_t>(n); off += segment) {
      std::size_t len = std::min(segment, static_cast<std::size_t>(n) - off);
      if (drop_rate_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < drop_rate_) {
        ++test_drops_;
        continue;
      }
      on_datagram(ReceivedDatagram{rx_buffer_.data() + off, len, remote, local});
    }
  }
  return any;
}

bool UdpSocket::send(const SocketAddress& remote, const SocketAddress* local, const std::uint8_t* data,
                     std::size_t size, std::size_t segment) {
  if (size == 0) return true;
  if (!gso_ && size > segment) {
    for (std::size_t off = 0; off < size; off += segment) {
      if (!send_one(remote, local, data + off, std::min(segment, size - off), 0)) return false;
    }
    return true;
  }
  return send_one(remote, local, data, size, size > segment ? segment : 0);
}

bool UdpSocket::send_one(const SocketAddress& remote, const SocketAddress* local, const std::uint8_t* data,
                         std::size_t size, std::size_t segment) {
  iovec iov{const_cast<std::uint8_t*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t)) + CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg{};
  if (!connected_) {
    msg.msg_name = const_cast<sockaddr*>(remote.sa());
    msg.msg_namelen = remote.len;
  }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  std::size_t used = 0;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (segment) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    std::uint16_t seg = static_cast<std::uint16_t>(segment);
    std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    used += CMSG_SPACE(sizeof(std::uint16_t));
    c = CMSG_NXTHDR(&msg, c);
  }
  if (wildcard_ && local && c) {
    if (local->family() == AF_INET) {
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      pi.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&local->storage)->sin_addr;
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof(in_pktinfo));
    } else if (local->family() == AF_INET6) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      pi.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&local->storage)->sin6_addr;
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof(in6_pktinfo));
    }
  }
  msg.msg_controllen = used;
  if (used == 0) msg.msg_control = nullptr;
  for (;;) {
    ssize_t n = ::sendmsg(fd_.get(), &msg, 0);
    if (n >= 0) return true;
    if (errno == EINTR) continue;
    if (segment && (errno == EIO || errno == EINVAL)) {
      // No GSO here (old kernel, or a device without checksum offload): send one by one from now on.
      gso_ = false;
      return send(remote, local, data, size, segment);
    }
    return false;  // EAGAIN, ECONNREFUSED, EMSGSIZE, ...: the packets count as lost
  }
}

}  // namespace quictun::quic
