// Data through the tunnel: big transfers both ways, many connections, TCP<->UNIX, half-close,
// packet loss. Every byte is checked by SHA-256.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <regex>

#include "harness.hpp"

using namespace quictun::test;

namespace {

// A backend that reads to EOF (hashing) while it sends `reply` bytes, then closes.
struct UpDownBackend {
  std::mutex mu;
  std::vector<std::string> received_hashes;
  std::string reply;
  void handle(int fd) {
    std::thread sender([&] {
      write_all(fd, reply.data(), reply.size());
      shutdown(fd, SHUT_WR);
    });
    std::string got = read_all(fd, 120s);
    sender.join();
    std::lock_guard<std::mutex> lock(mu);
    received_hashes.push_back(sha256(got));
  }
};

void transfer_both_ways(Tunnel& tunnel, UpDownBackend& backend, std::size_t up_size) {
  std::string up = random_bytes(up_size, 42);
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  std::thread sender([&] {
    write_all(fd, up.data(), up.size());
    shutdown(fd, SHUT_WR);
  });
  bool eof = false;
  std::string down = read_all(fd, 120s, &eof);
  sender.join();
  close(fd);
  EXPECT_TRUE(eof) << "the tunnel did not end the download cleanly";
  EXPECT_EQ(down.size(), backend.reply.size());
  EXPECT_EQ(sha256(down), sha256(backend.reply));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(backend.mu);
      if (!backend.received_hashes.empty()) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::lock_guard<std::mutex> lock(backend.mu);
  ASSERT_EQ(backend.received_hashes.size(), 1u);
  EXPECT_EQ(backend.received_hashes[0], sha256(up));
}

}  // namespace

TEST(Transfer, SixtyFourMiBEachWayIntact) {
  TempDir dir;
  int backend_port = free_tcp_port();
  UpDownBackend b;
  b.reply = random_bytes(64 << 20, 7);
  Backend backend(listen_tcp(backend_port), [&](int fd) { b.handle(fd); });
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  transfer_both_ways(tunnel, b, 64 << 20);
}

TEST(Transfer, TwoHundredConcurrentConnections) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  constexpr int kConnections = 200;
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    int fd = tunnel.connect();
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  // All connections are open at once before any data moves.
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      std::string data = random_bytes(64 * 1024 + static_cast<std::size_t>(i), static_cast<std::uint64_t>(i));
      std::thread w([&] {
        write_all(fds[i], data.data(), data.size());
        shutdown(fds[i], SHUT_WR);
      });
      bool eof = false;
      std::string back = read_all(fds[i], 120s, &eof);
      w.join();
      if (eof && sha256(back) == sha256(data)) ++good;
      close(fds[i]);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kConnections);
  EXPECT_EQ(backend.accepted(), kConnections);
}

TEST(Transfer, TcpApplicationToUnixBackend) {
  TempDir dir;
  std::string sock = dir.file("backend.sock");
  Backend backend(listen_unix(sock), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "unix:" + sock}, {}});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  std::string data = random_bytes(1 << 20, 3);
  std::thread w([&] {
    write_all(fd, data.data(), data.size());
    shutdown(fd, SHUT_WR);
  });
  std::string back = read_all(fd, 60s);
  w.join();
  close(fd);
  EXPECT_EQ(sha256(back), sha256(data));
}

TEST(Transfer, UnixApplicationToTcpBackend) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  std::string sock = dir.file("client.sock");
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, "unix:" + sock});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  std::string data = random_bytes(1 << 20, 4);
  std::thread w([&] {
    write_all(fd, data.data(), data.size());
    shutdown(fd, SHUT_WR);
  });
  std::string back = read_all(fd, 60s);
  w.join();
  close(fd);
  EXPECT_EQ(sha256(back), sha256(data));
}

TEST(Transfer, HalfCloseKeepsTheReplyFlowing) {
  // The application sends a request, shuts its write side, and must still get the whole reply,
  // which the backend only starts sending after it has seen EOF.
  TempDir dir;
  int backend_port = free_tcp_port();
  std::string reply = random_bytes(4 << 20, 11);
  std::atomic<bool> backend_saw_eof{false};
  Backend backend(listen_tcp(backend_port), [&](int fd) {
    bool eof = false;
    std::string request = read_all(fd, 30s, &eof);
    backend_saw_eof = eof;
    if (!eof || request != "GET everything\n") return;
    std::this_thread::sleep_for(200ms);  // the reply starts well after the client's FIN
    write_all(fd, reply.data(), reply.size());
    shutdown(fd, SHUT_WR);
  });
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  std::string request = "GET everything\n";
  ASSERT_TRUE(write_all(fd, request.data(), request.size()));
  shutdown(fd, SHUT_WR);
  bool eof = false;
  std::string got = read_all(fd, 60s, &eof);
  close(fd);
  EXPECT_TRUE(backend_saw_eof.load());
  EXPECT_TRUE(eof);
  EXPECT_EQ(got.size(), reply.size());
  EXPECT_EQ(sha256(got), sha256(reply));
}

