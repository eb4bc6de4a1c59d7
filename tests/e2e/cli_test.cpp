// The command line and the config file, as users type them: quic-tun's flags verbatim, the
// TOML file, and a clear message for every mistake.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <quictun/sdk/version.hpp>

#include "harness.hpp"

using namespace quictun::test;
namespace fs = std::filesystem;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string roundtrip(int port, const std::string& data) {
  return send_and_read(connect_tcp(port), data, 20s);
}

}  // namespace

TEST(Cli, HelpDocumentsEveryFlag) {
  auto [code, out] = run({bin_path("quictun-server"), "--help"});
  EXPECT_EQ(code, 0);
  for (const char* flag : {"--listen-on", "--token-parser-plugin", "--token-parser-key", "--cert-file", "--key-file",
                           "--ca-file", "--verify-remote-endpoint", "--config", "--plugin-dir", "--log-level",
                           "--congestion-control"})
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  auto [ccode, cout] = run({bin_path("quictun-client"), "--help"});
  EXPECT_EQ(ccode, 0);
  for (const char* flag : {"--listen-on", "--server-endpoint", "--token-source-plugin", "--token-source",
                           "--insecure-skip-verify", "--ca-file", "--cert-file", "--key-file", "--config",
                           "--plugin-dir", "--log-level", "--congestion-control"})
    EXPECT_NE(cout.find(flag), std::string::npos) << flag;
}

TEST(Cli, BadFlagsAndValuesAreNamed) {
  auto [c1, o1] = run({bin_path("quictun-server"), "--no-such-flag"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--no-such-flag"), std::string::npos) << o1;
  auto [c2, o2] = run({bin_path("quictun-client"), "--congestion-control", "fast"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("--congestion-control"), std::string::npos) << o2;
  EXPECT_NE(o2.find("fast"), std::string::npos) << o2;
  auto [c3, o3] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1"});
  EXPECT_EQ(c3, 2);
  EXPECT_NE(o3.find("--listen-on"), std::string::npos) << o3;
  auto [c4, o4] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--token-source",
                       std::string(600, 'a'), "--insecure-skip-verify", "--plugin-dir", plugin_dir()});
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("512"), std::string::npos) << o4;
  auto [c5, o5] = run({bin_path("quictun-client"), "--log-level", "loud"});
  EXPECT_EQ(c5, 2);
  EXPECT_NE(o5.find("--log-level"), std::string::npos) << o5;
}

TEST(Cli, NumbersAreCheckedBeforeAnythingStarts) {
  // quictun-client --connect-timeout-ms 10x used to start (std::stoull read it as 10).
  for (const char* bad : {"10x", "-1", "0", "3600001"}) {
    auto [code, out] = run({bin_path("quictun-client"), "--connect-timeout-ms", bad, "--insecure-skip-verify"});
    EXPECT_EQ(code, 2) << bad;
    EXPECT_NE(out.find(std::string("quictun-client: --connect-timeout-ms: must be between 1 and 3600000, got \"") + bad +
                       "\""),
              std::string::npos)
        << out;
  }
  auto [c1, o1] = run({bin_path("quictun-server"), "-backend-connect-timeout-ms", "10x"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--backend-connect-timeout-ms: must be between 1 and 3600000, got \"10x\""), std::string::npos) << o1;
  auto [c2, o2] = run({bin_path("quictun-server"), "--test-drop-rate", "1.5"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("--test-drop-rate: must be in [0, 1), got \"1.5\""), std::string::npos) << o2;

  TempDir dir;
  std::string cfg = dir.file("quictun.toml");
  write_file(cfg, "[client]\ninsecure_skip_verify = true\nconnect_timeout_ms = 0\n");
  auto [c3, o3] = run({bin_path("quictun-client"), "-c", cfg});
  EXPECT_EQ(c3, 2);
  EXPECT_NE(o3.find(cfg + ":3: 'connect_timeout_ms' must be between 1 and 3600000"), std::string::npos) << o3;
}

TEST(Cli, QuicTunCommandLinesWorkVerbatim) {
  // From quic-tun's README, with loopback addresses; no --plugin-dir: the built-in default
  // must find the build tree's plugins.
  TempDir dir;
  int udp = free_udp_port(), app = free_tcp_port(), backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp)}, dir.file("s.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  Process client({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(app), "--server-endpoint",
                  "127.0.0.1:" + std::to_string(udp), "--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port),
                  "--insecure-skip-verify", "True"},
                 dir.file("c.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();
  EXPECT_EQ(roundtrip(app, "verbatim"), "verbatim") << client.log() << server.log();
}

