// The server's backend allow list through the real programs: a listed backend carries bytes, an
// unlisted one is refused with 0x02 before anything dials it, whichever parser named it, and a
// server that would be an open relay says so loudly at start.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace quictun::test;

namespace {

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }

// A client whose every connection asks for `token`, to the tunnel's server.
std::unique_ptr<Process> client_for(const TempDir& dir, const Tunnel& tunnel, int port, const std::string& token,
                                    const std::string& log) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(port),
                               "--server-endpoint", "127.0.0.1:" + std::to_string(tunnel.udp_port()), "--plugin-dir",
                               plugin_dir(), "--token-source", token, "--insecure-skip-verify"},
      dir.file(log));
  EXPECT_TRUE(p->wait_for_log("listening on")) << p->log();
  return p;
}

}  // namespace

TEST(Allowlist, AListedBackendCarriesBytesAnUnlistedOneIsRefusedWith2AndNeverDialled) {
  TempDir dir;
  int allowed_port = free_tcp_port(), other_port = free_tcp_port();
  Backend allowed(listen_tcp(allowed_port), echo_handler);
  Backend other(listen_tcp(other_port), echo_handler);
  Tunnel tunnel(dir, {{"--allow", tcp(allowed_port), "--allow", "unix:/nonexistent/*.sock"},
                      {"--token-source", tcp(allowed_port)},
                      {}});
  EXPECT_TRUE(tunnel.server().wait_for_log("backend allow list: 2 entries", 5s)) << tunnel.server().log();
  std::string data = random_bytes(1 << 20, 7);
  EXPECT_EQ(sha256(send_and_read(tunnel.connect(), data)), sha256(data));

  int port = free_tcp_port();
  auto client = client_for(dir, tunnel, port, tcp(other_port), "other-client.log");
  EXPECT_EQ(send_and_read(connect_tcp(port), "hello", 10s), "");
  EXPECT_TRUE(client->wait_for_log("token refused (0x02)", 5s)) << client->log();
  EXPECT_TRUE(tunnel.server().wait_for_log(
      "backend " + tcp(other_port) + ": not in the server's allow list (token refused (0x02))", 5s))
      << tunnel.server().log();
  EXPECT_EQ(other.accepted(), 0) << "a refused backend must never be dialled";
  // The refusal did not disturb the allowed path.
  EXPECT_EQ(send_and_read(tunnel.connect(), "again"), "again");
}

TEST(Allowlist, AppliesToEveryTokenParser) {
  // The file parser maps tokens to backends the operator wrote; the list still has the last word.
  TempDir dir;
  int a_port = free_tcp_port(), b_port = free_tcp_port();
  Backend a(listen_tcp(a_port), echo_handler);
  Backend b(listen_tcp(b_port), echo_handler);
  std::string map = dir.file("backends.map");
  std::ofstream(map) << "alpha " << tcp(a_port) << "\nbeta " << tcp(b_port) << "\n";
  std::string cfg = dir.file("quictun.toml");
  std::ofstream(cfg) << "[server]\nallow = [\"tcp:127.0.0.0/8:" << a_port << "\"]\n";
  Tunnel tunnel(dir, {{"-c", cfg, "--token-parser-plugin", "file", "--token-parser-key", map},
                      {"--token-source", "alpha"},
                      {}});
  EXPECT_EQ(send_and_read(tunnel.connect(), "via alpha"), "via alpha");
  int port = free_tcp_port();
  auto beta = client_for(dir, tunnel, port, "beta", "beta-client.log");
  EXPECT_EQ(send_and_read(connect_tcp(port), "via beta", 10s), "");
  EXPECT_TRUE(tunnel.server().wait_for_log("backend " + tcp(b_port) + ": not in the server's allow list", 5s))
      << tunnel.server().log();
  EXPECT_EQ(b.accepted(), 0);
}

TEST(Allowlist, UnixGlobAdmitsItsFolderOnly) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("app/sub"));
  std::string good = dir.file("app/web.sock"), deeper = dir.file("app/sub/web.sock");
  Backend g(listen_unix(good), echo_handler);
  Backend d(listen_unix(deeper), echo_handler);
  Tunnel tunnel(dir, {{"--allow", "unix:" + dir.file("app") + "/*.sock"}, {"--token-source", "unix:" + good}, {}});
  EXPECT_EQ(send_and_read(tunnel.connect(), "unix ok"), "unix ok");
  int port = free_tcp_port();
  auto c1 = client_for(dir, tunnel, port, "unix:" + deeper, "deeper.log");
  EXPECT_EQ(send_and_read(connect_tcp(port), "x", 10s), "");
  int port2 = free_tcp_port();
  auto c2 = client_for(dir, tunnel, port2, "unix:" + dir.file("app/sub/../web.sock"), "dotdot.log");
  EXPECT_EQ(send_and_read(connect_tcp(port2), "x", 10s), "");
  EXPECT_TRUE(tunnel.server().wait_for_log("../web.sock: not in the server's allow list", 5s)) << tunnel.server().log();
  EXPECT_EQ(d.accepted(), 0);
  EXPECT_EQ(g.accepted(), 1);
}

TEST(Allowlist, ABadEntryStopsTheServerNamingFileAndLine) {
  TempDir dir;
  std::string cfg = dir.file("quictun.toml");
  std::ofstream(cfg) << "[server]\nallow = [\n  \"tcp:10.0.0.0/8:22\",\n  \"tcp:10.0.0.0/33:22\",\n]\n";
  auto [code, out] = run({bin_path("quictun-server"), "-c", cfg, "--listen-on", "127.0.0.1:0", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(cfg + ":4: allow entry \"tcp:10.0.0.0/33:22\": prefix length \"33\" is not a number from 0 to 32"),
            std::string::npos)
      << out;
  auto [code2, out2] = run({bin_path("quictun-server"), "--allow", "unix:relative/*.sock", "--listen-on", "127.0.0.1:0",
                            "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find("--allow: allow entry \"unix:relative/*.sock\": the path glob must be absolute"), std::string::npos)
      << out2;
}

TEST(Allowlist, CleartextOnANonLoopbackAddressWithoutAListOrMtlsWarnsLoudly) {
  TempDir dir;
  auto start = [&](std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args = {bin_path("quictun-server"), "--plugin-dir", plugin_dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Process>(args, dir.file(log));
    EXPECT_TRUE(p->wait_for_log("listening on UDP")) << p->log();
    return p;
  };
  std::string any = "0.0.0.0:" + std::to_string(free_udp_port());
  auto open = start({"--listen-on", any}, "open.log");
  EXPECT_NE(open->log().find("OPEN RELAY: the cleartext token parser on " + any), std::string::npos) << open->log();
  open.reset();
  auto listed = start({"--listen-on", any, "--allow", "tcp:10.0.0.0/8:22"}, "listed.log");
  EXPECT_EQ(listed->log().find("OPEN RELAY"), std::string::npos) << listed->log();
  listed.reset();
  auto local = start({"--listen-on", "127.0.0.1:" + std::to_string(free_udp_port())}, "local.log");
  EXPECT_EQ(local->log().find("OPEN RELAY"), std::string::npos) << local->log();
}
