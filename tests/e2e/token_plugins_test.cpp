// The token plugins through the real programs: token source and token parser "file" (tables
// re-read when they change), token source "http-header" (HTTP errors instead of silent closes),
// token source "http" (quic-tun's token server protocol), and several listeners in one client,
// each with its own token source. Every reply byte is checked, every refusal's message too.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>

#include "harness.hpp"

using namespace quictun::test;
namespace fs = std::filesystem;

namespace {

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }

// An editor's save: the file is truncated and rewritten in place (same inode, new mtime).
void write_in_place(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A config manager's save: the new version is written beside the file and renamed over it, so
// a reader sees either the old or the new table, never a half-written one.
void replace_file(const std::string& path, const std::string& text) {
  write_in_place(path + ".new", text);
  fs::rename(path + ".new", path);
}

// A log position: what a process says after now, so that a second "reloaded" line is not
// mistaken for the first.
class LogMark {
 public:
  explicit LogMark(Process& process) : process_(process), offset_(process.log().size()) {}
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = 15s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (since().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string since() const {
    std::string log = process_.log();
    return log.size() > offset_ ? log.substr(offset_) : std::string();
  }

 private:
  Process& process_;
  std::size_t offset_;
};

// A TCP connection to 127.0.0.1:port from the source address `from` (any of 127.0.0.0/8 works
// on loopback), so that a token source keyed by client address sees different clients.
int connect_from(int port, const std::string& from) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &source.sin_addr);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `data`, half-closes, and reads until the tunnel ends the connection.
std::string roundtrip_from(int port, const std::string& from, const std::string& data) {
  return send_and_read(connect_from(port, from), data, 30s);
}

std::string roundtrip(int port, const std::string& data) { return roundtrip_from(port, "127.0.0.1", data); }

// What an application sees when the tunnel refuses it: it sends nothing (so that the close is
// an orderly FIN, not a reset for unread bytes) and must get an end of stream with no data.
struct Closed {
  std::string got;
  bool eof = false;
  std::chrono::milliseconds took{0};
};
Closed refused_from(int port, const std::string& from = "127.0.0.1") {
  Closed c;
  int fd = connect_from(port, from);
  if (fd < 0) {
    c.got = "<connect failed>";
    return c;
  }
  auto start = std::chrono::steady_clock::now();
  c.got = read_all(fd, 30s, &c.eof);
  c.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  close(fd);
  return c;
}

// A backend that names itself before echoing, so that a reply shows which backend was reached:
// "A|" + everything it received.
std::function<void(int)> named_echo(const std::string& name) {
  return [name](int fd) {
    std::string tag = name + "|";
    if (!write_all(fd, tag.data(), tag.size())) return;
    echo_handler(fd);
  };
}

// Reads until the end of an HTTP head ("\r\n\r\n"), EOF or timeout; returns all bytes read.
std::string read_head(int fd, std::chrono::milliseconds timeout = 20s) {
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.find("\r\n\r\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string http_response(int status, const std::string& phrase, const std::string& body,
                          const std::string& content_type = "text/plain") {
  return "HTTP/1.1 " + std::to_string(status) + " " + phrase + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// The complete response token source "http-header" gives the application when it refuses.
std::string quictun_http_error(int status, const std::string& phrase, const std::string& message) {
  return http_response(status, phrase, "quictun: " + message + "\n", "text/plain; charset=utf-8");
}

// A one-request-per-connection HTTP/1.1 server for Backend: records each request exactly as
// received and answers with whatever `respond` makes of it.
struct HttpResponder {
  explicit HttpResponder(std::function<std::string(const std::string&)> respond) : respond_(std::move(respond)) {}
  void handle(int fd) {
    std::string request = read_head(fd);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }
    std::string reply = respond_(request);
    write_all(fd, reply.data(), reply.size());
    shutdown(fd, SHUT_WR);
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  std::function<std::string(const std::string&)> respond_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// "GET /x?a=b HTTP/1.1\r\n..." -> "/x?a=b", percent-escapes decoded.
std::string request_target(const std::string& request) {
  auto first = request.find(' ');
  auto second = request.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos) return "<no request line>";
  std::string raw = request.substr(first + 1, second - first - 1), out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// An HTTP exchange through the tunnel as a browser would do it: the request, then the whole
// response up to the close. The application never half-closes; the server's close ends it.
std::string http_exchange(int port, const std::string& request, bool* eof) {
  int fd = connect_tcp(port);
  if (fd < 0) return "<connect failed>";
  write_all(fd, request.data(), request.size());
  std::string got = read_all(fd, 30s, eof);
  close(fd);
  return got;
}

// A quictun-client besides the Tunnel's own, on the same server.
std::unique_ptr<Process> extra_client(const TempDir& dir, const Tunnel& tunnel, int port,
                                      const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {bin_path("quictun-client"), "--listen-on", tcp(port), "--server-endpoint",
                                   "127.0.0.1:" + std::to_string(tunnel.udp_port()), "--plugin-dir", plugin_dir(),
                                   "--insecure-skip-verify", "--log-level", "debug"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto client = std::make_unique<Process>(argv, dir.file(log));
  if (!client->wait_for_log("listening on")) throw std::runtime_error("quictun-client did not start:\n" + client->log());
  return client;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Token source "file": the token by the client's address.

TEST(TokenPlugins, FileSourceRoutesByClientAddressAndFollowsEdits) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port(), port_c = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  Backend c(listen_tcp(port_c), named_echo("C"));
  std::string table = dir.file("clients.map");
  write_in_place(table,
                 "# client address or CIDR    token\n"
                 "127.0.0.1        " + tcp(port_a) + "\n"
                 "127.0.0.0/8\t" + tcp(port_b) + "   # the rest of loopback\n"
                 "\n"
                 "*                " + tcp(port_c) + "\n");
  Tunnel tunnel(dir, {{}, {"--token-source-plugin", "file", "--token-source", table}, {}});
  int app = tunnel.client_port();

  // Longest prefix wins: 127.0.0.1 has its own line, 127.0.0.2 falls to the /8.
  EXPECT_EQ(roundtrip_from(app, "127.0.0.1", "one"), "A|one") << tunnel.client().log();
  EXPECT_EQ(roundtrip_from(app, "127.0.0.2", "two"), "B|two") << tunnel.client().log();

  // Edited while the client runs: the next connections follow the new table, no restart.
  {
    LogMark mark(tunnel.client());
    write_in_place(table, "127.0.0.1 " + tcp(port_b) + "\n* " + tcp(port_c) + "\n");
    ASSERT_TRUE(mark.wait_for("reloaded " + table + " (2 entries)")) << tunnel.client().log();
  }
  EXPECT_EQ(roundtrip_from(app, "127.0.0.1", "three"), "B|three");
  EXPECT_EQ(roundtrip_from(app, "127.0.0.2", "four"), "C|four") << "no line but '*' matches 127.0.0.2 now";
  EXPECT_TRUE(tunnel.client().running());

  // A malformed version is reported as file:line and changes nothing.
  {
    LogMark mark(tunnel.client());
    replace_file(table, "127.0.0.1 " + tcp(port_a) + "\n127.0.0.2/8 " + tcp(port_a) + "\n* " + tcp(port_a) + "\n");
    ASSERT_TRUE(mark.wait_for(table + ":2: \"127.0.0.2/8\" has host bits set (did you mean 127.0.0.0/8?); "
                                      "keeping the table loaded before"))
        << tunnel.client().log();
    EXPECT_EQ(mark.since().find("reloaded " + table), std::string::npos) << mark.since();
  }
  EXPECT_EQ(roundtrip_from(app, "127.0.0.1", "five"), "B|five") << "the last good table stays in force";
  EXPECT_EQ(roundtrip_from(app, "127.0.0.2", "six"), "C|six");

  // No line matches and there is no '*': the connection is refused, with the reason logged.
  {
    LogMark mark(tunnel.client());
    replace_file(table, "10.0.0.0/8 " + tcp(port_a) + "\n");
    ASSERT_TRUE(mark.wait_for("reloaded " + table + " (1 entries)")) << tunnel.client().log();
  }
  int accepted_before = a.accepted() + b.accepted() + c.accepted();
  LogMark mark(tunnel.client());
  Closed refused = refused_from(app);
  EXPECT_EQ(refused.got, "");
  EXPECT_TRUE(refused.eof) << "the application connection must be closed, not reset or left open";
  EXPECT_LT(refused.took, 5s);
  EXPECT_TRUE(mark.wait_for("refused by token source: no line of " + table + " matches client 127.0.0.1", 5s))
      << tunnel.client().log();
  EXPECT_EQ(a.accepted() + b.accepted() + c.accepted(), accepted_before) << "no backend may be reached";
  EXPECT_TRUE(tunnel.client().running());
  EXPECT_EQ(a.accepted(), 1);
  EXPECT_EQ(b.accepted(), 3);
  EXPECT_EQ(c.accepted(), 2);
}

TEST(TokenPlugins, FileSourceSendsUnixSocketClientsToTheDefaultLine) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  std::string table = dir.file("clients.map");
  write_in_place(table, "127.0.0.1 " + tcp(port_a) + "\n* " + tcp(port_b) + "\n");
  std::string socket_path = dir.file("app.sock");
  Tunnel tunnel(dir, {{}, {"--token-source-plugin", "file", "--token-source", table}, "unix:" + socket_path});

  int fd = connect_unix(socket_path);
  ASSERT_GE(fd, 0);
  write_all(fd, "local", 5);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_all(fd, 30s), "B|local") << "a UNIX-socket client has no address: only '*' matches it";
  close(fd);

  {
    LogMark mark(tunnel.client());
    replace_file(table, "127.0.0.1 " + tcp(port_a) + "\n");
    ASSERT_TRUE(mark.wait_for("reloaded " + table + " (1 entries)")) << tunnel.client().log();
  }
  fd = connect_unix(socket_path);
  ASSERT_GE(fd, 0);
  bool eof = false;
  EXPECT_EQ(read_all(fd, 30s, &eof), "");
  EXPECT_TRUE(eof);
  close(fd);
  EXPECT_TRUE(tunnel.client().wait_for_log("refused by token source: no line of " + table +
                                               " matches UNIX-socket client on unix:" + socket_path +
                                               " (only a '*' line matches those)",
                                           5s))
      << tunnel.client().log();
  EXPECT_EQ(a.accepted(), 0);
  EXPECT_EQ(b.accepted(), 1);
}

TEST(TokenPlugins, FileSourceMatchesIpv6Clients) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  std::string table = dir.file("clients.map");
  write_in_place(table, "127.0.0.1 " + tcp(port_b) + "\n::1/128 " + tcp(port_a) + "\n::/0 " + tcp(port_b) + "\n");
  int app = free_tcp_port();
  Tunnel tunnel(dir, {{}, {"--token-source-plugin", "file", "--token-source", table}, "tcp:[::1]:" + std::to_string(app)});

  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 target{};
  target.sin6_family = AF_INET6;
  target.sin6_port = htons(static_cast<uint16_t>(app));
  target.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target), 0) << std::strerror(errno);
  write_all(fd, "six", 3);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_all(fd, 30s), "A|six") << tunnel.client().log();
  close(fd);
  EXPECT_EQ(b.accepted(), 0);
}