TEST(Transfer, SixteenMiBThroughTenPercentLoss) {
  TempDir dir;
  int backend_port = free_tcp_port();
  UpDownBackend b;
  b.reply = random_bytes(16 << 20, 99);
  Backend backend(listen_tcp(backend_port), [&](int fd) { b.handle(fd); });
  Tunnel tunnel(dir, {{"--test-drop-rate", "0.1"},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--test-drop-rate", "0.1"},
                      {}});
  transfer_both_ways(tunnel, b, 16 << 20);
}

TEST(Transfer, ApplicationResetBecomesBackendReset) {
  TempDir dir;
  int backend_port = free_tcp_port();
  std::atomic<int> backend_result{0};  // 1: EOF (wrong), 2: reset (right)
  Backend backend(listen_tcp(backend_port), [&](int fd) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) { backend_result = 1; return; }
      if (n < 0) { backend_result = errno == ECONNRESET ? 2 : 3; return; }
    }
  });
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(write_all(fd, "hello", 5));
  std::this_thread::sleep_for(300ms);
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);  // RST
  for (int i = 0; i < 250 && backend_result == 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(backend_result.load(), 2) << "the backend should see a reset, not a clean end";
}

TEST(Transfer, AThousandConcurrentTunnelsOnOneConnection) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2500) GTEST_SKIP() << "open-file limit " << lim.rlim_cur << " is too low for this test";
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  constexpr int kConnections = 1000;
  std::vector<int> fds;
  std::vector<std::string> sent;
  for (int i = 0; i < kConnections; ++i) {
    int fd = tunnel.connect();
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
    sent.push_back(random_bytes(4096, static_cast<std::uint64_t>(i) + 1000));
    ASSERT_TRUE(write_all(fd, sent.back().data(), sent.back().size()));
  }
  // Every tunnel is open at once; now end them and check each echo.
  int good = 0;
  for (int i = 0; i < kConnections; ++i) {
    shutdown(fds[i], SHUT_WR);
    if (read_all(fds[i], 60s) == sent[i]) ++good;
    close(fds[i]);
  }
  EXPECT_EQ(good, kConnections);
  EXPECT_EQ(backend.accepted(), kConnections);
  std::string log = tunnel.server().log();
  std::size_t connections = 0;
  for (std::size_t p = log.find("new QUIC connection"); p != std::string::npos; p = log.find("new QUIC connection", p + 1))
    ++connections;
  EXPECT_EQ(connections, 1u) << "all tunnels share one QUIC connection";
}

namespace {
// The one-line summary a side logs for its ARQ shim when its connection ends.
struct ArqSummary {
  double sent = 0, light = 0, resent = 0, requests = 0;       // as a sender
  double received = 0, repaired = 0, given_up = 0;             // as a receiver
  double sequenced() const { return sent - light; }            // the datagrams that can be repaired
};
std::optional<ArqSummary> arq_summary(const std::string& log) {
  static const std::regex line(
      R"(ARQ sent (\d+) datagrams \((\d+) light\), resent (\d+) on (\d+) requests \(\d+ expired\); received (\d+) \(\d+ light\), \d+ held, (\d+) repaired, (\d+) given up)");
  std::smatch m;
  if (!std::regex_search(log, m, line)) return std::nullopt;
  return ArqSummary{std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4]),
                    std::stod(m[5]), std::stod(m[6]), std::stod(m[7])};
}
}  // namespace

