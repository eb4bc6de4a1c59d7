// Handshake-flood defences through the real programs: forged Initials (well-formed, but their
// payload is random, so they never decrypt) from many ports make the server answer with Retry
// instead of keeping state, a real client still connects during the flood, and the log stays
// short. And the connection limits refuse new clients with a reason both sides log.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "harness.hpp"

using namespace quictun::test;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::size_t lines(const std::string& text) { return count(text, "\n"); }

// A QUIC v1 Initial as a client would send it (long header, 8..20-byte IDs, padded to 1200
// bytes), except that its protected payload is random bytes.
std::vector<unsigned char> forged_initial(std::mt19937_64& rng) {
  std::vector<unsigned char> p;
  p.push_back(0xc3);  // long header, fixed bit, Initial, 4-byte packet number
  for (unsigned char b : {0, 0, 0, 1}) p.push_back(b);
  for (int id = 0; id < 2; ++id) {
    const std::size_t len = 8 + rng() % 13;
    p.push_back(static_cast<unsigned char>(len));
    for (std::size_t i = 0; i < len; ++i) p.push_back(static_cast<unsigned char>(rng()));
  }
  p.push_back(0);  // no token
  const std::size_t rest = 1200 - p.size() - 2;
  p.push_back(static_cast<unsigned char>(0x40 | (rest >> 8)));
  p.push_back(static_cast<unsigned char>(rest & 0xff));
  while (p.size() < 1200) p.push_back(static_cast<unsigned char>(rng()));
  return p;
}

