// The server's tunnel limits through the real programs: each refuses a new tunnel with 0x02 and
// its reason in the log, and the tunnels already open keep carrying bytes.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace quictun::test;

namespace {

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }

std::unique_ptr<Process> client_for(const TempDir& dir, const Tunnel& tunnel, int port, const std::string& token,
                                    const std::string& log) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{bin_path("quictun-client"), "--listen-on", tcp(port), "--server-endpoint",
                               "127.0.0.1:" + std::to_string(tunnel.udp_port()), "--plugin-dir", plugin_dir(),
                               "--token-source", token, "--insecure-skip-verify"},
      dir.file(log));
  EXPECT_TRUE(p->wait_for_log("listening on")) << p->log();
  return p;
}

// An open tunnel: one byte echoed proves the backend is connected (the server counts it).
int open_echo_tunnel(int port) {
  int fd = connect_tcp(port);
  if (fd < 0) return -1;
  set_timeout(fd, 10s);
  char c = 'a';
  if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1) {
    close(fd);
    return -1;
  }
  return fd;
}

// The rest of an open echo tunnel's life: `size` random bytes must come back intact.
bool echoes_intact(int fd, std::size_t size, std::uint64_t seed) {
  std::string data = random_bytes(size, seed);
  return sha256(send_and_read(fd, data)) == sha256(data);
}

}  // namespace

