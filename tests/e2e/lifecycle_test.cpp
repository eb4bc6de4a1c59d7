// A daemon's life: SIGTERM drains (the transfer under way completes, new ones are refused, exit
// status 0), SIGHUP reloads token and certificate files without dropping tunnels, and systemd
// hears READY=1, WATCHDOG=1 and STOPPING=1 on its notify socket.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace quictun::test;

namespace {

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

constexpr std::size_t kSlowSize = 4 << 20;  // what the slow backend sends, in 64 KiB pieces

// Waits for one byte, then sends kSlowSize bytes over about 1.3 s and closes: a download that
// is surely under way when the test sends its signal.
void slow_download(int fd) {
  char c;
  if (::read(fd, &c, 1) != 1) return;
  const std::string data = random_bytes(kSlowSize, 77);
  for (std::size_t at = 0; at < data.size(); at += 65536) {
    if (!write_all(fd, data.data() + at, std::min<std::size_t>(65536, data.size() - at))) return;
    std::this_thread::sleep_for(20ms);
  }
  ::shutdown(fd, SHUT_WR);
}

// Asks the slow backend for its data and returns once the first bytes are here, with them in
// `got`; the rest is read by finish_download.
int start_download(int port, std::string& got) {
  int fd = connect_tcp(port);
  if (fd < 0) return -1;
  set_timeout(fd, 10s);
  write_all(fd, "g", 1);
  char buf[65536];
  while (got.size() < 65536) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return fd;
}

std::string finish_download(int fd, std::string got) {
  got += read_all(fd, 30s);
  ::close(fd);
  return got;
}

// A backend that answers "<name>|" and then echoes, so a test can tell backends apart.
std::function<void(int)> named_echo(const std::string& name) {
  return [name](int fd) {
    std::string prefix = name + "|";
    write_all(fd, prefix.data(), prefix.size());
    echo_handler(fd);
  };
}

// One request and its answer on a connection that stays open.
std::string exchange(int fd, const std::string& text, std::size_t expect) {
  write_all(fd, text.data(), text.size());
  std::string got;
  char buf[4096];
  while (got.size() < expect) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// A self-signed certificate and key for 127.0.0.1, via certtool.
void make_certificate(const TempDir& dir) {
  write_file(dir.file("cert.tmpl"), "cn = \"127.0.0.1\"\nip_address = \"127.0.0.1\"\nexpiration_days = 30\ntls_www_server\nsigning_key\n");
  auto gen = [](const std::vector<std::string>& argv) {
    auto [code, out] = run(argv);
    if (code != 0) throw std::runtime_error("certtool failed: " + out);
  };
  gen({"/usr/bin/certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", dir.file("server.key")});
  gen({"/usr/bin/certtool", "--generate-self-signed", "--load-privkey", dir.file("server.key"), "--template", dir.file("cert.tmpl"),
       "--outfile", dir.file("server.pem")});
}

// The receiving end of systemd's notify socket (a datagram socket named by NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind " + path);
    set_timeout(fd_, 200ms);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // Every message until one contains `what` (true) or `timeout` passes (false).
  bool wait_for(const std::string& what, std::chrono::milliseconds timeout = 10s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<std::size_t>(n));
      seen_ += msg + "\n---\n";
      if (msg.find(what) != std::string::npos) return true;
    }
    return false;
  }
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

}  // namespace

TEST(Lifecycle, ServerSigtermDrainsTheTransferInFlightRefusesNewOnesAndExitsZero) {
  TempDir dir;
  int port = free_tcp_port();
  Backend backend(listen_tcp(port), slow_download);
  Tunnel tunnel(dir, {{"--drain-timeout-ms", "20000"}, {"--token-source", tcp(port)}, {}});

  std::string got;
  int fd = start_download(tunnel.client_port(), got);
  ASSERT_GE(fd, 0);
  ASSERT_GE(got.size(), 65536u) << tunnel.server().log();
  const auto signalled = std::chrono::steady_clock::now();
  tunnel.server().stop(SIGTERM);
  ASSERT_TRUE(tunnel.server().wait_for_log("draining", 5s)) << tunnel.server().log();

  // A new tunnel while the server drains: the application connection is closed, no bytes, and
  // the backend never sees it.
  auto refused = send_and_read(connect_tcp(tunnel.client_port()), "late", 5s);
  EXPECT_TRUE(refused.empty()) << refused.size() << " bytes came back";
  EXPECT_TRUE(tunnel.server().wait_for_log("server is shutting down", 5s)) << tunnel.server().log();

  const std::string all = finish_download(fd, std::move(got));
  EXPECT_EQ(all.size(), kSlowSize) << tunnel.server().log();
  EXPECT_EQ(sha256(all), sha256(random_bytes(kSlowSize, 77)));
  EXPECT_EQ(tunnel.server().wait_exit(10s), 0) << tunnel.server().log();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 15s);
  EXPECT_EQ(backend.accepted(), 1);
  EXPECT_NE(tunnel.server().log().find("drain: no open tunnels; closing the connections"), std::string::npos)
      << tunnel.server().log();
}

