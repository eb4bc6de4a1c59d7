// Connection migration and stateless reset through the real programs.
// - A relay that moves its server-facing port every 0.5 s (a NAT rebinding) sits between client
//   and server during a 64 MiB echo: not one byte may be lost, with ARQ and without it.
// - A server killed and restarted with the same key answers the old connection's packets with a
//   stateless reset, and the client reconnects at once instead of waiting out seconds of silence.
// - A client in a network namespace loses its address towards the server mid-transfer (root
//   only): the kernel's next source address is used, and the transfer survives.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.hpp"
#include "relayed_tunnel.hpp"

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
  // 25 MB/s for both directions: the echo takes about 6 s, a dozen rebindings.
  RelayedTunnel t(echo_handler, {.rebind_every = 500ms, .bytes_per_second = 25'000'000}, {}, link_flags);
  ASSERT_TRUE(t.ready()) << t.server->log() << t.client->log();
  const int client_port = t.client_port;
  RebindingRelay& relay = *t.relay;
  Process &server = *t.server, &client = *t.client;

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

// Two network namespaces joined by a veth pair, deleted (with the pair) at destruction, so a
// failing test leaves nothing behind. The server's side is 10.201.0.1; the client's has two
// addresses, 10.201.0.2 (the kernel's first choice) and 10.201.0.3, which takes over when the
// first is removed.
class NamespacePair {
 public:
  NamespacePair() {
    const std::string tag = std::to_string(getpid());
    server_ = "qtmigS" + tag;
    client_ = "qtmigC" + tag;
    ok_ = sh("ip netns add " + server_) && sh("ip netns add " + client_) &&
          sh("ip link add s0 netns " + server_ + " type veth peer name c0 netns " + client_) &&
          sh("ip -n " + server_ + " addr add 10.201.0.1/24 dev s0") && sh("ip -n " + server_ + " link set s0 up") &&
          sh("ip -n " + server_ + " link set lo up") &&
          // Without this, removing the first address of a subnet removes the others too.
          sh("ip netns exec " + client_ + " sysctl -qw net.ipv4.conf.c0.promote_secondaries=1") &&
          sh("ip -n " + client_ + " addr add 10.201.0.2/24 dev c0") &&
          sh("ip -n " + client_ + " addr add 10.201.0.3/24 dev c0") && sh("ip -n " + client_ + " link set c0 up") &&
          sh("ip -n " + client_ + " link set lo up");
  }
  ~NamespacePair() {
    sh("ip netns del " + client_);
    sh("ip netns del " + server_);
  }
  NamespacePair(const NamespacePair&) = delete;
  NamespacePair& operator=(const NamespacePair&) = delete;
  bool ok() const { return ok_; }
  const std::string& server() const { return server_; }
  const std::string& client() const { return client_; }
  static bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

 private:
  std::string server_, client_;
  bool ok_ = false;
};

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

// A real address change: the client's source address towards the server is removed from its
// interface mid-transfer, so the kernel picks another one. The client notices, moves the
// connection to a socket on the new address, and the server follows.
TEST(Migration, ClientSurvivesRemovalOfItsSourceAddress) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: network namespaces and veth";
  TempDir dir;
  // Processes are declared after the namespaces: they end before the namespaces are deleted.
  NamespacePair ns;
  if (!ns.ok()) GTEST_SKIP() << "cannot create network namespaces with a veth pair (ip netns add / ip link add)";
  // The namespaces share the file system: the test reaches both programs through UNIX sockets.
  const std::string backend_path = dir.file("backend.sock"), app_path = dir.file("app.sock"),
                    api_path = dir.file("api.sock");
  Backend backend(listen_unix(backend_path), echo_handler);
  Process server({"/usr/sbin/ip", "netns", "exec", ns.server(), bin_path("quictun-server"), "--listen-on",
                  "10.201.0.1:7500", "--plugin-dir", plugin_dir(), "--log-level", "debug", "--httpd-listen-on",
                  "unix:" + api_path},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  Process client({"/usr/sbin/ip", "netns", "exec", ns.client(), bin_path("quictun-client"), "--listen-on",
                  "unix:" + app_path, "--server-endpoint", "10.201.0.1:7500", "--insecure-skip-verify",
                  "--token-source", "unix:" + backend_path, "--plugin-dir", plugin_dir(), "--log-level", "debug"},
                 dir.file("client.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();

  // 48 MiB over about 5 s; the address goes away after 1.5 s.
  const std::string data = random_bytes(48 << 20, 3030);
  std::string got;
  std::thread transfer([&] { got = echo_concurrently(connect_unix(app_path), data, 120s, 100ms); });
  std::this_thread::sleep_for(1500ms);
  const bool removed = NamespacePair::sh("ip -n " + ns.client() + " addr del 10.201.0.2/24 dev c0");
  transfer.join();
  ASSERT_TRUE(removed);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(sha256(got) == sha256(data)) << "bytes differ\nclient:\n" << client.log().substr(0, 20000);
  const std::string clog = client.log(), slog = server.log();
  EXPECT_NE(clog.find("local address changed from 10.201.0.2 to 10.201.0.3; connection moved to 10.201.0.3:"),
            std::string::npos)
      << clog.substr(0, 20000);
  EXPECT_NE(slog.find("now sends from 10.201.0.3:"), std::string::npos) << slog.substr(0, 20000);
  EXPECT_EQ(count(clog, "connected to server"), 1u) << "one connection from start to end\n" << clog.substr(0, 20000);
  const std::string metrics = send_and_read(connect_unix(api_path), "GET /metrics HTTP/1.0\r\n\r\n", 10s);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m, std::regex("\nquictun_quic_migrations_total ([0-9.e+]+)\n"))) << metrics;
  EXPECT_GE(std::stod(m[1]), 1.0) << metrics;
}
