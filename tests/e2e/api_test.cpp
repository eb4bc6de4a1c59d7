// The REST API and /metrics of both programs: quic-tun's GET /tunnels with live counters,
// DELETE closing exactly one tunnel, /connections, /healthz, the bearer token, the unix
// listener, and /metrics read by Prometheus's own parser (Debian's python3-prometheus-client).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace quictun::test;
using nlohmann::json;

namespace {

struct HttpReply {
  int status = 0;
  std::string body;
};

// One HTTP/1.0 request on a connected socket (or -1): the status code and the body.
HttpReply http(int fd, const std::string& method, const std::string& path, const std::string& headers = {}) {
  HttpReply r;
  if (fd < 0) return r;
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: test\r\n" + headers + "Content-Length: 0\r\n\r\n";
  write_all(fd, req.data(), req.size());
  std::string all = read_all(fd, 10s);
  close(fd);
  if (all.rfind("HTTP/1.", 0) != 0 || all.size() < 12) return r;
  r.status = std::stoi(all.substr(9, 3));
  auto split = all.find("\r\n\r\n");
  if (split != std::string::npos) r.body = all.substr(split + 4);
  return r;
}

HttpReply http_tcp(int port, const std::string& method, const std::string& path, const std::string& headers = {}) {
  return http(connect_tcp(port), method, path, headers);
}

json get_json(int port, const std::string& path) {
  HttpReply r = http_tcp(port, "GET", path);
  EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  return json::parse(r.body, nullptr, false);
}

// A backend that sends `total` bytes in slices, pausing between them, so a transfer lasts long
// enough to be watched; then closes.
void slow_sender(int fd, const std::string& data, std::size_t slice, std::chrono::milliseconds pause) {
  for (std::size_t off = 0; off < data.size(); off += slice) {
    if (!write_all(fd, data.data() + off, std::min(slice, data.size() - off))) return;
    std::this_thread::sleep_for(pause);
  }
  shutdown(fd, SHUT_WR);
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

// Waits until `pred` holds (checked every 50 ms) or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// Runs Prometheus's own text-format parser over `text`; returns "name{labels} value" lines, or
// the parser's error.
std::map<std::string, double> parse_metrics(const TempDir& dir, const std::string& text, std::string& error) {
  std::ofstream(dir.file("metrics.txt")) << text;
  std::ofstream(dir.file("parse.py"))
      << "import sys\n"
         "from prometheus_client.parser import text_string_to_metric_families\n"
         "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
         "    for s in f.samples:\n"
         "        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))\n"
         "        print('SAMPLE %s%s %r' % (s.name, '{%s}' % labels if labels else '', s.value))\n";
  auto [code, out] = run({"/usr/bin/python3", dir.file("parse.py"), dir.file("metrics.txt")});
  std::map<std::string, double> samples;
  if (code != 0) {
    error = out;
    return samples;
  }
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SAMPLE ", 0) != 0) continue;
    auto space = line.rfind(' ');
    samples[line.substr(7, space - 7)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::string api_flag(int port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

TEST(Api, NoTunnelsIsAnEmptyArrayAndOtherMethodsGetQuicTunsAnswer) {
  TempDir dir;
  int api = free_tcp_port();
  Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(api)}, {"--token-source", "tcp:127.0.0.1:1"}, {}});
  ASSERT_TRUE(tunnel.server().wait_for_log("REST API at 127.0.0.1:" + std::to_string(api))) << tunnel.server().log();
  HttpReply r = http_tcp(api, "GET", "/tunnels");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]") << "quic-tun answers null; an empty list is []";
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    r = http_tcp(api, method, "/tunnels");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.body, R"({"message":"Please use GET request method"})") << method;
  }
  r = http_tcp(api, "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
  EXPECT_EQ(http_tcp(api, "GET", "/tunnels/00000000-0000-4000-8000-000000000000").status, 404);
  EXPECT_EQ(http_tcp(api, "GET", "/nothing").status, 404);
  EXPECT_FALSE(tunnel.server().log().find("NO TOKEN") != std::string::npos) << "loopback needs no warning";
  EXPECT_EQ(tunnel.client().log().find("REST API"), std::string::npos) << "the API is off unless asked for";
}

