// Logs as quic-tun users configure them: --log-format json (one object a line, quic-tun's keys,
// the tunnel's fields), --log-output-paths lists, --log-name, zap's level names, the switches
// quic-tun has, and clear refusals of bad values.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace quictun::test;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST(Logging, JsonLinesCarryQuicTunKeysAndTheTunnelsFields) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  const std::string server_log = dir.file("server.json"), client_log = dir.file("client.json");
  // stderr as well: the harness watches it for start-up.
  Tunnel tunnel(dir, {{"--log-format", "json", "--log-output-paths", "stderr," + server_log, "--log-name", "edge"},
                      {"-log-format=json", "--log-output-paths", "stderr", "--log-output-paths", client_log,
                       "--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  std::string data = random_bytes(100000, 9);
  EXPECT_EQ(sha256(send_and_read(tunnel.connect(), data)), sha256(data));
  ASSERT_TRUE(tunnel.server().wait_for_log("closed: 100000 bytes up")) << tunnel.server().log();
  ASSERT_TRUE(tunnel.client().wait_for_log("closed: 100000 bytes up")) << tunnel.client().log();

  for (const auto& [path, logger] : {std::pair{server_log, std::string("edge")}, {client_log, "quictun-client"}}) {
    std::vector<std::string> lines = lines_of(read_file(path));
    ASSERT_GT(lines.size(), 3u) << path;
    bool tunnel_line = false;
    for (const auto& line : lines) {
      json j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << "not one JSON object: " << line;
      EXPECT_TRUE(j["timestamp"].is_string()) << line;
      EXPECT_TRUE(j["level"] == "DEBUG" || j["level"] == "INFO" || j["level"] == "WARN") << line;
      EXPECT_EQ(j["logger"], logger) << line;
      EXPECT_TRUE(j["message"].is_string()) << line;
      if (j.contains("tunnel") && j["message"].get<std::string>().find("closed: 100000 bytes up") != std::string::npos) {
        tunnel_line = true;
        EXPECT_EQ(j["tunnel"].get<std::string>().size(), 36u) << line;
        EXPECT_EQ(j["tunnelId"], 1) << line;
        EXPECT_EQ(j["bytesUp"], 100000) << line;
        EXPECT_EQ(j["remoteEndpointAddr"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << line;
      }
    }
    EXPECT_TRUE(tunnel_line) << "no tunnel line with the tunnel's fields in " << path;
  }
  // The timestamp layout is quic-tun's: local time to the millisecond.
  json first = json::parse(lines_of(read_file(server_log)).front());
  EXPECT_EQ(first["timestamp"].get<std::string>().size(), std::string("2006-01-02 15:04:05.000").size());
}

TEST(Logging, ConsoleLinesKeepTheirLayoutWithFieldsAfterTheMessage) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{"--log-format", "CONSOLE", "--log-name", "edge"},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)},
                      {}});
  EXPECT_EQ(send_and_read(tunnel.connect(), "hi"), "hi");
  ASSERT_TRUE(tunnel.server().wait_for_log("closed: 2 bytes up")) << tunnel.server().log();
  EXPECT_NE(tunnel.server().log().find(" edge info: listening on UDP"), std::string::npos) << tunnel.server().log();
  std::string closed;
  for (const auto& line : lines_of(tunnel.server().log()))
    if (line.find("closed: 2 bytes up, 2 bytes down") != std::string::npos) closed = line;
  EXPECT_NE(closed.find(" tunnel="), std::string::npos) << closed;
  EXPECT_NE(closed.find(" tunnelId=1"), std::string::npos) << closed;
  EXPECT_NE(closed.find(" bytesUp=2"), std::string::npos) << closed;
}

TEST(Logging, QuicTunLevelNamesAndSwitchesAreAccepted) {
  TempDir dir;
  for (const char* level : {"dpanic", "panic", "fatal", "ERROR"}) {
    int port = free_udp_port();
    Process p({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(port), "--log-level", level,
               "--log-development", "--log-disable-caller", "--log-disable-stacktrace=true",
               "--log-error-output-paths", dir.file("errors.log")},
              dir.file(std::string("server-") + level + ".log"));
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(p.running()) << level << ": " << p.log();
    EXPECT_EQ(p.log().find("listening on UDP"), std::string::npos) << level << " means error: no info lines";
  }
  // The same from the config file's [log] table.
  int port = free_udp_port();
  std::ofstream(dir.file("quictun.toml")) << "[log]\nformat = \"json\"\nlevel = \"info\"\nname = \"from-file\"\n"
                                             "output_paths = [\"stderr\"]\ndevelopment = true\n";
  Process p({bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(port), "-c",
             dir.file("quictun.toml")},
            dir.file("server-toml.log"));
  ASSERT_TRUE(p.wait_for_log("listening on UDP")) << p.log();
  std::string first = lines_of(p.log()).front();
  json j = json::parse(first, nullptr, false);
  ASSERT_TRUE(j.is_object()) << first;
  EXPECT_EQ(j["logger"], "from-file");
}

TEST(Logging, BadLogSettingsAreRefusedByName) {
  TempDir dir;
  const std::string server = bin_path("quictun-server");
  auto [c1, o1] = run({server, "--log-format", "xml"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--log-format: unknown log format \"xml\" (use console or json)"), std::string::npos) << o1;
  auto [c2, o2] = run({server, "--log-level", "loud"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("--log-level: unknown log level \"loud\""), std::string::npos) << o2;
  std::ofstream(dir.file("plain-file")) << "x";
  const std::string nowhere = dir.file("plain-file/q.log");  // a file is no folder, even for root
  auto [c3, o3] = run({server, "--log-output-paths", "stderr," + nowhere});
  EXPECT_EQ(c3, 2);
  EXPECT_NE(o3.find("--log-output-paths: cannot open log file \"" + nowhere + "\""), std::string::npos) << o3;
  std::ofstream(dir.file("bad.toml")) << "[log]\nformat = \"json\"\nerror_output_paths = [\"" << nowhere << "\"]\n";
  auto [c4, o4] = run({server, "-c", dir.file("bad.toml")});
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("bad.toml:3: cannot open log file \"" + nowhere + "\""), std::string::npos) << o4;
}
