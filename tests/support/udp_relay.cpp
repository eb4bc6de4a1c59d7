#include "udp_relay.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace quictun::test {
namespace {
int udp_on(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("relay: cannot bind UDP port " + std::to_string(port));
  // Bursts of a fast transfer must not overflow the relay's own queues.
  int size = 2 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return fd;
}
}  // namespace

RebindingRelay::RebindingRelay(int listen_port, int server_port, RelayPath path)
    : down_(udp_on(listen_port)), up_(udp_on(0)), path_(path) {
  server_.sin_family = AF_INET;
  server_.sin_port = htons(static_cast<std::uint16_t>(server_port));
  server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  thread_ = std::thread([this] { run(); });
}

RebindingRelay::~RebindingRelay() {
  stop_ = true;
  thread_.join();
  close(down_);
  close(up_);
}

void RebindingRelay::rebind() {
  // The old mapping is gone at once, as in a NAT: what the server still sends there is lost.
  int fresh = udp_on(0);
  close(up_);
  up_ = fresh;
  ++rebinds_;
}

void RebindingRelay::forward_due(Clock::time_point now) {
  while (!held_.empty() && held_.front().release <= now) {
    const Held& h = held_.front();
    if (h.to_server) {
      sendto(up_, h.bytes.data(), h.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
      ++to_server_;
    } else {
      sendto(down_, h.bytes.data(), h.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&client_), sizeof client_);
      ++to_client_;
    }
    held_bytes_ -= h.bytes.size();
    held_.pop_front();
  }
}

void RebindingRelay::run() {
  std::vector<unsigned char> buf(65536);
  bool have_client = false;
  auto next_rebind = Clock::now() + path_.rebind_every;
  // Each datagram leaves the bottleneck when the one before it has (no credit saved up while
  // idle, or the first megabytes after a pause would pass at loopback speed), then travels.
  auto link_free = Clock::now();
  std::optional<Clock::time_point> dark_until;  // set by the client's first datagram
  auto take = [&](bool to_server, std::size_t n) {
    const auto now = Clock::now();
    if (!dark_until) dark_until = now + path_.blackout;
    if (now < *dark_until || held_bytes_ + n > path_.queue_bytes) {
      ++dropped_;
      return;
    }
    link_free = std::max(link_free, now);
    if (path_.bytes_per_second) link_free += std::chrono::nanoseconds(n * 1'000'000'000 / path_.bytes_per_second);
    held_.push_back({link_free + path_.delay, to_server, {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)}});
    held_bytes_ += n;
  };
  while (!stop_) {
    auto now = Clock::now();
    if (path_.rebind_every.count() > 0 && now >= next_rebind) {
      rebind();
      next_rebind += path_.rebind_every;
    }
    forward_due(now);
    auto wait = std::chrono::nanoseconds(10'000'000);
    if (!held_.empty()) wait = std::min(wait, std::max(std::chrono::nanoseconds(0), held_.front().release - now));
    const timespec ts{0, static_cast<long>(wait.count())};
    pollfd fds[2] = {{down_, POLLIN, 0}, {up_, POLLIN, 0}};
    if (ppoll(fds, 2, &ts, nullptr) <= 0) continue;
    // Drain each side in turn, a bounded number at a time, so neither direction starves.
    for (int i = 0; i < 64 && (fds[0].revents & POLLIN); ++i) {
      socklen_t len = sizeof client_;
      ssize_t n = recvfrom(down_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&client_), &len);
      if (n <= 0) break;
      have_client = true;
      take(true, static_cast<std::size_t>(n));
    }
    for (int i = 0; i < 64 && (fds[1].revents & POLLIN); ++i) {
      ssize_t n = recv(up_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      if (have_client) take(false, static_cast<std::size_t>(n));
    }
  }
}

}  // namespace quictun::test
