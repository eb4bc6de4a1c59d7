// What a client's token may and may not do to the server: it names a backend, nothing more. It
// cannot choose which plugin code the server loads, and it cannot forge or colour log lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "harness.hpp"

using namespace quictun::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_containing(const std::string& log, const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) out.push_back(line);
  return out;
}

// Sends `data` through the tunnel and reads until it closes the connection.
std::string exchange(const Tunnel& tunnel, const std::string& data) { return send_and_read(tunnel.connect(), data, 10s); }

}  // namespace

TEST(UntrustedInput, TokenNamingAnUnservedSchemeIsRefusedWithStatus2AndNoPluginIsLoadedForIt) {
  // The server's plugin folder offers the unix transport only, and its parser accepts any token
  // as a backend, so the transport set alone decides. A plugin is loaded only at start-up.
  TempDir dir;
  fs::create_directory(dir.file("plugins"));
  fs::copy_file(plugin_dir() + "/quictun-transport-unix.so", dir.file("plugins") + "/quictun-transport-unix.so");
  std::string socket_path = dir.file("backend.sock");
  Backend backend(listen_unix(socket_path), echo_handler);
  int udp = free_udp_port();
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp), "--plugin-dir",
                  QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", dir.file("plugins"), "--token-parser-plugin",
                  "throws-on-boom", "--log-level", "debug"},
                 dir.file("server.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  int clients = 0;
  // One client per token (a fixed token source has one token); each sends one tunnel.
  auto through_client_with_token = [&](const std::string& token, const std::string& data, std::string* client_log) {
    int port = free_tcp_port();
    Process client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(port),
                    "--server-endpoint", "127.0.0.1:" + std::to_string(udp), "--plugin-dir", plugin_dir(),
                    "--token-source", token, "--insecure-skip-verify"},
                   dir.file("client" + std::to_string(++clients) + ".log"));
    if (!client.wait_for_log("listening on")) return std::string("<client did not start>");
    std::string got = send_and_read(connect_tcp(port), data, 10s);
    if (got.empty()) client.wait_for_log("tunnel 1 ended", 5s);  // the refusal is logged as it closes
    *client_log = client.log();
    return got;
  };
  for (const std::string token : {"sctp:1.2.3.4:5", "tcp:127.0.0.1:1"}) {
    SCOPED_TRACE(token);
    std::string client_log;
    EXPECT_EQ(through_client_with_token(token, "hello", &client_log), "");
    EXPECT_NE(client_log.find("token refused (0x02)"), std::string::npos) << client_log;
    std::string scheme = token.substr(0, token.find(':'));
    EXPECT_TRUE(server.wait_for_log(
        "backend " + token + ": no transport serves scheme \"" + scheme + "\" (loaded: unix) (token refused (0x02))", 5s))
        << server.log();
  }
  // A served scheme works, with the transport created at start-up and nothing loaded since.
  std::string client_log;
  EXPECT_EQ(through_client_with_token("unix:" + socket_path, "through unix", &client_log), "through unix") << client_log;
  std::string log = server.log();
  auto listening = log.find("listening on UDP");
  ASSERT_NE(listening, std::string::npos);
  EXPECT_NE(log.find("loaded plugin transport-unix"), std::string::npos) << log;
  EXPECT_EQ(log.find("loaded plugin", listening), std::string::npos) << "a plugin was loaded at run time:\n" << log;
}

TEST(UntrustedInput, ControlBytesInATokenAreEscapedInTheServerLog) {
  // A token that would, logged raw, end the line, forge a second one and turn the terminal red.
  TempDir dir;
  const std::string token = "evil\n\x1b[31mFAKE: tunnel 99 accepted";
  Tunnel tunnel(dir, {{}, {"--token-source", token}, {}});
  EXPECT_EQ(exchange(tunnel, "x"), "");
  ASSERT_TRUE(tunnel.server().wait_for_log("token refused (0x02)", 5s)) << tunnel.server().log();
  std::string log = tunnel.server().log();
  // Every line that shows the token shows all of it: no line starts where its newline was.
  auto lines = lines_containing(log, "FAKE");
  ASSERT_FALSE(lines.empty()) << log;
  for (const auto& line : lines) EXPECT_NE(line.find("evil\\n"), std::string::npos) << "a forged line: " << line;
  EXPECT_NE(lines[0].find("token \"evil\\n\\x1b[31mFAKE: tunnel 99 accepted\" refused"), std::string::npos) << lines[0];
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << "a raw ESC byte reached the log";
}

TEST(UntrustedInput, AnOverlongBackendIsCutShortInTheServerLog) {
  // The cleartext parser accepts any tcp address; the transport cannot connect to this one.
  TempDir dir;
  const std::string token = "tcp:" + std::string(400, 'h') + ":1";
  Tunnel tunnel(dir, {{}, {"--token-source", token}, {}});
  EXPECT_EQ(exchange(tunnel, "x"), "");
  ASSERT_TRUE(tunnel.server().wait_for_log("backend unreachable (0x03)", 5s)) << tunnel.server().log();
  auto lines = lines_containing(tunnel.server().log(), "hhhh");
  ASSERT_FALSE(lines.empty()) << tunnel.server().log();
  for (const auto& line : lines) {
    EXPECT_EQ(line.find(std::string(300, 'h')), std::string::npos) << line;
    EXPECT_NE(line.find("...[+"), std::string::npos) << line;
  }
}