// Sends forged Initials to 127.0.0.1:`port` from `ports` sockets at about `per_second`, on a
// thread, until destroyed.
class Flood {
 public:
  Flood(int port, int ports, int per_second) {
    for (int i = 0; i < ports; ++i) fds_.push_back(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    thread_ = std::thread([this, to, per_second] {
      std::mt19937_64 rng(7);
      const auto start = std::chrono::steady_clock::now();
      while (!stop_) {
        auto p = forged_initial(rng);
        sendto(fds_[sent_ % fds_.size()], p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        ++sent_;
        const auto due = start + std::chrono::microseconds(sent_ * 1'000'000 / per_second);
        std::this_thread::sleep_until(due);
      }
    });
  }
  ~Flood() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
  }
  std::uint64_t sent() const { return sent_; }

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

// Carries a client's datagrams to the server and none of the server's back: the server decrypts
// the client's Initials and keeps a handshake in flight that the client can never finish.
class OneWayRelay {
 public:
  OneWayRelay(int listen_port, int server_port) {
    down_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    up_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(listen_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (down_ < 0 || up_ < 0 || bind(down_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("relay: udp bind failed");
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(server_port));
    server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    thread_ = std::thread([this] {
      std::vector<unsigned char> buf(65536);
      pollfd fds[2] = {{down_, POLLIN, 0}, {up_, POLLIN, 0}};
      while (!stop_) {
        if (poll(fds, 2, 50) <= 0) continue;
        if (fds[0].revents & POLLIN) {
          ssize_t n = recv(down_, buf.data(), buf.size(), 0);
          if (n > 0) {
            sendto(up_, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&server_),
                   sizeof server_);
            ++forwarded_;
          }
        }
        if (fds[1].revents & POLLIN) recv(up_, buf.data(), buf.size(), 0);  // the server's answer: dropped
      }
    });
  }
  ~OneWayRelay() {
    stop_ = true;
    thread_.join();
    close(down_);
    close(up_);
  }
  OneWayRelay(const OneWayRelay&) = delete;
  OneWayRelay& operator=(const OneWayRelay&) = delete;
  std::uint64_t forwarded() const { return forwarded_; }

 private:
  int down_ = -1, up_ = -1;
  sockaddr_in server_{};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> forwarded_{0};
  std::thread thread_;
};

std::unique_ptr<Process> client_process(const TempDir& dir, int listen_port, int server_port, int backend_port,
                                        const std::string& log) {
  return std::make_unique<Process>(
      std::vector<std::string>{bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(listen_port),
                               "--server-endpoint", "127.0.0.1:" + std::to_string(server_port),
                               "--insecure-skip-verify", "--token-source",
                               "tcp:127.0.0.1:" + std::to_string(backend_port), "--plugin-dir", plugin_dir(),
                               "--connect-timeout-ms", "1500"},
      dir.file(log));
}

double metric(int api_port, const std::string& pattern) {
  const std::string metrics = send_and_read(connect_tcp(api_port), "GET /metrics HTTP/1.0\r\n\r\n", 10s);
  std::smatch m;
  if (!std::regex_search(metrics, m, std::regex(pattern))) return -1;
  return std::stod(m[1]);
}

}  // namespace

TEST(Flood, ForgedInitialsGetRetryAndARealClientStillConnects) {
  TempDir dir;
  const int backend_port = free_tcp_port(), server_port = free_udp_port(), client_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  const int api_port = free_tcp_port();
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port), "--plugin-dir",
                  plugin_dir(), "--httpd-listen-on", "127.0.0.1:" + std::to_string(api_port)},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  const std::size_t startup_lines = lines(server.log());
  const auto start = std::chrono::steady_clock::now();
  std::string echoed;
  std::chrono::steady_clock::duration connect_took{};
  std::uint64_t forged = 0;
  {
    Flood flood(server_port, 100, 5000);
    std::this_thread::sleep_for(1s);  // the flood is on before the real client comes
    Process client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(client_port),
                    "--server-endpoint", "127.0.0.1:" + std::to_string(server_port), "--insecure-skip-verify",
                    "--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--plugin-dir", plugin_dir(),
                    "--log-level", "debug"},
                   dir.file("client.log"));
    ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();
    const auto t0 = std::chrono::steady_clock::now();
    const std::string data = random_bytes(1 << 20, 5);
    echoed = send_and_read(connect_tcp(client_port), data, 20s);
    connect_took = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(echoed == data) << client.log();
    EXPECT_TRUE(client.wait_for_log("Retry", 1s)) << "the real client too was asked to prove its address\n" << client.log();
    std::this_thread::sleep_for(1s);
    forged = flood.sent();
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(1200ms);  // the last summary line
  const std::string slog = server.log();
  EXPECT_GT(forged, 5000u);
  EXPECT_GE(count(slog, "Retry sent"), 1u) << slog;
  // The operator sees the same in /metrics.
  const int api = connect_tcp(api_port);
  ASSERT_GE(api, 0);
  const std::string metrics = send_and_read(api, "GET /metrics HTTP/1.0\r\n\r\n", 10s);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m, std::regex("\nquictun_quic_retries_sent_total ([0-9.e+]+)\n"))) << metrics;
  EXPECT_GT(std::stod(m[1]), 1000.0) << metrics;
  EXPECT_EQ(count(slog, "new QUIC connection"), 0u) << "not logged at info";
  // A summary a second (plus the first event's own line and the real client's two), not a
  // line per forged packet.
  const std::size_t flood_lines = lines(slog) - startup_lines;
  EXPECT_LE(flood_lines, static_cast<std::size_t>(2 * seconds + 4)) << slog;
  std::cout << forged << " forged Initials in " << seconds << " s: " << flood_lines
            << " server log lines; real client's 1 MiB echo took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(connect_took).count() << " ms\n";
}