TEST(Cli, GoStyleSingleDashAndCaseInsensitivePlugin) {
  TempDir dir;
  int udp = free_udp_port(), app = free_tcp_port(), backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Process server({bin_path("quictun-server"), "-listen-on", "127.0.0.1:" + std::to_string(udp),
                  "--token-parser-plugin", "Cleartext", "--token-parser-key", "base64"},
                 dir.file("s.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  // base64 of "tcp:127.0.0.1:<port>"
  std::string token = "tcp:127.0.0.1:" + std::to_string(backend_port);
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc;
  for (std::size_t i = 0; i < token.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(token[i]) << 16;
    if (i + 1 < token.size()) v |= static_cast<unsigned char>(token[i + 1]) << 8;
    if (i + 2 < token.size()) v |= static_cast<unsigned char>(token[i + 2]);
    enc += b64[(v >> 18) & 63];
    enc += b64[(v >> 12) & 63];
    enc += i + 1 < token.size() ? b64[(v >> 6) & 63] : '=';
    enc += i + 2 < token.size() ? b64[v & 63] : '=';
  }
  Process client({bin_path("quictun-client"), "-listen-on=tcp:127.0.0.1:" + std::to_string(app), "-server-endpoint",
                  "127.0.0.1:" + std::to_string(udp), "-token-source", enc, "--insecure-skip-verify=true"},
                 dir.file("c.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();
  EXPECT_EQ(roundtrip(app, "base64 token"), "base64 token") << client.log() << server.log();
}

TEST(Cli, ConfigFileRunsBothPrograms) {
  TempDir dir;
  int udp = free_udp_port(), app = free_tcp_port(), backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  std::string cfg = dir.file("quictun.toml");
  write_file(cfg, "[server]\nlisten_on = \"127.0.0.1:" + std::to_string(udp) +
                      "\"\ntoken_parser = \"cleartext\"\n\n"
                      "[client]\nserver_endpoint = \"127.0.0.1:" + std::to_string(udp) +
                      "\"\ninsecure_skip_verify = true\n\n"
                      "[[client.listener]]\nlisten_on = \"tcp:127.0.0.1:" + std::to_string(app) +
                      "\"\ntoken_source = \"fixed\"\ntoken_source_arg = \"tcp:127.0.0.1:" + std::to_string(backend_port) +
                      "\"\n\n[quic]\ncongestion_control = \"bbr\"\nidle_timeout_ms = 20000\n\n[plugins]\ndirs = [\"" +
                      plugin_dir() + "\"]\n");
  Process server({bin_path("quictun-server"), "-c", cfg}, dir.file("s.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  Process client({bin_path("quictun-client"), "--config", cfg}, dir.file("c.log"));
  ASSERT_TRUE(client.wait_for_log("listening on")) << client.log();
  EXPECT_EQ(roundtrip(app, "from the config"), "from the config");
}

TEST(Cli, ConfigErrorsNameFileAndLine) {
  TempDir dir;
  std::string cfg = dir.file("quictun.toml");
  write_file(cfg, "[server]\nlisten_on = \"127.0.0.1:7500\"\nlisten_onn = \"oops\"\n");
  auto [c1, o1] = run({bin_path("quictun-server"), "-c", cfg});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find(cfg + ":3: unknown key 'listen_onn' in [server]"), std::string::npos) << o1;

  write_file(cfg, "[quic]\n\ncongestion_control = 5\n");
  auto [c2, o2] = run({bin_path("quictun-server"), "-c", cfg});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find(cfg + ":3: 'congestion_control' must be a string"), std::string::npos) << o2;

  write_file(cfg, "[client]\nserver_endpoint = \"127.0.0.1:7500\n");
  auto [c3, o3] = run({bin_path("quictun-client"), "-c", cfg});
  EXPECT_EQ(c3, 2);
  EXPECT_NE(o3.find(cfg + ":2:"), std::string::npos) << o3;

  auto [c4, o4] = run({bin_path("quictun-client"), "-c", dir.file("missing.toml")});
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("missing.toml: no such configuration file"), std::string::npos) << o4;
}

TEST(Plugins, UnknownPluginListsWhatIsAvailable) {
  auto [code, out] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--token-parser-plugin", "base65",
                          "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown token parser \"base65\" (available: cleartext"), std::string::npos) << out;
}

TEST(Plugins, AbiMismatchIsRefusedByName) {
  auto [code, out] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--plugin-dir",
                          QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", plugin_dir(), "--token-source-plugin", "future",
                          "--insecure-skip-verify"});
  EXPECT_EQ(code, 2);
  const std::string here = quictun::sdk::describe(quictun::sdk::toolchain);
  EXPECT_NE(out.find("quictun-test-other-abi.so: plugin built with SDK ABI 999, " + here + "; this host: SDK ABI " +
                     std::to_string(quictun::sdk::abi_version) + ", " + here + "; rebuild the plugin"),
            std::string::npos)
      << out;
}

TEST(Plugins, ToolchainMismatchIsRefusedByNameWithBothToolchains) {
  if (quictun::sdk::toolchain.standard_library != quictun::sdk::Toolchain::libstdcxx_new_abi)
    GTEST_SKIP() << "the test plugin differs from the host by using libstdc++'s old ABI; this host does too";
  auto [code, out] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--plugin-dir",
                          QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", plugin_dir(), "--token-source-plugin",
                          "old-string", "--insecure-skip-verify"});
  EXPECT_EQ(code, 2);
  const std::string abi = "SDK ABI " + std::to_string(quictun::sdk::abi_version);
  quictun::sdk::Toolchain old = quictun::sdk::toolchain;
  old.standard_library = quictun::sdk::Toolchain::libstdcxx_old_abi;
  EXPECT_NE(out.find("quictun-test-other-toolchain.so: plugin built with " + abi + ", " + quictun::sdk::describe(old) +
                     "; this host: " + abi + ", " + quictun::sdk::describe(quictun::sdk::toolchain) +
                     "; rebuild the plugin against this host's SDK with the same compiler"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("libstdc++ old ABI"), std::string::npos) << out;
}

