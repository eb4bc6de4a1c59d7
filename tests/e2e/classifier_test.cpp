// Traffic classifiers on real tunnels: each of SPICE, SSH, TLS and HTTP through the real
// quictun-server and quictun-client, with every byte checked by hash both ways, and the protocol
// each side found read from its tunnel's closing log line. Then the mistakes an operator can make.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "spice_bytes.hpp"

using namespace quictun::test;

namespace {

// The tunnel's closing line ("... closed: ..." or "... ended: ...") that holds `marker`, waited
// for up to 10 s; "" if none. Other lines about the tunnel may carry `protocol=` as well (the
// registry's fields), so the first match is not enough.
std::string closing_line(const Process& p, const std::string& marker) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream in(p.log());
    for (std::string l; std::getline(in, l);)
      if (l.find(marker) != std::string::npos &&
          (l.find(" closed: ") != std::string::npos || l.find(" ended: ") != std::string::npos))
        return l;
    std::this_thread::sleep_for(50ms);
  }
  return {};
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(QUICTUN_CLASSIFIER_DATA_DIR) / name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::vector<std::string> kAllClassifiers = {"--classifier", "spice", "--classifier", "ssh",
                                                  "--classifier", "tls",   "--classifier", "http"};

// A backend that reads to EOF (hashing) while it sends `reply`, then closes.
struct HashingBackend {
  std::mutex mu;
  std::vector<std::string> received;  // SHA-256 of what each connection sent
  std::string reply;
  void handle(int fd) {
    std::thread sender([&] {
      write_all(fd, reply.data(), reply.size());
      shutdown(fd, SHUT_WR);
    });
    std::string got = read_all(fd, 60s);
    sender.join();
    std::lock_guard<std::mutex> lock(mu);
    received.push_back(sha256(got));
  }
  std::optional<std::string> first_hash() {
    for (int i = 0; i < 250; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!received.empty()) return received.front();
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }
};

struct ClassifiedTunnel {
  TempDir dir;
  int backend_port = free_tcp_port();
  HashingBackend hashing;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Tunnel> tunnel;

  explicit ClassifiedTunnel(std::string reply, std::vector<std::string> server_classifiers = kAllClassifiers,
               std::vector<std::string> client_classifiers = kAllClassifiers) {
    hashing.reply = std::move(reply);
    backend = std::make_unique<Backend>(listen_tcp(backend_port), [this](int fd) { hashing.handle(fd); });
    std::vector<std::string> client = {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)};
    client.insert(client.end(), client_classifiers.begin(), client_classifiers.end());
    tunnel = std::make_unique<Tunnel>(dir, TunnelSetup{server_classifiers, client, {}});
  }

  // Sends `request` through the tunnel (after `wait`) and checks both directions by hash.
  void transfer(const std::string& request, std::chrono::milliseconds wait = 0ms) {
    int fd = tunnel->connect();
    ASSERT_GE(fd, 0);
    std::this_thread::sleep_for(wait);
    std::string down = send_and_read(fd, request, 60s);
    EXPECT_EQ(down.size(), hashing.reply.size());
    EXPECT_EQ(sha256(down), sha256(hashing.reply)) << "the server's bytes changed on the way";
    auto up = hashing.first_hash();
    ASSERT_TRUE(up);
    EXPECT_EQ(*up, sha256(request)) << "the client's bytes changed on the way";
  }

  // Both programs' closing line for the tunnel holds every one of `fields`.
  void expect_logged(const std::vector<std::string>& fields) {
    for (Process* p : {&tunnel->server(), &tunnel->client()}) {
      ASSERT_TRUE(p->wait_for_log(fields.front(), 10s)) << p->log();
      // Other lines about the tunnel may carry `protocol=` too (its registry fields): the
      // closing line is the one that must name everything.
      std::string line = closing_line(*p, fields.front());
      ASSERT_FALSE(line.empty()) << "no closing line names " << fields.front() << ":\n" << p->log();
      for (const auto& f : fields) EXPECT_NE(line.find(f), std::string::npos) << f << " not in: " << line;
    }
  }
};

TEST(Classifier, SpiceMainChannelIsNamedWithTheServersSessionNameAndUuid) {
  using namespace quictun::testing;
  ClassifiedTunnel t(server_main() + random_bytes(256 << 10, 2));
  t.transfer(client_link(1, 0) + random_bytes(256 << 10, 1));
  t.expect_logged({"protocol=spice", "channelType=\"main\"", "version=\"2.2\"", "sessionId=\"12345678\"",
                     "serverName=\"vm-0042\"", "serverUUID=\"01234567-89ab-cdef-0123-456789abcdef\""});
}

TEST(Classifier, SshIsNamedWithBothSidesSoftware) {
  // The client's identification line is OpenSSH's own (captured), the rest stands in for the
  // key exchange.
  ClassifiedTunnel t("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n" + random_bytes(1 << 20, 4));
  t.transfer(fixture("ssh_client_hello.bin") + random_bytes(1 << 20, 3));
  t.expect_logged({"protocol=ssh", "protoVersion=\"2.0\"", "clientSoftware=\"OpenSSH_9.2p1\"",
                     "serverSoftware=\"OpenSSH_9.2p1\"", "serverComments=\"Debian-2+deb12u3\""});
}

TEST(Classifier, TlsIsNamedWithSniAndAlpn) {
  // gnutls-cli's ClientHello (captured), then what stands in for the encrypted records.
  ClassifiedTunnel t(random_bytes(1 << 20, 6));
  t.transfer(fixture("tls_client_hello.bin") + random_bytes(1 << 20, 5));
  t.expect_logged({"protocol=tls", "sni=\"backend.example.test\"", "alpn=\"h2,http/1.1\"", "version=\"1.3\""});
}