TEST(TokenPlugins, FileSourceMalformedAtStartupNamesFileAndLine) {
  TempDir dir;
  std::string table = dir.file("clients.map");
  write_in_place(table, "127.0.0.1 tcp:127.0.0.1:22\n# a comment\n999.1.2.3 tcp:127.0.0.1:23\n");
  auto [code, out] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--token-source-plugin", "file",
                          "--token-source", table, "--insecure-skip-verify", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(table + ":3: \"999.1.2.3\" is neither an IPv4 nor an IPv6 address"), std::string::npos) << out;

  write_in_place(table, "* tcp:127.0.0.1:22\n* tcp:127.0.0.1:23\n");
  auto [code2, out2] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--token-source-plugin",
                            "file", "--token-source", table, "--insecure-skip-verify", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find(table + ":2: second '*' line (the first is at line 1)"), std::string::npos) << out2;

  auto [code3, out3] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--token-source-plugin",
                            "file", "--token-source", dir.file("missing.map"), "--insecure-skip-verify", "--plugin-dir",
                            plugin_dir()});
  EXPECT_EQ(code3, 2) << out3;
  EXPECT_NE(out3.find("cannot read " + dir.file("missing.map") + ": No such file or directory"), std::string::npos)
      << out3;
}

// ---------------------------------------------------------------------------------------------
// Token parser "file": the server's allowlist of tokens.

