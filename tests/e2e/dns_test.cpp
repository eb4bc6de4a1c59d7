// The client looks the server's name up without blocking its loop, through the nameservers it
// is told about, and afresh on every reconnect. A small DNS server in the test answers for a
// made-up name, as slowly and with whatever address the test likes.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "harness.hpp"

using namespace quictun::test;

namespace {

// Answers A queries for one name on 127.0.0.1:<port>, each after `delay`; AAAA queries for it
// get an empty answer, anything else NXDOMAIN. Counts the A queries it has seen and answered.
class TinyDns {
 public:
  TinyDns(std::string name, std::string ipv4) : name_(std::move(name)), ipv4_(std::move(ipv4)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("TinyDns: cannot bind");
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyDns() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_address(const std::string& ipv4) { std::lock_guard lock(mu_); ipv4_ = ipv4; }
  void set_delay(std::chrono::milliseconds d) { std::lock_guard lock(mu_); delay_ = d; }
  int a_queries() const { return a_queries_; }
  int a_answers() const { return a_answers_; }

 private:
  struct Pending {
    std::chrono::steady_clock::time_point due;
    std::string reply;
    sockaddr_in to;
    bool is_a;
  };

  void run() {
    std::deque<Pending> queue;  // one delay for all, so due times only grow
    while (!stop_) {
      int wait = 50;
      auto now = std::chrono::steady_clock::now();
      while (!queue.empty() && queue.front().due <= now) {
        const Pending& p = queue.front();
        sendto(fd_, p.reply.data(), p.reply.size(), 0, reinterpret_cast<const sockaddr*>(&p.to), sizeof p.to);
        if (p.is_a) ++a_answers_;
        queue.pop_front();
      }
      if (!queue.empty())
        wait = std::min<int>(wait, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         queue.front().due - now).count()) + 1);
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, wait) <= 0) continue;
      char buf[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      bool is_a = false;
      std::string reply = answer(std::string(buf, static_cast<std::size_t>(n)), is_a);
      if (reply.empty()) continue;
      if (is_a) ++a_queries_;
      std::lock_guard lock(mu_);
      queue.push_back({std::chrono::steady_clock::now() + delay_, reply, from, is_a});
    }
  }

  // The reply to one query, or "" for something that is not one.
  std::string answer(const std::string& q, bool& is_a) {
    std::size_t pos = 12;
    std::string qname;
    while (pos < q.size() && q[pos] != 0) {
      std::size_t label = static_cast<unsigned char>(q[pos]);
      if (pos + 1 + label > q.size()) return "";
      if (!qname.empty()) qname += '.';
      for (std::size_t i = 0; i < label; ++i) qname += static_cast<char>(std::tolower(static_cast<unsigned char>(q[pos + 1 + i])));
      pos += 1 + label;
    }
    if (pos + 5 > q.size()) return "";
    std::uint16_t qtype = static_cast<std::uint16_t>((static_cast<unsigned char>(q[pos + 1]) << 8) |
                                                     static_cast<unsigned char>(q[pos + 2]));
    std::string question = q.substr(12, pos + 5 - 12);  // verbatim: evdns checks the 0x20 case mix
    bool ours = qname == name_;
    is_a = ours && qtype == 1;
    std::string r = q.substr(0, 2);       // ID
    r += '\x81';                          // QR, RD
    r += ours ? '\x80' : '\x83';          // RA; NXDOMAIN for other names
    r += std::string("\x00\x01", 2);      // QDCOUNT
    r += std::string(is_a ? "\x00\x01" : "\x00\x00", 2);
    r += std::string(4, '\0');            // NSCOUNT, ARCOUNT
    r += question;
    if (is_a) {
      in_addr ip{};
      {
        std::lock_guard lock(mu_);
        inet_pton(AF_INET, ipv4_.c_str(), &ip);
      }
      r += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04", 12);  // name, A, IN, TTL 0, 4 bytes
      r += std::string(reinterpret_cast<const char*>(&ip), 4);
    }
    return r;
  }

  std::string name_;
  std::mutex mu_;
  std::string ipv4_;
  std::chrono::milliseconds delay_{0};
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> a_queries_{0};
  std::atomic<int> a_answers_{0};
  std::thread thread_;
};

std::unique_ptr<Process> start_server(const TempDir& dir, const std::string& listen, const std::string& log) {
  auto p = std::make_unique<Process>(std::vector<std::string>{bin_path("quictun-server"), "--listen-on", listen,
                                                              "--plugin-dir", plugin_dir(), "--log-level", "debug"},
                                     dir.file(log));
  if (!p->wait_for_log("listening on UDP")) throw std::runtime_error("quictun-server did not start:\n" + p->log());
  return p;
}