// While it drains, the server lets no new client in; at the grace period's end it closes the
// tunnels still open and exits 0.
TEST(Lifecycle, ServerDrainRefusesNewClientsAndEndsAtItsTimeout) {
  TempDir dir;
  int port = free_tcp_port();
  Backend backend(listen_tcp(port), echo_handler);
  Tunnel tunnel(dir, {{"--drain-timeout-ms", "4000"}, {"--token-source", tcp(port)}, {}});
  int fd = connect_tcp(tunnel.client_port());
  ASSERT_EQ(exchange(fd, "idle", 4), "idle");  // a tunnel that never ends by itself
  const auto signalled = std::chrono::steady_clock::now();
  tunnel.server().stop(SIGTERM);
  ASSERT_TRUE(tunnel.server().wait_for_log("draining", 5s)) << tunnel.server().log();

  // A client that was not connected before: its handshake gets no answer, so its application
  // connection is closed when its connect timeout runs out, with no bytes.
  int app = free_tcp_port();
  Process late({bin_path("quictun-client"), "--listen-on", tcp(app), "--server-endpoint",
                "127.0.0.1:" + std::to_string(tunnel.udp_port()), "--token-source", tcp(port), "--insecure-skip-verify",
                "--plugin-dir", plugin_dir(), "--connect-timeout-ms", "1000"},
               dir.file("late-client.log"));
  ASSERT_TRUE(late.wait_for_log("listening on")) << late.log();
  bool eof = false;
  int late_fd = connect_tcp(app);
  write_all(late_fd, "x", 1);
  EXPECT_EQ(read_all(late_fd, 3s, &eof), "");
  EXPECT_TRUE(eof);
  ::close(late_fd);
  EXPECT_TRUE(tunnel.server().running()) << "the drain should still be under way";
  EXPECT_EQ(backend.accepted(), 1);
  EXPECT_EQ(exchange(fd, "still", 5), "still") << "the open tunnel must keep working while the server drains";

  EXPECT_EQ(tunnel.server().wait_exit(10s), 0) << tunnel.server().log();
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 3900ms);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 7s);
  EXPECT_NE(tunnel.server().log().find("1 tunnel(s) still open after 4000 ms"), std::string::npos) << tunnel.server().log();
  ::close(fd);
}

TEST(Lifecycle, ClientSigtermDrainsTheTransferInFlightAndClosesItsListener) {
  TempDir dir;
  int port = free_tcp_port();
  Backend backend(listen_tcp(port), slow_download);
  Tunnel tunnel(dir, {{}, {"--token-source", tcp(port), "--drain-timeout-ms", "20000"}, {}});

  std::string got;
  int fd = start_download(tunnel.client_port(), got);
  ASSERT_GE(got.size(), 65536u) << tunnel.client().log();
  tunnel.client().stop(SIGTERM);
  ASSERT_TRUE(tunnel.client().wait_for_log("draining", 5s)) << tunnel.client().log();
  // The listener is closed: a new application connection is refused by the kernel.
  EXPECT_LT(connect_tcp(tunnel.client_port()), 0);

  const std::string all = finish_download(fd, std::move(got));
  EXPECT_EQ(sha256(all), sha256(random_bytes(kSlowSize, 77))) << tunnel.client().log();
  EXPECT_EQ(tunnel.client().wait_exit(10s), 0) << tunnel.client().log();
  EXPECT_EQ(backend.accepted(), 1);
}