TEST(TokenPlugins, FileParserAllowsListedTokensRefusesOthersAndReloads) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  std::string map = dir.file("backends.map");
  write_in_place(map, "# token   backend\nalpha     " + tcp(port_a) + "\n");
  Tunnel tunnel(dir, {{"--token-parser-plugin", "file", "--token-parser-key", map}, {"--token-source", "alpha"}, {}});
  int beta_port = free_tcp_port();
  auto beta = extra_client(dir, tunnel, beta_port, {"--token-source", "beta"}, "beta-client.log");

  EXPECT_EQ(roundtrip(tunnel.client_port(), "hello"), "A|hello") << tunnel.server().log();

  // "beta" is not listed: status 0x02, both sides say why, nothing reaches a backend.
  LogMark server_mark(tunnel.server());
  Closed refused = refused_from(beta_port);
  EXPECT_EQ(refused.got, "");
  EXPECT_TRUE(refused.eof);
  EXPECT_LT(refused.took, 5s);
  EXPECT_TRUE(beta->wait_for_log("server answered token refused (0x02) for token \"beta\"", 5s)) << beta->log();
  EXPECT_TRUE(server_mark.wait_for("token \"beta\" refused: token \"beta\" from 127.0.0.1:", 5s)) << tunnel.server().log();
  EXPECT_NE(server_mark.since().find(" is not listed in " + map), std::string::npos) << server_mark.since();
  EXPECT_EQ(a.accepted() + b.accepted(), 1);

  // The map is edited while the server runs: beta gets in, alpha moves.
  {
    LogMark mark(tunnel.server());
    replace_file(map, "alpha " + tcp(port_b) + "\nbeta  " + tcp(port_a) + "\n");
    ASSERT_TRUE(mark.wait_for("reloaded " + map + " (2 entries)")) << tunnel.server().log();
  }
  EXPECT_EQ(roundtrip(beta_port, "let me in"), "A|let me in") << beta->log();
  EXPECT_EQ(roundtrip(tunnel.client_port(), "moved"), "B|moved");

  // A malformed edit is refused with file:line; the table before it stays.
  {
    LogMark mark(tunnel.server());
    replace_file(map, "alpha " + tcp(port_a) + "\nbeta tcp:127.0.0.1\n");
    ASSERT_TRUE(mark.wait_for(map + ":2: backend \"tcp:127.0.0.1\" lacks a port (tcp:HOST:PORT); keeping the table "
                                    "loaded before"))
        << tunnel.server().log();
  }
  EXPECT_EQ(roundtrip(tunnel.client_port(), "still"), "B|still");
  EXPECT_EQ(roundtrip(beta_port, "still in"), "A|still in");
  EXPECT_TRUE(tunnel.server().running());
}

