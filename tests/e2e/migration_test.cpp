// Connection migration and stateless reset through the real programs.
// - A relay that moves its server-facing port every 0.5 s (a NAT rebinding) sits between client
//   and server during a 64 MiB echo: not one byte may be lost, with ARQ and without it.
// - A server killed and restarted with the same key answers the old connection's packets with a
//   stateless reset, and the client reconnects at once instead of waiting out seconds of silence.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "harness.hpp"
#include "udp_relay.hpp"

using namespace quictun::test;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Writes `data` on one thread while reading the echo on this one (64 MiB does not fit the
// buffers on the way, so writing all first would deadlock); returns the echo.
// With `pause`, it writes 1 MiB at a time with that pause after each, to make the transfer last.
std::string echo_concurrently(int fd, const std::string& data, std::chrono::milliseconds timeout,
                              std::chrono::milliseconds pause = {}) {
  if (fd < 0) return "<connect failed>";
  std::thread writer([&] {
    const std::size_t step = pause.count() ? std::size_t{1} << 20 : data.size();
    for (std::size_t at = 0; at < data.size(); at += step) {
      write_all(fd, data.data() + at, std::min(step, data.size() - at));
      std::this_thread::sleep_for(pause);
    }
    shutdown(fd, SHUT_WR);
  });
  std::string got = read_all(fd, timeout);
  writer.join();
  close(fd);
  return got;
}

void rebinding_echo(const std::vector<std::string>& link_flags) {
  TempDir dir;
  const int backend_port = free_tcp_port(), server_port = free_udp_port(), relay_port = free_udp_port();
  const int client_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  // 25 MB/s for both directions: the echo takes about 6 s, a dozen rebindings.
  RebindingRelay relay(relay_port, server_port, std::chrono::milliseconds(500), 25'000'000);
  std::vector<std::string> common = {"--plugin-dir", plugin_dir(), "--log-level", "debug"};
  std::vector<std::string> sargs = {bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port)};
  sargs.insert(sargs.end(), common.begin(), common.end());
  Process server(sargs, dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  std::vector<std::string> cargs = {bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(client_port),
                                    "--server-endpoint", "127.0.0.1:" + std::to_string(relay_port),
                                    "--insecure-skip-verify", "--token-source",
                                    "tcp:127.0.0.1:" + std::to_string(backend_port)};
  cargs.insert(cargs.end(), common.begin(), common.end());
  cargs.insert(cargs.end(), link_flags.begin(), link_flags.end());
  Process client(cargs, dir.file("client.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();

  const std::string data = random_bytes(64 << 20, 1010);
  const auto start = std::chrono::steady_clock::now();
  const std::string got = echo_concurrently(connect_tcp(client_port), data, 150s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(sha256(got) == sha256(data)) << "bytes differ\nclient:\n" << client.log().substr(0, 20000);
  const std::uint64_t rebinds = relay.rebinds();
  // The transfer must really have lived through several rebindings.
  EXPECT_GE(rebinds, 6u) << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  const std::string slog = server.log(), clog = client.log();
  EXPECT_GE(count(slog, "now sends from"), 2u) << "the server must have followed the client\n" << slog.substr(0, 20000);
  EXPECT_EQ(count(clog, "connected to server"), 1u) << "one connection from start to end\n" << clog.substr(0, 20000);
  EXPECT_EQ(slog.find("disconnected"), std::string::npos) << slog.substr(0, 20000);
  std::cout << "64 MiB echo through " << rebinds << " rebindings in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
}

// A self-signed certificate whose key survives the server's restart.
void make_certificate(const TempDir& d) {
  std::ofstream(d.file("server.tmpl")) << "cn = \"localhost\"\nip_address = \"127.0.0.1\"\nexpiration_days = 30\n"
                                          "tls_www_server\nsigning_key\n";
  auto [c1, o1] = run({"/usr/bin/certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", d.file("server.key")});
  ASSERT_EQ(c1, 0) << o1;
  auto [c2, o2] = run({"/usr/bin/certtool", "--generate-self-signed", "--load-privkey", d.file("server.key"),
                       "--template", d.file("server.tmpl"), "--outfile", d.file("server.pem")});
  ASSERT_EQ(c2, 0) << o2;
}

}  // namespace

TEST(Migration, NatRebindingEvery500msLosesNoByteWithArq) { rebinding_echo({"--arq", "on"}); }
TEST(Migration, NatRebindingEvery500msLosesNoByteWithoutArq) { rebinding_echo({"--arq", "off"}); }
// The path validation's own packets may be lost too (the client drops 2 % of what it receives).
TEST(Migration, NatRebindingEvery500msLosesNoByteWithArqUnderLoss) {
  rebinding_echo({"--arq", "on", "--test-drop-rate", "0.02"});
}

TEST(Migration, RestartedServerResetsOldConnectionAndClientReconnectsAtOnce) {
  TempDir dir;
  make_certificate(dir);
  const int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{"--cert-file", dir.file("server.pem"), "--key-file", dir.file("server.key")},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  ASSERT_EQ(send_and_read(tunnel.connect(), "before", 10s), "before") << tunnel.client().log();
  kill(tunnel.server().pid(), SIGKILL);  // abrupt: no goodbye, the client still thinks it is connected
  tunnel.restart_server();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(send_and_read(tunnel.connect(), "after crash", 10s), "after crash") << tunnel.client().log();
  const auto took = std::chrono::steady_clock::now() - start;
  // Without the reset the client notices the dead server only after 3 s of silence.
  EXPECT_LT(took, 1500ms) << tunnel.client().log();
  EXPECT_TRUE(tunnel.client().wait_for_log("stateless reset", 2s)) << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("stateless reset sent", 2s)) << tunnel.server().log();
  std::cout << "reconnected through a stateless reset in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
}

// The client itself moves (a new local port every 0.5 s, as after an address change): ngtcp2's
// active migration with a fresh connection ID, which the server must follow.
TEST(Migration, ClientMovingToANewPortEvery500msLosesNoByte) {
  TempDir dir;
  const int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--test-rebind-every-ms",
                           "500", "--arq", "on"}, {}});
  // 32 MiB over about 3 s: six moves while bytes flow both ways.
  const std::string data = random_bytes(32 << 20, 2020);
  const std::string got = echo_concurrently(tunnel.connect(), data, 120s, 100ms);
  EXPECT_TRUE(sha256(got) == sha256(data)) << got.size() << " bytes back\n" << tunnel.client().log().substr(0, 20000);
  const std::string clog = tunnel.client().log(), slog = tunnel.server().log();
  EXPECT_GE(count(clog, "connection moved to"), 4u) << clog.substr(0, 20000);
  EXPECT_GE(count(slog, "now sends from"), 4u) << slog.substr(0, 20000);
  EXPECT_EQ(count(clog, "connected to server"), 1u) << clog.substr(0, 20000);
}