TEST(Lifecycle, SighupReloadsTheTokenMapAndKeepsOpenTunnelsAndABadCertificateIsRefused) {
  TempDir dir;
  make_certificate(dir);
  int port_a = free_tcp_port(), port_b = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  const std::string map = dir.file("backends.map");
  write_file(map, "alpha " + tcp(port_a) + "\n");
  // Never polled: only SIGHUP can make the server read the map again.
  write_file(dir.file("server.toml"), "[token_parser.file]\nreload_interval_ms = 0\n");
  Tunnel tunnel(dir, {{"-c", dir.file("server.toml"), "--token-parser-plugin", "file", "--token-parser-key", map,
                       "--cert-file", dir.file("server.pem"), "--key-file", dir.file("server.key")},
                      {"--token-source", "alpha"},
                      {}});

  int open = connect_tcp(tunnel.client_port());
  ASSERT_EQ(exchange(open, "one", 5), "A|one") << tunnel.server().log();

  write_file(map, "alpha " + tcp(port_b) + "\n");
  ::kill(tunnel.server().pid(), SIGHUP);
  ASSERT_TRUE(tunnel.server().wait_for_log("reloaded " + map + " (1 entries)", 5s)) << tunnel.server().log();
  EXPECT_EQ(send_and_read(connect_tcp(tunnel.client_port()), "new"), "B|new");
  EXPECT_EQ(exchange(open, "two", 3), "two") << "the tunnel opened before the reload was dropped";

  // A broken certificate file: logged, and the old certificate still serves new handshakes.
  write_file(dir.file("server.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  ::kill(tunnel.server().pid(), SIGHUP);
  ASSERT_TRUE(tunnel.server().wait_for_log("certificate not reloaded, keeping the one loaded before", 5s))
      << tunnel.server().log();
  int app = free_tcp_port();
  Process second({bin_path("quictun-client"), "--listen-on", tcp(app), "--server-endpoint",
                  "127.0.0.1:" + std::to_string(tunnel.udp_port()), "--token-source", "alpha", "--insecure-skip-verify",
                  "--plugin-dir", plugin_dir()},
                 dir.file("second-client.log"));
  ASSERT_TRUE(second.wait_for_log("listening on")) << second.log();
  EXPECT_EQ(send_and_read(connect_tcp(app), "after"), "B|after") << second.log() << tunnel.server().log();
  EXPECT_EQ(exchange(open, "three", 5), "three");
  EXPECT_TRUE(tunnel.server().running());
  ::close(open);
}

// The client's side of SIGHUP: its token source re-reads its table; the tunnel opened before
// keeps its backend.
TEST(Lifecycle, ClientSighupReloadsItsTokenSourceAndKeepsOpenTunnels) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  const std::string table = dir.file("clients.map");
  write_file(table, "127.0.0.1 " + tcp(port_a) + "\n");
  write_file(dir.file("client.toml"), "[token_source.file]\nreload_interval_ms = 0\n");
  Tunnel tunnel(dir, {{}, {"-c", dir.file("client.toml"), "--token-source-plugin", "file", "--token-source", table}, {}});

  int open = connect_tcp(tunnel.client_port());
  ASSERT_EQ(exchange(open, "one", 5), "A|one") << tunnel.client().log();
  write_file(table, "127.0.0.1 " + tcp(port_b) + "\n");
  ::kill(tunnel.client().pid(), SIGHUP);
  ASSERT_TRUE(tunnel.client().wait_for_log("reloaded " + table + " (1 entries)", 5s)) << tunnel.client().log();
  EXPECT_EQ(send_and_read(connect_tcp(tunnel.client_port()), "new"), "B|new");
  EXPECT_EQ(exchange(open, "two", 3), "two") << "the tunnel opened before the reload was dropped";
  ::close(open);
}

TEST(Lifecycle, SystemdHearsReadyWatchdogAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  ::setenv("NOTIFY_SOCKET", dir.file("notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);
  int udp = free_udp_port();
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp), "--plugin-dir",
                  plugin_dir()},
                 dir.file("server.log"));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_TRUE(notify.wait_for("READY=1")) << notify.seen() << server.log();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", 2s)) << notify.seen();
  ::kill(server.pid(), SIGHUP);
  EXPECT_TRUE(notify.wait_for("RELOADING=1", 5s)) << notify.seen();
  server.stop(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 5s)) << notify.seen();
  EXPECT_EQ(server.wait_exit(5s), 0) << server.log();
}

TEST(Lifecycle, WithoutSystemdNotifyingIsANoOp) {
  TempDir dir;
  ::unsetenv("NOTIFY_SOCKET");
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:1"}, {}});
  tunnel.server().stop(SIGTERM);
  tunnel.client().stop(SIGTERM);
  EXPECT_EQ(tunnel.server().wait_exit(5s), 0) << tunnel.server().log();
  EXPECT_EQ(tunnel.client().wait_exit(5s), 0) << tunnel.client().log();
}