std::unique_ptr<Process> start_client(const TempDir& dir, int listen_port, const std::string& endpoint,
                                      const std::string& nameserver, int backend_port,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(listen_port),
                                   "--server-endpoint", endpoint, "--nameserver", nameserver, "--token-source",
                                   "tcp:127.0.0.1:" + std::to_string(backend_port), "--insecure-skip-verify",
                                   "--plugin-dir", plugin_dir(), "--log-level", "debug"};
  for (auto& e : extra) args.push_back(std::move(e));
  auto p = std::make_unique<Process>(args, dir.file("client.log"));
  if (!p->wait_for_log("listening on")) throw std::runtime_error("quictun-client did not start:\n" + p->log());
  return p;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

}  // namespace

TEST(Dns, SlowResolverDoesNotFreezeTheClient) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int udp_port = free_udp_port();
  auto server = start_server(dir, "127.0.0.1:" + std::to_string(udp_port), "server.log");
  TinyDns dns("tunnel.test", "127.0.0.1");
  constexpr auto kDelay = 3000ms;
  dns.set_delay(kDelay);
  int client_port = free_tcp_port();
  auto client = start_client(dir, client_port, "tunnel.test:" + std::to_string(udp_port), dns.address(),
                             backend_port, {"--connect-timeout-ms", "1000"});

  // The first application connection makes the client look the server up: the answer is 3 s away.
  int first = connect_tcp(client_port);
  ASSERT_GE(first, 0);
  ASSERT_TRUE(wait_until([&] { return dns.a_queries() > 0; }, 2s)) << client->log();
  auto asked = std::chrono::steady_clock::now();

  // Meanwhile the loop goes on: a second connection is accepted (the client logs it) ...
  int second = connect_tcp(client_port);
  ASSERT_GE(second, 0);
  EXPECT_TRUE(client->wait_for_log("tunnel 2: accepted", 1s)) << client->log();
  // ... and the first one's connect timeout fires on time, while the lookup is still pending.
  bool eof = false;
  set_timeout(first, 10s);
  std::string got = read_all(first, 10s, &eof);
  auto closed_after = std::chrono::steady_clock::now() - asked;
  close(first);
  EXPECT_TRUE(eof);
  EXPECT_LT(closed_after, kDelay - 500ms) << "the connect timeout waited for the resolver";
  EXPECT_EQ(dns.a_answers(), 0) << "the test is void: the lookup ended before the timeout fired";
  close(second);

  // The late answer is used: the client connects to the address it brought.
  ASSERT_TRUE(client->wait_for_log("connected to server 127.0.0.1:" + std::to_string(udp_port), 10s)) << client->log();
  dns.set_delay(0ms);
  EXPECT_EQ(send_and_read(connect_tcp(client_port), "after a slow lookup", 10s), "after a slow lookup") << client->log();
}

TEST(Dns, ReconnectLooksTheNameUpAgainAndFindsAMovedServer) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int udp_port = free_udp_port();
  const std::string port = std::to_string(udp_port);
  auto server = start_server(dir, "127.0.0.1:" + port, "server-old.log");
  TinyDns dns("tunnel.test", "127.0.0.1");
  int client_port = free_tcp_port();
  auto client = start_client(dir, client_port, "tunnel.test:" + port, dns.address(), backend_port);

  EXPECT_EQ(send_and_read(connect_tcp(client_port), "to the old address", 10s), "to the old address") << client->log();
  EXPECT_TRUE(client->wait_for_log("connected to server 127.0.0.1:" + port, 1s)) << client->log();

  // The server moves: it stops here, comes back on another address, and DNS says so.
  server.reset();
  ASSERT_TRUE(client->wait_for_log("connection to server tunnel.test:" + port + " closed", 10s)) << client->log();
  dns.set_address("127.0.0.2");
  auto moved = start_server(dir, "127.0.0.2:" + port, "server-new.log");
  int before = dns.a_queries();

  EXPECT_EQ(send_and_read(connect_tcp(client_port), "to the new address", 15s), "to the new address") << client->log();
  EXPECT_TRUE(client->wait_for_log("connected to server 127.0.0.2:" + port, 1s)) << client->log();
  EXPECT_GT(dns.a_queries(), before) << "the reconnect did not ask DNS again";
  EXPECT_TRUE(moved->wait_for_log("connected", 1s)) << moved->log();
}

TEST(Dns, BadNameserverIsAUsageErrorNamingIt) {
  auto [code, out] = run({bin_path("quictun-client"), "--server-endpoint", "tunnel.test:7500", "--nameserver",
                          "dns.example:53", "--token-source", "tcp:127.0.0.1:1", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--nameserver: nameserver \"dns.example:53\" is not IP, IP:PORT or [IPv6]:PORT"),
            std::string::npos)
      << out;
  TempDir dir;
  std::string conf = dir.file("quictun.toml");
  FILE* f = fopen(conf.c_str(), "w");
  fputs("[client]\nserver_endpoint = \"tunnel.test:7500\"\nnameservers = [\"127.0.0.1:5353\", \"1.2.3\"]\n", f);
  fclose(f);
  auto [code2, out2] = run({bin_path("quictun-client"), "--config", conf, "--token-source", "tcp:127.0.0.1:1",
                            "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find("quictun.toml:3: nameserver \"1.2.3\" is not IP"), std::string::npos) << out2;
}