// max_handshakes through the real programs: two clients whose handshakes can never finish (their
// relays carry nothing back) fill a server allowing two in flight, so a third client's Initials
// are dropped with the reason logged and counted, while a tunnel opened before keeps carrying
// data. Once the stuck handshakes time out, the third client connects.
TEST(Flood, MaxHandshakesDropsInitialsUntilTheStuckOnesTimeOut) {
  TempDir dir;
  const int backend_port = free_tcp_port(), server_port = free_udp_port(), api_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  // Retry off: a Retry would go unanswered too, and no handshake would ever be in flight.
  std::ofstream(dir.file("server.toml")) << "[server]\nmax_handshakes = 2\nretry = \"never\"\n"
                                         << "[quic]\nhandshake_timeout_ms = 5000\n";
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port), "--plugin-dir",
                  plugin_dir(), "--config", dir.file("server.toml"), "--httpd-listen-on",
                  "127.0.0.1:" + std::to_string(api_port)},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  const std::string refused_metric = "quictun_quic_connections_refused_total\\{limit=\"max_handshakes\"\\} ([0-9.e+]+)";
  EXPECT_EQ(metric(api_port, refused_metric), 0.0);

  // A tunnel opened first, and held.
  const int open_port = free_tcp_port();
  auto open_client = client_process(dir, open_port, server_port, backend_port, "open.log");
  ASSERT_TRUE(open_client->wait_for_log("listening on")) << open_client->log();
  const int held = connect_tcp(open_port);
  ASSERT_GE(held, 0);
  set_timeout(held, 10s);
  char c = 'a';
  ASSERT_EQ(send(held, &c, 1, 0), 1);
  ASSERT_EQ(recv(held, &c, 1, 0), 1) << open_client->log();

  // Two handshakes that never finish.
  std::vector<std::unique_ptr<OneWayRelay>> relays;
  std::vector<std::unique_ptr<Process>> stuck;
  std::vector<int> stuck_fds;
  for (int i = 0; i < 2; ++i) {
    const int relay_port = free_udp_port(), listen_port = free_tcp_port();
    relays.push_back(std::make_unique<OneWayRelay>(relay_port, server_port));
    stuck.push_back(client_process(dir, listen_port, relay_port, backend_port, "stuck" + std::to_string(i) + ".log"));
    ASSERT_TRUE(stuck.back()->wait_for_log("listening on")) << stuck.back()->log();
    stuck_fds.push_back(connect_tcp(listen_port));  // the client connects on demand
    ASSERT_GE(stuck_fds.back(), 0);
  }
  for (auto& r : relays)
    for (int i = 0; i < 100 && r->forwarded() == 0; ++i) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(200ms);

  // A real client now: its Initials are dropped, and the server says why.
  const int late_port = free_tcp_port();
  auto late_client = client_process(dir, late_port, server_port, backend_port, "late.log");
  ASSERT_TRUE(late_client->wait_for_log("listening on")) << late_client->log();
  const auto refused_at = std::chrono::steady_clock::now();
  EXPECT_EQ(send_and_read(connect_tcp(late_port), "refused?", 10s), "") << late_client->log();
  EXPECT_TRUE(server.wait_for_log("Initial dropped: max_handshakes (2) in flight", 2s)) << server.log();
  EXPECT_GE(metric(api_port, refused_metric), 1.0);

  // The tunnel opened before is not disturbed.
  const std::string data = random_bytes(4 << 20, 11);
  EXPECT_EQ(sha256(send_and_read(held, data)), sha256(data)) << open_client->log();

  // The stuck clients go away; their handshakes time out on the server (5 s from their start)
  // and the late client gets in.
  for (int fd : stuck_fds) close(fd);
  stuck.clear();
  relays.clear();
  bool connected = false;
  const std::string late_data = random_bytes(1 << 20, 12);
  while (!connected && std::chrono::steady_clock::now() - refused_at < 15s)
    connected = sha256(send_and_read(connect_tcp(late_port), late_data, 10s)) == sha256(late_data);
  EXPECT_TRUE(connected) << late_client->log() << server.log();
}

TEST(Flood, UndecryptableInitialsKeepNoConnectionAndFewLogLines) {
  TempDir dir;
  const int server_port = free_udp_port();
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port), "--plugin-dir",
                  plugin_dir(), "--retry", "never"},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  const std::size_t startup_lines = lines(server.log());
  const auto start = std::chrono::steady_clock::now();
  {
    Flood flood(server_port, 300, 10000);
    std::this_thread::sleep_for(3s);
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(1200ms);
  const std::string slog = server.log();
  EXPECT_GE(count(slog, "undecryptable Initial dropped"), 2u) << slog;
  EXPECT_EQ(count(slog, "Retry sent"), 0u) << slog;
  EXPECT_LE(lines(slog) - startup_lines, static_cast<std::size_t>(seconds + 3)) << slog;
}