TEST(Classifier, ClientFirstProtocolIsNamedEvenWhenTheServersBytesComeFirst) {
  // The backend speaks at once and the application only later, so both programs see the
  // server's bytes before the client's: that must not hide a protocol whose client speaks first.
  ClassifiedTunnel t(random_bytes(256 << 10, 14));
  t.transfer(fixture("tls_client_hello.bin") + random_bytes(64 << 10, 13), 500ms);
  t.expect_logged({"protocol=tls", "sni=\"backend.example.test\""});
}

TEST(Classifier, UnknownTrafficIsLoggedAsUnknownAndArrivesIntact) {
  ClassifiedTunnel t(random_bytes(64 << 10, 8));
  t.transfer(std::string("\x00\x01\x02 not a protocol", 18) + random_bytes(64 << 10, 7));
  t.expect_logged({"protocol=unknown"});
}

TEST(Classifier, WithoutClassifiersNoProtocolIsLogged) {
  ClassifiedTunnel t(random_bytes(1024, 10), {}, {});
  t.transfer(fixture("ssh_client_hello.bin"));
  ASSERT_TRUE(t.tunnel->server().wait_for_log("bytes down", 10s));
  EXPECT_EQ(t.tunnel->server().log().find("protocol="), std::string::npos);
}

// A real curl uploading and downloading through the tunnel, against an HTTP/1.1 backend.
TEST(Classifier, HttpFromCurlIsNamedWithMethodHostAndPath) {
  TempDir dir;
  const std::string body_down = random_bytes(1 << 20, 12);
  const std::string body_up = random_bytes(512 << 10, 11);
  std::mutex mu;
  std::string received_up;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), [&](int fd) {
    std::string got;
    char buf[65536];
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos || got.size() < head_end + 4 + body_up.size()) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
      if (head_end == std::string::npos) head_end = got.find("\r\n\r\n");
    }
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_down.size()) +
                       "\r\nConnection: close\r\n\r\n";
    write_all(fd, head.data(), head.size());
    write_all(fd, body_down.data(), body_down.size());
    std::lock_guard<std::mutex> lock(mu);
    received_up = head_end == std::string::npos ? std::string() : got.substr(head_end + 4);
  });
  std::vector<std::string> client = {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)};
  client.insert(client.end(), kAllClassifiers.begin(), kAllClassifiers.end());
  Tunnel tunnel(dir, {kAllClassifiers, client, {}});
  {
    std::ofstream(dir.file("up.bin"), std::ios::binary) << body_up;
  }
  auto [code, out] = run({"/usr/bin/curl", "-sS", "--fail", "-o", dir.file("down.bin"), "-H", "Host: files.example.test",
                          "-H", "Expect:", "--data-binary", "@" + dir.file("up.bin"),
                          "http://127.0.0.1:" + std::to_string(tunnel.client_port()) + "/files/upload?id=7"},
                         30s);
  ASSERT_EQ(code, 0) << out;
  std::ifstream in(dir.file("down.bin"), std::ios::binary);
  std::string down{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(sha256(down), sha256(body_down));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(sha256(received_up), sha256(body_up));
  }
  for (Process* p : {&tunnel.server(), &tunnel.client()}) {
    std::string line = closing_line(*p, "protocol=http");
    ASSERT_FALSE(line.empty()) << p->log();
    for (const char* f : {"method=\"POST\"", "host=\"files.example.test\"", "path=\"/files/upload\"", "version=\"1.1\""})
      EXPECT_NE(line.find(f), std::string::npos) << f << " not in: " << line;
  }
}

TEST(Classifier, UnknownClassifierIsRefusedByNameAndPlace) {
  auto [code, out] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--plugin-dir", plugin_dir(),
                          "--classifier", "tls", "--classifier", "rdp"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--classifier: unknown classifier \"rdp\" (available: http, spice, ssh, tls;"), std::string::npos)
      << out;
  TempDir dir;
  const std::string cfg = dir.file("quictun.toml");
  std::ofstream(cfg) << "[plugins]\nclassifiers = [\"ssh\", \"smtp\"]\n";
  auto [c2, o2] = run({bin_path("quictun-client"), "-c", cfg, "--plugin-dir", plugin_dir(), "--insecure-skip-verify",
                       "--listen-on", "tcp:127.0.0.1:0"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find(cfg + ":2: unknown classifier \"smtp\""), std::string::npos) << o2;
}

TEST(Classifier, ClassifierMistakesAreRefusedBeforeAnythingStarts) {
  auto [c1, o1] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--plugin-dir", plugin_dir(),
                       "--classifier", "tls", "--classifier", "TLS"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--classifier: classifier \"TLS\" is listed twice"), std::string::npos) << o1;
  TempDir dir;
  const std::string cfg = dir.file("quictun.toml");
  std::ofstream(cfg) << "[plugins]\nclassifiers = [\"tls\"]\n\n[classifier.tls]\nbudget = 100\n";
  auto [c2, o2] = run({bin_path("quictun-server"), "-c", cfg, "--listen-on", "127.0.0.1:0", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("classifier \"tls\" (plugin classifier-tls): " + cfg + ":5: 'budget' unknown key"),
            std::string::npos)
      << o2;
}

}  // namespace

TEST(Classifier, ListPluginsShowsEveryClassifier) {
  auto [code, out] = run({bin_path("quictun-server"), "--list-plugins", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 0) << out;
  for (const char* line : {"  classifier spice: SPICE link messages", "  classifier ssh: SSH identification lines",
                           "  classifier tls: TLS ClientHello: sni, alpn", "  classifier http: HTTP/1.x request head"})
    EXPECT_NE(out.find(line), std::string::npos) << line << " missing:\n" << out;
}