TEST(TokenPlugins, FileParserMalformedAtStartupNamesFileAndLine) {
  TempDir dir;
  std::string map = dir.file("backends.map");
  write_in_place(map, "ssh tcp:127.0.0.1:22\ndb  udp:127.0.0.1:5432\n");
  auto [code, out] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--token-parser-plugin", "file",
                          "--token-parser-key", map, "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(map + ":2: backend \"udp:127.0.0.1:5432\" has unknown network \"udp\" (expected tcp, tcp4, tcp6 or unix)"),
            std::string::npos)
      << out;

  write_in_place(map, "ssh tcp:127.0.0.1:22\n\nssh tcp:127.0.0.1:2222\n");
  auto [code2, out2] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--token-parser-plugin", "file",
                            "--token-parser-key", map, "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find(map + ":3: duplicate token \"ssh\" (first at line 1)"), std::string::npos) << out2;
}

// ---------------------------------------------------------------------------------------------
// Token source "http-header": HTTP/1.x applications name their backend in a header.

class TokenPluginsHttpHeader : public ::testing::Test {
 protected:
  void SetUp() override {
    map_ = dir_.file("backends.map");
    write_in_place(map_, "web  " + tcp(web_port_) + "\ndead " + tcp(dead_port_) + "\n");
  }
  Tunnel start(std::vector<std::string> client_args) {
    client_args.insert(client_args.begin(), {"--token-source-plugin", "http-header"});
    return Tunnel(dir_, {{"--token-parser-plugin", "file", "--token-parser-key", map_}, client_args, {}});
  }