TEST(Transfer, ArqRepairsLossBothWaysWhenTheClientAsks) {
  // The client asks for ARQ and the server accepts it by default, so the handshake turns the
  // shim on. Datagrams are dropped on receipt, before the shim, so it must repair them.
  TempDir dir;
  int backend_port = free_tcp_port();
  UpDownBackend b;
  b.reply = random_bytes(8 << 20, 6);
  Backend backend(listen_tcp(backend_port), [&](int fd) { b.handle(fd); });
  Tunnel tunnel(dir, {{"--test-drop-rate", "0.05"},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--test-drop-rate", "0.05",
                       "--arq", "on"},
                      {}});
  transfer_both_ways(tunnel, b, 8 << 20);
  tunnel.client().stop(SIGINT);
  EXPECT_EQ(tunnel.client().wait_exit(5s), 0) << tunnel.client().log();
  tunnel.server().stop(SIGINT);
  EXPECT_EQ(tunnel.server().wait_exit(5s), 0) << tunnel.server().log();
  auto client = arq_summary(tunnel.client().log());
  auto server = arq_summary(tunnel.server().log());
  ASSERT_TRUE(client) << tunnel.client().log();
  ASSERT_TRUE(server) << tunnel.server().log();
  const double drop = 0.05;
  for (auto [self, peer, name] : {std::tuple{*client, *server, "client"}, std::tuple{*server, *client, "server"}}) {
    SCOPED_TRACE(name);
    // 8 MiB each way: thousands of sequenced datagrams, 5 % of them dropped on receipt. Most
    // gaps must be filled by the shim (a resend can be dropped too, and then asked again).
    EXPECT_GT(peer.sequenced(), 5000);
    EXPECT_GE(self.repaired, peer.sequenced() * drop * 0.5);
    EXPECT_LE(self.given_up, peer.sequenced() * drop * 0.1);
    // Every repair took at least one resend by the peer, and the peer resent only what was
    // asked: about the drop rate of what it sent, a few times over at most.
    EXPECT_GE(peer.resent, self.repaired);
    EXPECT_LE(self.resent, self.sequenced() * drop * 3 + 50);
    EXPECT_GT(self.requests, 0);
  }
}

TEST(Transfer, ArqIsUsedOnlyWhenBothSidesWantIt) {
  // Either side saying --arq off leaves plain QUIC (what a Go quic-tun peer gets), and data
  // still flows through loss, repaired by QUIC alone.
  for (int side = 0; side < 2; ++side) {
    TempDir dir;
    int backend_port = free_tcp_port();
    UpDownBackend b;
    b.reply = random_bytes(1 << 20, 7);
    Backend backend(listen_tcp(backend_port), [&](int fd) { b.handle(fd); });
    std::vector<std::string> server{"--test-drop-rate", "0.02"};
    std::vector<std::string> client{"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port),
                                    "--test-drop-rate", "0.02"};
    // The other side asks for ARQ, so only the one saying off can keep it away.
    (side == 0 ? server : client).insert((side == 0 ? server : client).end(), {"--arq", "off"});
    if (side == 0) client.insert(client.end(), {"--arq", "on"});
    Tunnel tunnel(dir, {server, client, {}});
    SCOPED_TRACE(side == 0 ? "server says --arq off" : "client says --arq off");
    transfer_both_ways(tunnel, b, 1 << 20);  // checks both directions by SHA-256
    // A side that crashed logs no summary either: only a clean exit makes the absence mean something.
    tunnel.client().stop(SIGINT);
    EXPECT_EQ(tunnel.client().wait_exit(5s), 0) << tunnel.client().log();
    tunnel.server().stop(SIGINT);
    EXPECT_EQ(tunnel.server().wait_exit(5s), 0) << tunnel.server().log();
    EXPECT_EQ(tunnel.client().log().find("ARQ sent"), std::string::npos) << tunnel.client().log();
    EXPECT_EQ(tunnel.server().log().find("ARQ sent"), std::string::npos) << tunnel.server().log();
  }
}

TEST(Transfer, PathMtuDiscoveryGrowsPacketsToAFullEthernetPath) {
  // QUIC starts at 1200-byte datagrams and probes for more; loopback carries anything, so after
  // a transfer both sides must have found the largest size they probe for (each logs it when its
  // connection ends): a full 1500-byte IPv4 packet, 1472 bytes of UDP payload, less on the
  // server the 5 bytes it keeps for an ARQ header its client might choose. (ngtcp2's own probes
  // stop at 1444.)
  TempDir dir;
  int backend_port = free_tcp_port();
  UpDownBackend b;
  b.reply = random_bytes(4 << 20, 8);
  Backend backend(listen_tcp(backend_port), [&](int fd) { b.handle(fd); });
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  transfer_both_ways(tunnel, b, 4 << 20);
  tunnel.client().stop(SIGINT);
  tunnel.client().wait_exit(5s);
  tunnel.server().stop(SIGINT);
  tunnel.server().wait_exit(5s);
  for (auto [p, expected] : {std::pair{&tunnel.client(), 1472L}, std::pair{&tunnel.server(), 1467L}}) {
    const std::string log = p->log();
    const std::string key = "largest UDP payload on the path: ";
    std::size_t at = log.find(key);
    ASSERT_NE(at, std::string::npos) << log;
    EXPECT_EQ(std::stol(log.substr(at + key.size())), expected) << log;
  }
}
