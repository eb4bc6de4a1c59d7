// Garbage from a live peer's own address. A UDP relay between client and server forwards every
// datagram both ways and, from the very socket the server sees the client's packets come from,
// mixes in garbage: random bytes, truncated and corrupted copies of the client's real packets,
// datagrams of one to three bytes, and bytes that open like ARQ datagrams or the removed FEC
// shim's. The server must keep the connection and the tunnel must deliver every byte.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "harness.hpp"

using namespace quictun::test;

namespace {

int udp_socket_on(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("udp bind failed");
  return fd;
}

// Client <-> relay <-> server, on a thread of its own; garbage goes out of `upstream_`, the
// socket whose address the server knows as the client's.
class GarbageRelay {
 public:
  GarbageRelay(int listen_port, int server_port) : down_(udp_socket_on(listen_port)), up_(udp_socket_on(0)) {
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(server_port));
    server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    thread_ = std::thread([this] { run(); });
  }
  ~GarbageRelay() {
    stop_ = true;
    thread_.join();
    close(down_);
    close(up_);
  }
  GarbageRelay(const GarbageRelay&) = delete;
  GarbageRelay& operator=(const GarbageRelay&) = delete;

  std::uint64_t forwarded() const { return forwarded_; }
  std::uint64_t injected() const { return injected_; }

 private:
  void run() {
    std::mt19937_64 rng(42);
    std::vector<unsigned char> buf(65536);
    sockaddr_in client{};
    bool have_client = false;
    pollfd fds[2] = {{down_, POLLIN, 0}, {up_, POLLIN, 0}};
    while (!stop_) {
      if (poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {  // from the client: forward, then garble
        socklen_t len = sizeof client;
        ssize_t n = recvfrom(down_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&client), &len);
        if (n <= 0) continue;
        have_client = true;
        to_server(buf.data(), static_cast<std::size_t>(n));
        ++forwarded_;
        if (forwarded_ % 4 == 0) inject(rng, buf.data(), static_cast<std::size_t>(n));
      }
      if ((fds[1].revents & POLLIN)) {  // from the server: back to the client
        ssize_t n = recv(up_, buf.data(), buf.size(), 0);
        if (n > 0 && have_client)
          sendto(down_, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&client), sizeof client);
      }
    }
  }

  void to_server(const unsigned char* p, std::size_t n) {
    sendto(up_, p, n, 0, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
  }

  void inject(std::mt19937_64& rng, const unsigned char* real, std::size_t n) {
    std::vector<unsigned char> g;
    switch (injected_ % 5) {
      case 0:  // random bytes of a random length
        g.resize(1 + rng() % 1400);
        for (auto& b : g) b = static_cast<unsigned char>(rng());
        break;
      case 1:  // the real packet cut short
        g.assign(real, real + 1 + rng() % n);
        break;
      case 2:  // the real packet with one byte flipped: its AEAD tag no longer checks
        g.assign(real, real + n);
        g[rng() % n] ^= static_cast<unsigned char>(1 + rng() % 255);
        break;
      case 3:  // one to three bytes
        g.resize(1 + rng() % 3);
        for (auto& b : g) b = static_cast<unsigned char>(rng());
        break;
      case 4:  // opens like the removed FEC shim's (0x21, 0x22) or an ARQ (0x23..0x25) datagram
        g.resize(5 + rng() % 200);
        for (auto& b : g) b = static_cast<unsigned char>(rng());
        g[0] = static_cast<unsigned char>(0x21 + rng() % 5);
        break;
    }
    to_server(g.data(), g.size());
    ++injected_;
  }

  int down_, up_;
  sockaddr_in server_{};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> forwarded_{0}, injected_{0};
};

}  // namespace

TEST(Failure, GarbageFromTheLivePeersOwnAddressDoesNotDisturbTheTunnel) {
  TempDir dir;
  const int backend_port = free_tcp_port(), server_port = free_udp_port(), relay_port = free_udp_port();
  const int client_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  GarbageRelay relay(relay_port, server_port);
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port),
                  "--plugin-dir", plugin_dir(), "--log-level", "debug"},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  Process client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(client_port),
                  "--server-endpoint", "127.0.0.1:" + std::to_string(relay_port), "--insecure-skip-verify",
                  "--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--plugin-dir", plugin_dir(),
                  "--log-level", "debug"},
                 dir.file("client.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();

  const std::string data = random_bytes(8 << 20, 77);
  EXPECT_TRUE(send_and_read(connect_tcp(client_port), data, 60s) == data)
      << "bytes differ\nclient:\n" << client.log() << "\nserver:\n" << server.log();
  EXPECT_GT(relay.injected(), 500u) << "the garbage must really have been sent";
  // One connection from start to end: nothing the garbage did closed or replaced it.
  EXPECT_TRUE(server.running());
  EXPECT_TRUE(client.running());
  const std::string clog = client.log();
  std::size_t connects = 0;
  for (std::size_t at = clog.find("connected to server"); at != std::string::npos;
       at = clog.find("connected to server", at + 1))
    ++connects;
  EXPECT_EQ(connects, 1u) << clog;
  const std::string slog = server.log();
  EXPECT_EQ(slog.find("disconnected"), std::string::npos) << slog;
  std::size_t accepted = 0;
  for (std::size_t at = slog.find("new QUIC connection"); at != std::string::npos; at = slog.find("new QUIC connection", at + 1))
    ++accepted;
  EXPECT_EQ(accepted, 1u) << "a garbled Initial-looking datagram must not start a second connection\n" << slog;
}