  TempDir dir_;
  int web_port_ = free_tcp_port();
  int dead_port_ = free_tcp_port();  // nothing listens there
  std::string map_;
  HttpResponder web_{[](const std::string& request) {
    return http_response(200, "OK", "backend saw " + std::to_string(request.size()) + " bytes\n");
  }};
  Backend web_backend_{listen_tcp(web_port_), [this](int fd) { web_.handle(fd); }};
};

TEST_F(TokenPluginsHttpHeader, TokenHeaderReachesTheBackendUnchanged) {
  Tunnel tunnel = start({});
  const std::string request =
      "GET /index.html HTTP/1.1\r\n"
      "Host: app.example\r\n"
      "X-Quictun-Token: web\r\n"
      "Accept: */*\r\n"
      "\r\n";
  bool eof = false;
  std::string reply = http_exchange(tunnel.client_port(), request, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply, http_response(200, "OK", "backend saw " + std::to_string(request.size()) + " bytes\n"))
      << tunnel.client().log();
  auto seen = web_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], request) << "without strip_header the request is forwarded byte for byte";
}

TEST_F(TokenPluginsHttpHeader, StripHeaderRemovesExactlyTheTokenHeader) {
  std::string cfg = dir_.file("quictun.toml");
  write_in_place(cfg, "[token_source.http-header]\nstrip_header = true\n");
  Tunnel tunnel = start({"-c", cfg});
  const std::string request =
      "GET /private HTTP/1.1\r\n"
      "Host: app.example\r\n"
      "x-quictun-token: web\r\n"
      "X-Quictun-Token-Note: kept\r\n"
      "\r\n";
  const std::string forwarded =
      "GET /private HTTP/1.1\r\n"
      "Host: app.example\r\n"
      "X-Quictun-Token-Note: kept\r\n"
      "\r\n";
  bool eof = false;
  std::string reply = http_exchange(tunnel.client_port(), request, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply, http_response(200, "OK", "backend saw " + std::to_string(forwarded.size()) + " bytes\n"))
      << tunnel.client().log();
  auto seen = web_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], forwarded);
}

TEST_F(TokenPluginsHttpHeader, MissingHeaderGets400) {
  Tunnel tunnel = start({});
  bool eof = false;
  std::string reply = http_exchange(tunnel.client_port(), "GET / HTTP/1.1\r\nHost: app.example\r\n\r\n", &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply, quictun_http_error(400, "Bad Request", "missing X-Quictun-Token header"));
  EXPECT_TRUE(tunnel.client().wait_for_log("refused by token source: missing X-Quictun-Token header", 5s))
      << tunnel.client().log();
  EXPECT_EQ(web_backend_.accepted(), 0);

  // A head that is not HTTP at all is a 400 too.
  std::string garbage = http_exchange(tunnel.client_port(), "HELLO THERE\r\n\r\n", &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("quictun: malformed HTTP request head: "), std::string::npos) << garbage;
  EXPECT_EQ(web_backend_.accepted(), 0);
}

TEST_F(TokenPluginsHttpHeader, TokenTheServerRefusesGets502) {
  Tunnel tunnel = start({});
  bool eof = false;
  std::string reply =
      http_exchange(tunnel.client_port(), "GET / HTTP/1.1\r\nHost: app.example\r\nX-Quictun-Token: nope\r\n\r\n", &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply, quictun_http_error(502, "Bad Gateway", "the tunnel server refused this request's token"));
  EXPECT_TRUE(tunnel.client().wait_for_log("server answered token refused (0x02) for token \"nope\"", 5s))
      << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("token \"nope\" refused: token \"nope\" from 127.0.0.1:", 5s))
      << tunnel.server().log();
  EXPECT_EQ(web_backend_.accepted(), 0);
}