TEST(Plugins, FailingFactoryIsReportedWithThePluginName) {
  auto [code, out] = run({bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:0", "--plugin-dir",
                          QUICTUN_TEST_BAD_PLUGIN_DIR, "--plugin-dir", plugin_dir(), "--token-source-plugin",
                          "factory-throws", "--insecure-skip-verify"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("test-faulty"), std::string::npos) << out;
  EXPECT_NE(out.find("disk on fire"), std::string::npos) << out;
}

TEST(Plugins, TwoPluginsWithTheSameNameAreRefused) {
  TempDir dir;
  fs::copy_file(plugin_dir() + "/quictun-token-fixed.so", dir.file("quictun-token-fixed.so"));
  fs::copy_file(plugin_dir() + "/quictun-token-fixed.so", dir.file("quictun-token-fixed-copy.so"));
  fs::copy_file(plugin_dir() + "/quictun-transport-tcp.so", dir.file("quictun-transport-tcp.so"));
  auto [code, out] = run({bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--plugin-dir", dir.path().string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("two plugins provide token parser \"cleartext\""), std::string::npos) << out;
  EXPECT_NE(out.find("quictun-token-fixed-copy.so"), std::string::npos) << out;
}

TEST(Plugins, FilesThatAreNotPluginsAreSkippedWithAWarning) {
  TempDir dir;
  fs::copy_file(plugin_dir() + "/quictun-token-fixed.so", dir.file("quictun-token-fixed.so"));
  fs::copy_file(plugin_dir() + "/quictun-transport-tcp.so", dir.file("quictun-transport-tcp.so"));
  write_file(dir.file("garbage.so"), "this is not an ELF file");
  // A real shared object that is not a quictun plugin.
  for (const char* lib : {"/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"}) {
    if (fs::exists(lib)) {
      fs::copy_file(lib, dir.file("libz.so"));
      break;
    }
  }
  int udp = free_udp_port();
  Process server({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp), "--plugin-dir",
                  dir.path().string()},
                 dir.file("s.log"));
  ASSERT_TRUE(server.wait_for_log("listening on UDP")) << server.log();
  EXPECT_NE(server.log().find("garbage.so: not a loadable shared object"), std::string::npos) << server.log();
  if (fs::exists(dir.file("libz.so"))) {
    EXPECT_NE(server.log().find("libz.so: not a quictun plugin"), std::string::npos) << server.log();
  }
}

TEST(Plugins, ListPluginsShowsEachPluginsDescriptionAndEveryFactorysHelp) {
  for (const char* program : {"quictun-client", "quictun-server"}) {
    SCOPED_TRACE(program);
    auto [code, out] = run({bin_path(program), "--list-plugins", "--plugin-dir", plugin_dir()});
    EXPECT_EQ(code, 0) << out;
    // Name, version and the file it came from; then the description; then one line per factory.
    EXPECT_NE(out.find("token-fixed 0.1.0 (" + plugin_dir()), std::string::npos) << out;
    EXPECT_NE(out.find("  a fixed token on the client; the token as the backend address on the server\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  token source fixed: the same token for every connection: the --token-source argument or "
                       "'token'\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  token parser cleartext: the token is the backend address (network:address); key \"base64\" "
                       "decodes it first\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("transport-tcp 0.1.0 ("), std::string::npos) << out;
    EXPECT_NE(out.find("  TCP listeners and connections over IPv4 and IPv6, with asynchronous DNS\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  transport tcp, tcp4, tcp6: TCP sockets: tcp:HOST:PORT"), std::string::npos) << out;
    EXPECT_NE(out.find("  transport unix: UNIX-domain stream sockets"), std::string::npos) << out;
    for (const char* plugin : {"token-file ", "token-http ", "token-http-header "})
      EXPECT_NE(out.find(std::string("\n") + plugin), std::string::npos) << plugin << " missing:\n" << out;
  }
}

TEST(Plugins, ListPluginsNamesThePluginsItCannotLoadAndListsTheRest) {
  auto [code, out] = run({bin_path("quictun-server"), "--list-plugins", "--plugin-dir", QUICTUN_TEST_BAD_PLUGIN_DIR,
                          "--plugin-dir", plugin_dir()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("quictun-test-other-abi.so: not loaded: plugin built with SDK ABI 999, "), std::string::npos)
      << out;
  EXPECT_NE(out.find("quictun-test-other-toolchain.so: not loaded: plugin built with SDK ABI "), std::string::npos)
      << out;
  EXPECT_NE(out.find("test-faulty "), std::string::npos) << out;
  EXPECT_NE(out.find("token-fixed 0.1.0"), std::string::npos) << out;
}
