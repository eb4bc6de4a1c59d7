// What happens when things go wrong: refused tokens, dead backends, a restarted or absent
// server, failing plugins. Nothing may hang and every failure must be said clearly.
#include <gtest/gtest.h>

#include <thread>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace quictun::test;

namespace {

// Connects through the tunnel, sends `data`, and reads until the tunnel closes the connection.
// Returns what came back and how long the close took.
std::pair<std::string, std::chrono::milliseconds> exchange(const Tunnel& tunnel, const std::string& data,
                                                           bool* eof = nullptr) {
  int fd = tunnel.connect();
  if (fd < 0) return {"<connect failed>", 0ms};
  auto start = std::chrono::steady_clock::now();
  write_all(fd, data.data(), data.size());
  std::string got = read_all(fd, 30s, eof);
  close(fd);
  return {got, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

std::string echo_roundtrip(const Tunnel& tunnel, const std::string& data) {
  return send_and_read(tunnel.connect(), data, 30s);
}

}  // namespace

TEST(Failure, UnknownTokenIsRefusedWithStatus2) {
  TempDir dir;
  Tunnel tunnel(dir, {{}, {"--token-source", "not-an-address"}, {}});
  bool eof = false;
  auto [got, took] = exchange(tunnel, "hello", &eof);
  EXPECT_EQ(got, "");
  EXPECT_TRUE(eof) << "the application connection must be closed, not left hanging";
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(tunnel.client().wait_for_log("token refused (0x02)", 5s)) << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("token \"not-an-address\" refused", 5s)) << tunnel.server().log();
}

TEST(Failure, ManyRefusedTokensAreSummarisedNotLoggedEach) {
  TempDir dir;
  Tunnel tunnel(dir, {{}, {"--token-source", "not-an-address"}, {}});
  const std::string before = tunnel.server().log();
  constexpr int kTunnels = 60;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kTunnels; ++i) {
    // Nothing is sent: the fixed token goes out at once, and bytes still unread when the client
    // closes the refused connection would turn its FIN into a reset.
    bool eof = false;
    auto [got, took] = exchange(tunnel, "", &eof);
    ASSERT_TRUE(eof) << "refused tunnel " << i << " was not closed with a FIN (got \"" << got << "\")\n"
                     << tunnel.client().log() << tunnel.server().log();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Every refusal is counted in a summary line: wait for the count to reach them all.
  auto refused_counted = [&] {
    const std::string log = tunnel.server().log().substr(before.size());
    std::size_t counted = 0, pos = 0;
    // The first refusal after a quiet second has a line of its own; the others are in summaries
    // ("... in the last 1.0 s: 59 x tunnel refused: token refused (0x02) ...").
    while ((pos = log.find("tunnel refused: token refused (0x02)", pos)) != std::string::npos) {
      const std::size_t line_start = log.rfind('\n', pos) + 1;
      const std::string head = log.substr(line_start, pos - line_start);
      const std::size_t x = head.rfind(" x ");
      if (x == std::string::npos) {
        ++counted;
      } else {
        const std::size_t num = head.rfind(' ', x - 1);
        counted += std::stoul(head.substr(num + 1, x - num - 1));
      }
      pos += 10;
    }
    return counted;
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (refused_counted() < kTunnels && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  const std::string log = tunnel.server().log().substr(before.size());
  EXPECT_EQ(refused_counted(), static_cast<std::size_t>(kTunnels)) << log;
  // Above debug (where each refusal keeps its full line for tracing): a line for the first,
  // then at most one summary a second (and one more as the last second ends).
  std::istringstream in(log);
  std::size_t lines = 0;
  for (std::string l; std::getline(in, l);)
    lines += l.find("refused") != std::string::npos && l.find(" debug: ") == std::string::npos;
  EXPECT_LE(lines, static_cast<std::size_t>(seconds + 3)) << log;
}

TEST(Failure, BackendDownAnswersStatus3AndClosesPromptly) {
  TempDir dir;
  int dead_port = free_tcp_port();  // nothing listens here
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(dead_port)}, {}});
  bool eof = false;
  auto [got, took] = exchange(tunnel, "hello", &eof);
  EXPECT_EQ(got, "");
  EXPECT_TRUE(eof);
  EXPECT_LT(took, 3s) << "a refused backend must close the application connection promptly";
  EXPECT_TRUE(tunnel.client().wait_for_log("backend unreachable (0x03)", 5s)) << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("Connection refused", 5s)) << tunnel.server().log();
}

TEST(Failure, UnansweredBackendTimesOutWithStatus3) {
  TempDir dir;
  SilentListener silent;  // only the server's backend connect timeout ends the wait
  Tunnel tunnel(dir, {{"--backend-connect-timeout-ms", "500"},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(silent.port())},
                      {}});
  bool eof = false;
  auto [got, took] = exchange(tunnel, "x", &eof);
  EXPECT_TRUE(eof);
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(tunnel.server().wait_for_log("no answer within 500 ms", 5s)) << tunnel.server().log();
  EXPECT_TRUE(tunnel.client().wait_for_log("backend unreachable (0x03)", 5s)) << tunnel.client().log();
}