TEST_F(TokenPluginsHttpHeader, UnreachableBackendGets504) {
  Tunnel tunnel = start({});
  bool eof = false;
  std::string reply =
      http_exchange(tunnel.client_port(), "GET / HTTP/1.1\r\nHost: app.example\r\nX-Quictun-Token: dead\r\n\r\n", &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply, quictun_http_error(504, "Gateway Timeout", "the tunnel server could not reach the backend"));
  EXPECT_TRUE(tunnel.client().wait_for_log("server answered backend unreachable (0x03) for token \"dead\"", 5s))
      << tunnel.client().log();
  EXPECT_TRUE(tunnel.server().wait_for_log("backend " + tcp(dead_port_) + ": Connection refused", 5s))
      << tunnel.server().log();
}

// ---------------------------------------------------------------------------------------------
// Token source "http": quic-tun's token server, GET <url>?addr=<ip:port> -> {"token": "..."}.

TEST(TokenPlugins, HttpSourceAsksTheTokenServerPerConnection) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), named_echo("B"));
  std::atomic<int> mode{0};  // 0: a token, 1: 503, 2: not JSON, 3: JSON without a token
  HttpResponder token_server([&](const std::string&) {
    switch (mode.load()) {
      case 0: return http_response(200, "OK", "{\"token\": \"" + tcp(backend_port) + "\"}", "application/json");
      case 1: return http_response(503, "Service Unavailable", "try later");
      case 2: return http_response(200, "OK", "<html>not json</html>", "text/html");
      default: return http_response(200, "OK", "{\"backend\": \"x\"}", "application/json");
    }
  });
  int token_port = free_tcp_port();
  Backend token_backend(listen_tcp(token_port), [&](int fd) { token_server.handle(fd); });
  std::string url = "http://127.0.0.1:" + std::to_string(token_port) + "/token";
  Tunnel tunnel(dir, {{}, {"--token-source-plugin", "http", "--token-source", url}, {}});

  // The token server is asked with the application's own address and its answer is the backend.
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  write_all(fd, "via http", 8);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_all(fd, 30s), "B|via http") << tunnel.client().log();
  close(fd);
  auto asked = token_server.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].rfind("GET ", 0), 0u) << asked[0];
  EXPECT_EQ(request_target(asked[0]), "/token?addr=127.0.0.1:" + std::to_string(ntohs(local.sin_port))) << asked[0];

  // Every bad answer closes the connection and the client log says what was wrong.
  const std::pair<int, std::string> failures[] = {
      {1, "refused by token source: token server " + url + " answered 503 Service Unavailable (expected 200)"},
      {2, "refused by token source: token server " + url + ": response is not JSON"},
      {3, "refused by token source: token server " + url + ": response has no \"token\" field"},
  };
  for (const auto& [m, message] : failures) {
    mode = m;
    LogMark mark(tunnel.client());
    Closed refused = refused_from(tunnel.client_port());
    EXPECT_EQ(refused.got, "") << message;
    EXPECT_TRUE(refused.eof) << message;
    EXPECT_LT(refused.took, 10s) << message;
    EXPECT_TRUE(mark.wait_for(message, 5s)) << tunnel.client().log();
  }
  EXPECT_EQ(backend.accepted(), 1) << "no refused connection may reach the backend";
  EXPECT_EQ(token_server.requests().size(), 4u) << "no cache by default: one question per connection";

  // Once the token server answers again, so does the tunnel.
  mode = 0;
  EXPECT_EQ(roundtrip(tunnel.client_port(), "again"), "B|again") << "the source recovers with its server";
}

TEST(TokenPlugins, HttpSourceWithoutItsServerRefusesPromptly) {
  TempDir dir;
  int nobody = free_tcp_port();  // no token server listens there
  std::string url = "http://127.0.0.1:" + std::to_string(nobody) + "/token";
  Tunnel tunnel(dir, {{}, {"--token-source-plugin", "http", "--token-source", url}, {}});
  Closed refused = refused_from(tunnel.client_port());
  EXPECT_EQ(refused.got, "");
  EXPECT_TRUE(refused.eof);
  EXPECT_LT(refused.took, 5s) << "a refused TCP connect is known at once; the 5 s timeout must not be waited out";
  EXPECT_TRUE(tunnel.client().wait_for_log(
      "refused by token source: token server " + url + ": cannot connect (refused or unreachable)", 5s))
      << tunnel.client().log();
}

