#include "udp_relay.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

RebindingRelay::RebindingRelay(int listen_port, int server_port, std::chrono::milliseconds rebind_every,
                               std::uint64_t bytes_per_second)
    : down_(udp_on(listen_port)), up_(udp_on(0)), every_(rebind_every), rate_(bytes_per_second) {
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

void RebindingRelay::run() {
  std::vector<unsigned char> buf(65536);
  sockaddr_in client{};
  bool have_client = false;
  const auto start = std::chrono::steady_clock::now();
  auto next = start + every_;
  std::uint64_t bytes = 0;
  auto pace = [&](ssize_t n) {
    bytes += static_cast<std::uint64_t>(n);
    if (rate_) std::this_thread::sleep_until(start + std::chrono::microseconds(bytes * 1'000'000 / rate_));
  };
  while (!stop_) {
    if (every_.count() > 0 && std::chrono::steady_clock::now() >= next) {
      rebind();
      next += every_;
    }
    pollfd fds[2] = {{down_, POLLIN, 0}, {up_, POLLIN, 0}};
    if (poll(fds, 2, 10) <= 0) continue;
    // Drain each side in turn, a bounded number at a time, so neither direction starves.
    for (int i = 0; i < 64 && (fds[0].revents & POLLIN); ++i) {
      socklen_t len = sizeof client;
      ssize_t n = recvfrom(down_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&client), &len);
      if (n <= 0) break;
      have_client = true;
      sendto(up_, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
      ++to_server_;
      pace(n);
    }
    for (int i = 0; i < 64 && (fds[1].revents & POLLIN); ++i) {
      ssize_t n = recv(up_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      if (!have_client) continue;
      sendto(down_, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&client), sizeof client);
      ++to_client_;
      pace(n);
    }
  }
}

}  // namespace quictun::test