TEST(Failure, NextConnectionSucceedsAfterServerRestart) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  EXPECT_EQ(echo_roundtrip(tunnel, "before"), "before");
  tunnel.restart_server();  // graceful: the server says goodbye
  EXPECT_EQ(echo_roundtrip(tunnel, "after graceful restart"), "after graceful restart") << tunnel.client().log();
  kill(tunnel.server().pid(), SIGKILL);  // abrupt: the client hears nothing
  tunnel.restart_server();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(echo_roundtrip(tunnel, "after crash"), "after crash") << tunnel.client().log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Failure, ClientStartsWithoutServerAndWaitsBoundedTime) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int udp_port = free_udp_port();
  int client_port = free_tcp_port();
  Process client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(client_port),
                  "--server-endpoint", "127.0.0.1:" + std::to_string(udp_port), "--token-source",
                  "tcp:127.0.0.1:" + std::to_string(backend_port), "--insecure-skip-verify", "--plugin-dir",
                  plugin_dir(), "--connect-timeout-ms", "1500"},
                 dir.file("client.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();
  // No server: the application connection is accepted, waits, then is closed.
  int fd = connect_tcp(client_port);
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  bool eof = false;
  std::string got = read_all(fd, 10s, &eof);
  auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_TRUE(eof);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(client.wait_for_log("no connection to the server", 2s)) << client.log();
  // Now the server comes up; the next connection works.
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp_port), "--plugin-dir",
                  plugin_dir()},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  fd = connect_tcp(client_port);
  ASSERT_GE(fd, 0);
  write_all(fd, "late", 4);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_all(fd, 10s), "late") << client.log();
  close(fd);
}

TEST(Failure, GarbageDatagramsDoNotDisturbTheServer) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(tunnel.udp_port()));
  a.sin_addr.s_addr = htonl(0x7f000001);
  for (int i = 0; i < 2000; ++i) {
    std::string junk = random_bytes(static_cast<std::size_t>(1 + (i * 37) % 1400), static_cast<std::uint64_t>(i));
    if (i % 3 == 0) junk[0] = static_cast<char>(0xc0);  // looks like a long header
    if (i % 3 == 1) junk[0] = static_cast<char>(0x21 + i % 5);  // looks like the removed FEC (0x21, 0x22) or ARQ (0x23..0x25)
    sendto(u, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  close(u);
  EXPECT_EQ(echo_roundtrip(tunnel, "still fine"), "still fine");
  EXPECT_TRUE(tunnel.server().running());
}

TEST(Failure, ThrowingTokenSourceRefusesOnlyThatConnection) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{},
                      {"--plugin-dir", QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", plugin_dir(),
                       "--token-source-plugin", "throws-on-boom", "--token-source",
                       "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  bool eof = false;
  auto [got, took] = exchange(tunnel, "boom!", &eof);
  EXPECT_TRUE(eof);
  EXPECT_TRUE(tunnel.client().wait_for_log("token source failed: resolve exploded", 5s)) << tunnel.client().log();
  EXPECT_EQ(echo_roundtrip(tunnel, "fine1"), "fine1");
  EXPECT_TRUE(tunnel.client().running());
}

TEST(Failure, ThrowingTokenParserRefusesOnlyThatStream) {
  // Two tunnels of one client, so two streams of one QUIC connection: the parser throws for the
  // second one's token while the first is halfway through its upload; the first must not notice.
  // The http-header source takes each connection's token from its request head.
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  TunnelSetup setup{{"--plugin-dir", QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", plugin_dir(),
                     "--token-parser-plugin", "throws-on-boom"},
                    {"--token-source-plugin", "http-header"},
                    {}};
  Tunnel tunnel(dir, setup);
  auto request = [&](const std::string& token) {
    return "POST /upload HTTP/1.1\r\nHost: b\r\nX-Quictun-Token: " + token + "\r\n\r\n";
  };
  std::string good = request("tcp:127.0.0.1:" + std::to_string(backend_port)) + random_bytes(8 << 20, 5);
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  std::string echoed;
  std::thread reader([&] { echoed = read_all(fd, 60s); });
  std::size_t half = good.size() / 2;
  ASSERT_TRUE(write_all(fd, good.data(), half));

  bool eof = false;
  exchange(tunnel, request("boom:tcp:127.0.0.1:" + std::to_string(backend_port)), &eof);
  EXPECT_TRUE(eof) << "the refused connection must be closed:\n" << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("token parser failed: parse exploded", 5s)) << tunnel.server().log();

  EXPECT_TRUE(write_all(fd, good.data() + half, good.size() - half)) << "the first tunnel broke";
  shutdown(fd, SHUT_WR);
  reader.join();
  close(fd);
  EXPECT_EQ(echoed.size(), good.size());
  EXPECT_EQ(sha256(echoed), sha256(good)) << "the first tunnel's bytes were disturbed";
  EXPECT_TRUE(tunnel.server().running());
}