namespace {
// Two clients from 127.0.0.1 against a server allowing one connection (by `limit`): the first
// holds a tunnel open, the second is refused with a reason the server and the client log.
void second_client_is_refused(const std::string& limit, const std::string& server_says, const std::string& client_says) {
  TempDir dir;
  const int backend_port = free_tcp_port(), server_port = free_udp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  std::ofstream(dir.file("server.toml")) << "[server]\n" << limit << " = 1\n";
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port), "--plugin-dir",
                  plugin_dir(), "--config", dir.file("server.toml")},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  std::vector<std::unique_ptr<Process>> clients;
  std::vector<int> ports;
  for (int i = 0; i < 2; ++i) {
    ports.push_back(free_tcp_port());
    clients.push_back(std::make_unique<Process>(
        std::vector<std::string>{bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(ports[i]),
                                 "--server-endpoint", "127.0.0.1:" + std::to_string(server_port),
                                 "--insecure-skip-verify", "--token-source",
                                 "tcp:127.0.0.1:" + std::to_string(backend_port), "--plugin-dir", plugin_dir(),
                                 "--connect-timeout-ms", "2000"},
        dir.file("client" + std::to_string(i) + ".log")));
    ASSERT_TRUE(clients[i]->wait_for_log("listening on")) << clients[i]->log();
  }
  // The first client holds its connection open with a tunnel.
  int held = connect_tcp(ports[0]);
  ASSERT_TRUE(write_all(held, "x", 1));
  char c = 0;
  ASSERT_EQ(recv(held, &c, 1, 0), 1) << clients[0]->log();
  // The second, from the same address, is refused, and both sides say why.
  EXPECT_EQ(send_and_read(connect_tcp(ports[1]), "refused?", 10s), "");
  EXPECT_TRUE(server.wait_for_log(server_says, 2s)) << server.log();
  EXPECT_TRUE(clients[1]->wait_for_log(client_says, 2s)) << clients[1]->log();
  // What is open is not disturbed.
  ASSERT_TRUE(write_all(held, "y", 1));
  ASSERT_EQ(recv(held, &c, 1, 0), 1) << clients[0]->log();
  EXPECT_EQ(c, 'y');
  close(held);
}
}  // namespace

TEST(Flood, MaxConnectionsPerSourceRefusesWithAReason) {
  second_client_is_refused("max_connections_per_source", "connection refused: max_connections_per_source (1) reached",
                           "too many connections from this address");
}

TEST(Flood, MaxConnectionsRefusesWithAReason) {
  second_client_is_refused("max_connections", "connection refused: max_connections (1) reached",
                           "server at its connection limit");
}

TEST(Flood, BadAdmissionSettingsAreRefusedByName) {
  auto [code, out] = run({bin_path("quictun-server"), "--retry", "sometimes", "--plugin-dir", plugin_dir()});
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--retry: unknown retry mode \"sometimes\" (use auto, always or never)"), std::string::npos) << out;
  TempDir dir;
  std::ofstream(dir.file("q.toml")) << "[server]\nmax_connections = 0\n";
  auto [code2, out2] = run({bin_path("quictun-server"), "--config", dir.file("q.toml"), "--plugin-dir", plugin_dir()});
  EXPECT_NE(code2, 0);
  EXPECT_NE(out2.find("q.toml:2"), std::string::npos) << out2;
  EXPECT_NE(out2.find("max_connections"), std::string::npos) << out2;
}

// Short-header packets for connection IDs the server does not know get stateless resets, each
// smaller than its trigger (no amplification, no reset loops), and no more than reset_rate a
// second (plus a second's burst), however many arrive.
TEST(Flood, StatelessResetsAreSmallerThanTheirTriggerAndRateLimited) {
  TempDir dir;
  const int server_port = free_udp_port();
  std::ofstream(dir.file("server.toml")) << "[server]\nreset_rate = 50\n";
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port), "--plugin-dir",
                  plugin_dir(), "--config", dir.file("server.toml")},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(server_port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  std::mt19937_64 rng(3);
  const std::size_t trigger = 60;
  for (int i = 0; i < 2000; ++i) {
    std::vector<unsigned char> p(trigger);
    for (auto& b : p) b = static_cast<unsigned char>(rng());
    p[0] = static_cast<unsigned char>(0x40 | (p[0] & 0x3f));  // short header
    send(fd, p.data(), p.size(), 0);
  }
  set_timeout(fd, 1500ms);
  std::size_t resets = 0;
  unsigned char buf[2048];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    ++resets;
    EXPECT_LT(static_cast<std::size_t>(n), trigger);
    EXPECT_EQ(buf[0] & 0xc0, 0x40) << "a reset looks like a short-header packet";
  }
  close(fd);
  EXPECT_GE(resets, 10u);
  EXPECT_LE(resets, 50u + 50u) << "reset_rate 50 with a burst of one second";
  EXPECT_TRUE(server.wait_for_log("stateless reset sent", 2s)) << server.log();
}