TEST(Limits, MaxTunnelsPerConnectionRefusesTheNextAndSparesTheOpenOnes) {
  TempDir dir;
  int echo_port = free_tcp_port();
  Backend echo(listen_tcp(echo_port), echo_handler);
  Tunnel tunnel(dir, {{"--max-tunnels-per-connection", "2"}, {"--token-source", tcp(echo_port)}, {}});
  int a = open_echo_tunnel(tunnel.client_port()), b = open_echo_tunnel(tunnel.client_port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(send_and_read(tunnel.connect(), "third", 10s), "");
  EXPECT_TRUE(tunnel.server().wait_for_log(
      "limit: 2 tunnels open on this connection (max_tunnels_per_connection 2) (token refused (0x02))", 5s))
      << tunnel.server().log();
  EXPECT_TRUE(tunnel.client().wait_for_log("token refused (0x02)", 5s)) << tunnel.client().log();
  EXPECT_EQ(echo.accepted(), 2);
  EXPECT_TRUE(echoes_intact(a, 4 << 20, 1));
  EXPECT_TRUE(echoes_intact(b, 4 << 20, 2));
  // Closed tunnels free their places.
  EXPECT_EQ(send_and_read(tunnel.connect(), "again"), "again");
}

TEST(Limits, MaxTunnelsCountsEveryConnection) {
  TempDir dir;
  int echo_port = free_tcp_port();
  Backend echo(listen_tcp(echo_port), echo_handler);
  Tunnel tunnel(dir, {{"--max-tunnels", "2"}, {"--token-source", tcp(echo_port)}, {}});
  int port = free_tcp_port();
  auto second = client_for(dir, tunnel, port, tcp(echo_port), "second.log");
  int a = open_echo_tunnel(tunnel.client_port()), b = open_echo_tunnel(port);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(send_and_read(connect_tcp(port), "third", 10s), "");
  EXPECT_EQ(send_and_read(tunnel.connect(), "fourth", 10s), "");
  EXPECT_TRUE(tunnel.server().wait_for_log("limit: 2 tunnels open on the server (max_tunnels 2) (token refused (0x02))", 5s))
      << tunnel.server().log();
  EXPECT_TRUE(echoes_intact(a, 4 << 20, 3));
  EXPECT_TRUE(echoes_intact(b, 4 << 20, 4));
  EXPECT_EQ(send_and_read(connect_tcp(port), "again"), "again");
}

TEST(Limits, MaxBufferedBytesRefusesNewTunnelsWhileTheOpenOneDrains) {
  TempDir dir;
  // A backend that reads nothing until released, so the server holds what the client sends.
  std::atomic<bool> release{false};
  int slow_port = free_tcp_port(), echo_port = free_tcp_port();
  Backend slow(listen_tcp(slow_port), [&](int fd) {
    while (!release) std::this_thread::sleep_for(10ms);
    std::string got = read_all(fd, 60s);
    std::string digest = sha256(got);
    write_all(fd, digest.data(), digest.size());
    shutdown(fd, SHUT_WR);
  });
  Backend echo(listen_tcp(echo_port), echo_handler);
  Tunnel tunnel(dir, {{"--max-buffered-bytes", "1048576"}, {"--token-source", tcp(slow_port)}, {}});
  int probe_port = free_tcp_port();
  auto probes = client_for(dir, tunnel, probe_port, tcp(echo_port), "probes.log");
  ASSERT_EQ(send_and_read(connect_tcp(probe_port), "before"), "before");

  std::string bulk = random_bytes(48 << 20, 5);
  int fd = connect_tcp(tunnel.client_port());
  ASSERT_GE(fd, 0);
  std::thread sender([&] {
    write_all(fd, bulk.data(), bulk.size());
    shutdown(fd, SHUT_WR);
  });
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    std::this_thread::sleep_for(100ms);
    refused = send_and_read(connect_tcp(probe_port), "probe", 10s).empty();
  }
  EXPECT_TRUE(refused) << "no tunnel was refused while the server held the upload";
  EXPECT_TRUE(tunnel.server().wait_for_log("(max_buffered_bytes 1048576) (token refused (0x02))", 5s))
      << tunnel.server().log();
  release = true;
  set_timeout(fd, 60s);
  std::string digest = read_all(fd, 60s);
  sender.join();
  close(fd);
  EXPECT_EQ(digest, sha256(bulk)) << "the open tunnel lost bytes";
  // Drained, the server takes new tunnels again.
  bool accepted = false;
  for (int i = 0; i < 50 && !accepted; ++i) {
    accepted = send_and_read(connect_tcp(probe_port), "after", 10s) == "after";
    if (!accepted) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(accepted);
}

TEST(Limits, BadLimitValuesNameTheirFlag) {
  auto [code, out] = run({bin_path("quictun-server"), "--max-tunnels", "0", "--listen-on", "127.0.0.1:0"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--max-tunnels: must be between 1 and 16777216"), std::string::npos) << out;
}

// The client's own limits: an application flooding the client's listener meets them before any
// stream is asked of the server, and the tunnels already open keep their bytes.
namespace {

double metric(int api_port, const std::string& limit) {
  const std::string metrics = send_and_read(connect_tcp(api_port), "GET /metrics HTTP/1.0\r\n\r\n", 10s);
  const std::string name = "quictun_tunnels_refused_total{limit=\"" + limit + "\"} ";
  auto at = metrics.find(name);
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size()));
}

}  // namespace

TEST(Limits, ClientMaxTunnelsClosesTheNextApplicationConnection) {
  TempDir dir;
  int echo_port = free_tcp_port(), api_port = free_tcp_port();
  Backend echo(listen_tcp(echo_port), echo_handler);
  Tunnel tunnel(dir, {{},
                      {"--max-tunnels", "2", "--token-source", tcp(echo_port), "--httpd-listen-on",
                       "127.0.0.1:" + std::to_string(api_port)},
                      {}});
  int a = open_echo_tunnel(tunnel.client_port()), b = open_echo_tunnel(tunnel.client_port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(metric(api_port, "max_tunnels"), 0.0);
  EXPECT_EQ(send_and_read(tunnel.connect(), "third", 10s), "");
  EXPECT_TRUE(tunnel.client().wait_for_log("client: limit: 2 tunnels open on the client (max_tunnels 2): application "
                                           "connection on " + tunnel.client_listen() + " closed",
                                           5s))
      << tunnel.client().log();
  EXPECT_EQ(metric(api_port, "max_tunnels"), 1.0);
  EXPECT_EQ(echo.accepted(), 2) << "the refused connection never reached the server";
  EXPECT_TRUE(echoes_intact(a, 4 << 20, 6));
  EXPECT_TRUE(echoes_intact(b, 4 << 20, 7));
  // Closed tunnels free their places.
  std::string again;
  for (int i = 0; i < 50 && again != "again"; ++i) {
    again = send_and_read(tunnel.connect(), "again", 10s);
    if (again != "again") std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(again, "again");
}

TEST(Limits, ClientMaxBufferedBytesClosesNewConnectionsWhileADownloadIsHeld) {
  TempDir dir;
  // 'B' asks for a 48 MiB download; anything else is echoed.
  const std::string bulk = random_bytes(48 << 20, 8);
  int port = free_tcp_port(), api_port = free_tcp_port();
  Backend backend(listen_tcp(port), [&](int fd) {
    char c = 0;
    if (recv(fd, &c, 1, 0) != 1) return;
    if (c == 'B') {
      write_all(fd, bulk.data(), bulk.size());
      shutdown(fd, SHUT_WR);
      return;
    }
    write_all(fd, &c, 1);
    echo_handler(fd);
  });
  Tunnel tunnel(dir, {{},
                      {"--max-buffered-bytes", "1048576", "--token-source", tcp(port), "--httpd-listen-on",
                       "127.0.0.1:" + std::to_string(api_port)},
                      {}});
  ASSERT_EQ(send_and_read(tunnel.connect(), "Ebefore"), "Ebefore");
  // The application reads nothing: the client holds what the server sends, up to the window.
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(write_all(fd, "B", 1));
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    std::this_thread::sleep_for(100ms);
    refused = send_and_read(tunnel.connect(), "Eprobe", 10s).empty();
  }
  EXPECT_TRUE(refused) << "no application connection was refused while the client held the download";
  EXPECT_TRUE(tunnel.client().wait_for_log("(max_buffered_bytes 1048576): application connection on", 5s))
      << tunnel.client().log();
  EXPECT_GE(metric(api_port, "max_buffered_bytes"), 1.0);
  set_timeout(fd, 60s);
  EXPECT_EQ(sha256(read_all(fd, 60s)), sha256(bulk)) << "the open tunnel lost bytes";
  close(fd);
  bool accepted = false;
  for (int i = 0; i < 50 && !accepted; ++i) {
    accepted = send_and_read(tunnel.connect(), "Eafter", 10s) == "Eafter";
    if (!accepted) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(accepted);
}

TEST(Limits, BadClientLimitValuesNameTheirFlagOrLine) {
  auto [code, out] = run({bin_path("quictun-client"), "--max-buffered-bytes", "10x"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--max-buffered-bytes: must be between 65536 and 1099511627776, got \"10x\""), std::string::npos)
      << out;
  TempDir dir;
  std::ofstream(dir.file("c.toml")) << "[client]\nmax_tunnels = 0\n";
  auto [code2, out2] = run({bin_path("quictun-client"), "--config", dir.file("c.toml")});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find("c.toml:2: 'max_tunnels' must be between 1 and 16777216"), std::string::npos) << out2;
}