TEST(Api, TunnelsShowQuicTunFieldsWithLiveCountersOnBothSides) {
  TempDir dir;
  const std::string data = random_bytes(6 << 20, 7);
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), [&](int fd) { slow_sender(fd, data, 256 << 10, 150ms); });
  int server_api = free_tcp_port(), client_api = free_tcp_port();
  Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(server_api)},
                      {"--httpd-listen-on", api_flag(client_api), "--token-source",
                       "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  const char hello[] = "hello";
  write_all(fd, hello, 5);
  std::string got;
  std::thread reader([&] { got = read_all(fd, 60s); });

  // Two looks a second apart, both during the transfer: the counters must have moved.
  json first, second;
  const bool relaying = eventually([&] {
    first = get_json(client_api, "/tunnels");
    return first.is_array() && first.size() == 1 && first[0]["state"] == "relaying" &&
           first[0]["serverTotalBytes"].is_number() && first[0]["serverTotalBytes"].get<std::uint64_t>() > 0;
  });
  if (!relaying) {
    shutdown(fd, SHUT_RDWR);  // ends the reader
    reader.join();
    close(fd);
    FAIL() << "no relaying tunnel with bytes listed: " << first.dump();
  }
  std::this_thread::sleep_for(1100ms);
  second = get_json(client_api, "/tunnels");
  json server_view = get_json(server_api, "/tunnels");
  reader.join();
  close(fd);
  EXPECT_EQ(sha256(got), sha256(data));

  ASSERT_EQ(second.size(), 1u) << second.dump();
  const json& c = second[0];
  EXPECT_GT(c["serverTotalBytes"].get<std::uint64_t>(), first[0]["serverTotalBytes"].get<std::uint64_t>())
      << "the counters must move during a transfer";
  EXPECT_LT(c["serverTotalBytes"].get<std::uint64_t>(), data.size()) << "the transfer was meant to be still running";
  EXPECT_EQ(c["clientTotalBytes"], 5);
  EXPECT_EQ(c["endpoint"], "client");
  EXPECT_EQ(c["streamId"], 0);
  EXPECT_TRUE(std::regex_match(c["uuid"].get<std::string>(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_TRUE(std::regex_match(c["clientAppAddr"].get<std::string>(), std::regex(R"(127\.0\.0\.1:\d+)")));
  EXPECT_EQ(c["remoteEndpointAddr"], "127.0.0.1:" + std::to_string(tunnel.udp_port()));
  EXPECT_TRUE(std::regex_match(c["createdAt"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ m=\+\d+\.\d{9})")))
      << c["createdAt"];
  const std::regex rate(R"(\d+\.\d\d kB/s)");
  EXPECT_TRUE(std::regex_match(c["serverSendRate"].get<std::string>(), rate)) << c["serverSendRate"];
  EXPECT_TRUE(std::regex_match(c["clientSendRate"].get<std::string>(), rate));
  EXPECT_GT(c["serverSendBytesPerSecond"].get<double>(), 100000) << "about 1.7 MB/s are sent";
  EXPECT_EQ(c["protocol"], "");
  EXPECT_TRUE(c["protocolProperties"].is_null());
  EXPECT_FALSE(c.contains("serverAppAddr"));
  EXPECT_EQ(c["token"], "tcp:127.0.0.1:" + std::to_string(backend_port));
  EXPECT_EQ(c["listener"], tunnel.client_listen());
  ASSERT_TRUE(c["connection"].is_object());
  EXPECT_GT(c["connection"]["smoothedRttMs"].get<double>(), 0);
  EXPECT_GT(c["connection"]["cwndBytes"].get<std::uint64_t>(), 0u);

  ASSERT_EQ(server_view.size(), 1u) << server_view.dump();
  const json& s = server_view[0];
  EXPECT_EQ(s["endpoint"], "server");
  EXPECT_EQ(s["serverAppAddr"], "tcp:127.0.0.1:" + std::to_string(backend_port));
  EXPECT_FALSE(s.contains("clientAppAddr"));
  EXPECT_EQ(s["clientTotalBytes"], 5);
  EXPECT_GT(s["serverTotalBytes"].get<std::uint64_t>(), 0u);
  EXPECT_NE(s["uuid"], c["uuid"]);

  // quic-tun keeps closed tunnels listed; ended tunnels must go.
  EXPECT_TRUE(eventually([&] { return http_tcp(client_api, "GET", "/tunnels").body == "[]"; }));
  EXPECT_TRUE(eventually([&] { return http_tcp(server_api, "GET", "/tunnels").body == "[]"; }));
}

TEST(Api, DeleteClosesExactlyThatTunnel) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int server_api = free_tcp_port();
  Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(server_api)},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  int a = tunnel.connect(), b = tunnel.connect();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  set_timeout(a, 5s);
  set_timeout(b, 5s);
  char buf[64];
  for (int fd : {a, b}) {  // both relaying
    write_all(fd, "ping", 4);
    ASSERT_EQ(read(fd, buf, 4), 4);
  }
  json list;
  ASSERT_TRUE(eventually([&] {
    list = get_json(server_api, "/tunnels");
    return list.size() == 2;
  })) << list.dump();
  // The first accepted connection became stream 0.
  std::string victim = list[0]["streamId"] == 0 ? list[0]["uuid"] : list[1]["uuid"];
  HttpReply one = http_tcp(server_api, "GET", "/tunnels/" + victim);
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["uuid"], victim);
  EXPECT_EQ(one.body.rfind("{\"uuid\":\"" + victim + "\",\"streamId\":", 0), 0u) << "quic-tun's field order: " << one.body;
  EXPECT_EQ(http_tcp(server_api, "POST", "/tunnels/" + victim).status, 405);
  HttpReply del = http_tcp(server_api, "DELETE", "/tunnels/" + victim);
  EXPECT_EQ(del.status, 200) << del.body;

  // Its application connection is reset...
  errno = 0;
  ssize_t n = read(a, buf, sizeof buf);
  EXPECT_EQ(n, -1) << "a closed tunnel resets the application connection, not a clean EOF";
  EXPECT_EQ(errno, ECONNRESET);
  close(a);
  // ...and the other carries on.
  std::string big = random_bytes(1 << 20, 3);
  EXPECT_EQ(sha256(send_and_read(b, big)), sha256(big));
  EXPECT_EQ(http_tcp(server_api, "DELETE", "/tunnels/" + victim).status, 404) << "it is gone";
  EXPECT_TRUE(tunnel.server().wait_for_log("closed through the REST API"));
}

TEST(Api, QuicTunsPutCloseTunnelWorksToo) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int client_api = free_tcp_port();
  Tunnel tunnel(dir, {{}, {"--httpd-listen-on", api_flag(client_api), "--token-source",
                           "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  int a = tunnel.connect();
  set_timeout(a, 5s);
  char buf[8];
  write_all(a, "ping", 4);
  ASSERT_EQ(read(a, buf, 4), 4);
  json list = get_json(client_api, "/tunnels");
  ASSERT_EQ(list.size(), 1u);
  std::string uuid = list[0]["uuid"];
  EXPECT_EQ(http_tcp(client_api, "GET", "/" + uuid + "/close_tunnel").status, 405);
  HttpReply r = http_tcp(client_api, "PUT", "/" + uuid + "/close_tunnel");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  errno = 0;
  EXPECT_EQ(read(a, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ECONNRESET);
  close(a);
  EXPECT_TRUE(eventually([&] { return http_tcp(client_api, "GET", "/tunnels").body == "[]"; }));
}

TEST(Api, MetricsAreReadByPrometheusParserAndCount) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int server_api = free_tcp_port(), client_api = free_tcp_port();
  Tunnel good(dir, {{"--httpd-listen-on", api_flag(server_api)},
                    {"--httpd-listen-on", api_flag(client_api), "--token-source",
                     "tcp:127.0.0.1:" + std::to_string(backend_port)},
                    {}});
  std::string up = random_bytes(300000, 5);
  EXPECT_EQ(sha256(send_and_read(good.connect(), up)), sha256(up));
  // A refused token through a second client on the same server: 0x02 on both sides.
  int refused_port = free_tcp_port();
  Process refused_client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(refused_port),
                          "--server-endpoint", "127.0.0.1:" + std::to_string(good.udp_port()), "--plugin-dir",
                          plugin_dir(), "--insecure-skip-verify", "--token-source", "not-an-address"},
                         dir.file("refused-client.log"));
  ASSERT_TRUE(refused_client.wait_for_log("listening on"));
  EXPECT_EQ(send_and_read(connect_tcp(refused_port), "x"), "");
  ASSERT_TRUE(good.server().wait_for_log("refused"));

  std::string error;
  std::map<std::string, double> server, client;
  ASSERT_TRUE(eventually([&] {
    HttpReply r = http_tcp(server_api, "GET", "/metrics");
    server = parse_metrics(dir, r.body, error);
    return server.count("quictun_tunnels_open") && server["quictun_tunnels_open"] == 0;
  }, 15s)) << error << http_tcp(server_api, "GET", "/metrics").body << get_json(server_api, "/tunnels").dump();
  HttpReply cr = http_tcp(client_api, "GET", "/metrics");
  client = parse_metrics(dir, cr.body, error);
  ASSERT_TRUE(error.empty()) << error << cr.body;

  EXPECT_EQ(server["quictun_tunnels_opened_total"], 2);
  EXPECT_EQ(server["quictun_tunnels_failed_total{reason=0x02}"], 1);
  EXPECT_EQ(server["quictun_tunnels_failed_total{reason=0x03}"], 0);
  EXPECT_EQ(server["quictun_tunnels_failed_total{reason=timeout}"], 0);
  EXPECT_EQ(server["quictun_tunnel_bytes_total{direction=client_to_server}"], up.size());
  EXPECT_EQ(server["quictun_tunnel_bytes_total{direction=server_to_client}"], up.size());
  EXPECT_EQ(server["quictun_quic_handshakes_total"], 2);
  EXPECT_EQ(server["quictun_quic_connections_open"], 2);
  EXPECT_GT(server["quictun_quic_received_bytes_total"], up.size());
  EXPECT_GT(server["quictun_quic_sent_bytes_total"], up.size());
  EXPECT_EQ(server["quictun_plugin_errors_total"], 0);

  EXPECT_EQ(client["quictun_tunnels_opened_total"], 1);
  EXPECT_EQ(client["quictun_tunnel_bytes_total{direction=client_to_server}"], up.size());
  EXPECT_EQ(client["quictun_quic_handshakes_total"], 1);
  EXPECT_EQ(client["quictun_quic_handshake_failures_total"], 0);
  EXPECT_EQ(client["quictun_quic_connections_open"], 1);
  const std::string peer = "peer=127.0.0.1:" + std::to_string(good.udp_port());
  EXPECT_GT(client["quictun_quic_smoothed_rtt_seconds{" + peer + "}"], 0);
  EXPECT_GT(client["quictun_quic_cwnd_bytes{" + peer + "}"], 0);
  EXPECT_TRUE(client.count("quictun_quic_packets_lost_total"));

  json conns = get_json(client_api, "/connections");
  ASSERT_EQ(conns.size(), 1u) << conns.dump();
  EXPECT_EQ(conns[0]["peer"], "127.0.0.1:" + std::to_string(good.udp_port()));
  EXPECT_EQ(conns[0]["controller"], "bbr1");
  EXPECT_EQ(conns[0]["link"], "plain");
  EXPECT_GT(conns[0]["smoothedRttMs"].get<double>(), 0);
  EXPECT_GT(conns[0]["bytesSent"].get<std::uint64_t>(), up.size());
  EXPECT_EQ(get_json(server_api, "/connections").size(), 2u);
}

TEST(Api, TokenIsRequiredWhenSetAndReadFromAFile) {
  TempDir dir;
  int api = free_tcp_port();
  std::ofstream(dir.file("api.token")) << "s3cret-token\n";
  std::ofstream(dir.file("quictun.toml")) << "[api]\nlisten_on = \"127.0.0.1:" << api << "\"\ntoken = \"file:api.token\"\n";
  Tunnel tunnel(dir, {{"-c", dir.file("quictun.toml")}, {"--token-source", "tcp:127.0.0.1:1"}, {}});
  ASSERT_TRUE(tunnel.server().wait_for_log("(bearer token required)")) << tunnel.server().log();
  EXPECT_EQ(http_tcp(api, "GET", "/tunnels").status, 401);
  EXPECT_EQ(http_tcp(api, "GET", "/tunnels", "Authorization: Bearer wrong\r\n").status, 401);
  HttpReply ok = http_tcp(api, "GET", "/tunnels", "Authorization: Bearer s3cret-token\r\n");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "[]");
  EXPECT_EQ(http_tcp(api, "GET", "/metrics").status, 401);
  EXPECT_EQ(http_tcp(api, "GET", "/healthz").status, 200) << "health probes carry no token";
  EXPECT_EQ(tunnel.server().log().find("s3cret"), std::string::npos) << "the token must not be logged";
}

TEST(Api, NonLoopbackWithoutTokenWarnsLoudly) {
  TempDir dir;
  int api = free_tcp_port();
  Tunnel tunnel(dir, {{"--httpd-listen-on", "0.0.0.0:" + std::to_string(api)}, {"--token-source", "tcp:127.0.0.1:1"}, {}});
  EXPECT_TRUE(tunnel.server().wait_for_log("NO TOKEN")) << tunnel.server().log();
  EXPECT_EQ(http_tcp(api, "GET", "/tunnels").body, "[]");
}

TEST(Api, UnixListenerIsGuardedByItsFileMode) {
  TempDir dir;
  const std::string path = dir.file("api.sock");
  Tunnel tunnel(dir, {{"--httpd-listen-on", "unix:" + path}, {"--token-source", "tcp:127.0.0.1:1"}, {}});
  ASSERT_TRUE(tunnel.server().wait_for_log("REST API at unix:" + path)) << tunnel.server().log();
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  HttpReply r = http(connect_unix(path), "GET", "/tunnels");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
  tunnel.server().stop();
  tunnel.server().wait_exit();
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the socket file is removed at exit";
}

TEST(Api, BadAddressesAndTokenFilesAreRefusedByName) {
  TempDir dir;
  const std::string server = bin_path("quictun-server");
  auto [c1, o1] = run({server, "--httpd-listen-on", "127.0.0.1:http"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--httpd-listen-on: \"127.0.0.1:http\": port is not a number"), std::string::npos) << o1;
  auto [c2, o2] = run({server, "--httpd-listen-on", "no-such-host.invalid:8086"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("--httpd-listen-on: \"no-such-host.invalid:8086\": cannot resolve"), std::string::npos) << o2;
  // An address another program holds.
  int busy_port = free_tcp_port();
  int busy = listen_tcp(busy_port);
  auto [c3, o3] = run({server, "--listen-on", "127.0.0.1:" + std::to_string(free_udp_port()), "--httpd-listen-on",
                       "127.0.0.1:" + std::to_string(busy_port)});
  close(busy);
  EXPECT_EQ(c3, 1);
  EXPECT_NE(o3.find("--httpd-listen-on: cannot listen on 127.0.0.1:" + std::to_string(busy_port)), std::string::npos)
      << o3;

  std::ofstream(dir.file("missing.toml")) << "[api]\nlisten_on = \"127.0.0.1:0\"\ntoken = \"file:nope.token\"\n";
  auto [c4, o4] = run({server, "-c", dir.file("missing.toml")});
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("missing.toml:3: cannot read API token file " + dir.file("nope.token")), std::string::npos) << o4;
  std::ofstream(dir.file("empty.token")) << "\n";
  std::ofstream(dir.file("empty.toml")) << "[api]\nlisten_on = \"127.0.0.1:0\"\ntoken = \"file:empty.token\"\n";
  auto [c5, o5] = run({server, "-c", dir.file("empty.toml")});
  EXPECT_EQ(c5, 2);
  EXPECT_NE(o5.find(dir.file("empty.token") + ":1: the API token file's first line is empty"), std::string::npos) << o5;
  std::ofstream(dir.file("bad.toml")) << "[api]\nlisten_on = \"localhost\"\n";
  auto [c6, o6] = run({bin_path("quictun-client"), "-c", dir.file("bad.toml")});
  EXPECT_EQ(c6, 2);
  EXPECT_NE(o6.find("bad.toml:2: \"localhost\": expected HOST:PORT"), std::string::npos) << o6;
}

TEST(Api, MetricsCountLossAndItsRepair) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  const std::string token = "tcp:127.0.0.1:" + std::to_string(backend_port);
  std::string data = random_bytes(2 << 20, 11);
  std::string error;
  {
    // ARQ both ways (the client offers it, the server accepts), 5 % of datagrams dropped on arrival.
    int server_api = free_tcp_port(), client_api = free_tcp_port();
    Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(server_api), "--test-drop-rate", "0.05"},
                        {"--httpd-listen-on", api_flag(client_api), "--arq", "on", "--test-drop-rate", "0.05",
                         "--token-source", token},
                        {}});
    EXPECT_EQ(sha256(send_and_read(tunnel.connect(), data)), sha256(data));
    auto server = parse_metrics(dir, http_tcp(server_api, "GET", "/metrics").body, error);
    auto client = parse_metrics(dir, http_tcp(client_api, "GET", "/metrics").body, error);
    ASSERT_TRUE(error.empty()) << error;
    for (auto* side : {&server, &client}) {
      EXPECT_GT((*side)["quictun_arq_datagrams_retransmitted_total"], 0);
      EXPECT_GT((*side)["quictun_arq_datagrams_repaired_total"], 0);
    }
    EXPECT_EQ(get_json(client_api, "/connections")[0]["link"], "arq");
    json conns = get_json(server_api, "/connections");
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0]["link"], "arq");
    EXPECT_GT(conns[0]["arqResent"].get<std::uint64_t>(), 0u);
  }
  {
    // No repair below QUIC: the server's controller (bbr1, a plugin) sees the client's drops as losses.
    int server_api = free_tcp_port();
    Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(server_api)}, {"--test-drop-rate", "0.05", "--token-source", token}, {}});
    EXPECT_EQ(sha256(send_and_read(tunnel.connect(), data)), sha256(data));
    auto server = parse_metrics(dir, http_tcp(server_api, "GET", "/metrics").body, error);
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_GT(server["quictun_quic_packets_lost_total"], 0);
    EXPECT_GT(server["quictun_quic_lost_bytes_total"], server["quictun_quic_packets_lost_total"]);
    EXPECT_EQ(server["quictun_arq_datagrams_repaired_total"], 0);
    json conns = get_json(server_api, "/connections");
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_GT(conns[0]["packetsLost"].get<std::uint64_t>(), 0u);
  }
}