// ---------------------------------------------------------------------------------------------
// Several listeners in one client, each with its own token source, from the config file.

TEST(TokenPlugins, EachListenerUsesItsOwnTokenSource) {
  TempDir dir;
  int port_a = free_tcp_port(), port_b = free_tcp_port(), web_port = free_tcp_port();
  Backend a(listen_tcp(port_a), named_echo("A"));
  Backend b(listen_tcp(port_b), named_echo("B"));
  HttpResponder web([](const std::string& request) { return http_response(200, "OK", "C saw " + request_target(request)); });
  Backend c(listen_tcp(web_port), [&](int fd) { web.handle(fd); });

  int udp = free_udp_port();
  int fixed_port = free_tcp_port(), file_port = free_tcp_port(), http_port = free_tcp_port();
  // [token_source.file] names a file that does not exist: the listener's own options replace it.
  write_in_place(dir.file("clients.map"), "127.0.0.0/8 " + tcp(port_b) + "\n");
  std::string cfg = dir.file("quictun.toml");
  write_in_place(cfg,
                 "[client]\n"
                 "server_endpoint = \"127.0.0.1:" + std::to_string(udp) + "\"\n"
                 "insecure_skip_verify = true\n"
                 "\n"
                 "[[client.listener]]\n"
                 "listen_on = \"" + tcp(fixed_port) + "\"\n"
                 "token_source = \"fixed\"\n"
                 "token_source_arg = \"" + tcp(port_a) + "\"\n"
                 "\n"
                 "[[client.listener]]\n"
                 "listen_on = \"" + tcp(file_port) + "\"\n"
                 "token_source = \"file\"\n"
                 "options = { path = \"clients.map\" }\n"
                 "\n"
                 "[[client.listener]]\n"
                 "listen_on = \"" + tcp(http_port) + "\"\n"
                 "token_source = \"http-header\"\n"
                 "options = { strip_header = true }\n"
                 "\n"
                 "[token_source.file]\n"
                 "path = \"does-not-exist.map\"\n"
                 "\n"
                 "[plugins]\n"
                 "dirs = [\"" + plugin_dir() + "\"]\n"
                 "\n"
                 "[log]\n"
                 "level = \"debug\"\n");
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp), "--plugin-dir",
                  plugin_dir()},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  Process client({bin_path("quictun-client"), "-c", cfg}, dir.file("client.log"));
  const std::vector<std::pair<int, std::string>> listeners = {{fixed_port, "fixed"}, {file_port, "file"}, {http_port, "http-header"}};
  for (const auto& [port, source] : listeners)
    ASSERT_TRUE(client.wait_for_log("listening on " + tcp(port) + " (token source " + source + ")")) << client.log();

  EXPECT_EQ(roundtrip(fixed_port, "to A"), "A|to A") << client.log();
  EXPECT_EQ(roundtrip(file_port, "to B"), "B|to B") << client.log();
  const std::string request = "GET /c HTTP/1.1\r\nHost: c\r\nX-Quictun-Token: " + tcp(web_port) + "\r\n\r\n";
  bool eof = false;
  EXPECT_EQ(http_exchange(http_port, request, &eof), http_response(200, "OK", "C saw /c")) << client.log();
  EXPECT_TRUE(eof);
  auto seen = web.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "GET /c HTTP/1.1\r\nHost: c\r\n\r\n") << "that listener's options strip the header";
  // And once more in the other order, on the same QUIC connection.
  EXPECT_EQ(roundtrip(file_port, "B again"), "B|B again");
  EXPECT_EQ(roundtrip(fixed_port, "A again"), "A|A again");
  EXPECT_EQ(a.accepted(), 2);
  EXPECT_EQ(b.accepted(), 2);
  EXPECT_EQ(c.accepted(), 1);
}