TEST(Api, OpenTunnelsShowWhatTheClassifierFound) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  int server_api = free_tcp_port(), client_api = free_tcp_port();
  Tunnel tunnel(dir, {{"--httpd-listen-on", api_flag(server_api), "--classifier", "http"},
                      {"--httpd-listen-on", api_flag(client_api), "--classifier", "http", "--token-source",
                       "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  int fd = tunnel.connect();
  ASSERT_GE(fd, 0);
  set_timeout(fd, 5s);
  // A request head, echoed back; the tunnel stays open while the API is asked.
  const std::string head = "GET /reports/q3?x=1 HTTP/1.1\r\nHost: intranet.example.test\r\n\r\n";
  ASSERT_TRUE(write_all(fd, head.data(), head.size()));
  std::string echoed(head.size(), '\0');
  std::size_t got = 0;
  while (got < echoed.size()) {
    ssize_t n = read(fd, echoed.data() + got, echoed.size() - got);
    ASSERT_GT(n, 0);
    got += static_cast<std::size_t>(n);
  }
  EXPECT_EQ(echoed, head);
  for (int api : {server_api, client_api}) {
    json list;
    EXPECT_TRUE(eventually([&] {
      list = get_json(api, "/tunnels");
      return list.size() == 1 && list[0]["protocol"] == "http";
    })) << list.dump();
    if (list.size() != 1) continue;
    EXPECT_EQ(list[0]["protocolProperties"]["method"], "GET") << list.dump();
    EXPECT_EQ(list[0]["protocolProperties"]["host"], "intranet.example.test") << list.dump();
    EXPECT_EQ(list[0]["protocolProperties"]["path"], "/reports/q3") << list.dump();
  }
  close(fd);
}
