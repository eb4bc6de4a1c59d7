// quic-tun's configuration files (-c x.yaml / .yml / .json): the shipped examples start both
// programs and carry data; every mistake in such a file is named by file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace quictun::test;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Replaces the one occurrence of `from` (the example must contain it: a test that silently
// ran with the example's own ports would test nothing).
std::string substitute(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("example lacks \"" + from + "\"");
  return text.replace(at, from.size(), to);
}

fs::path example(const std::string& name) { return fs::path(QUICTUN_SOURCE_DIR) / "examples" / "quic-tun" / name; }

// Starts both programs from the example files of one format (the addresses moved to free
// loopback ports, nothing else changed) and moves 1 MiB through them, checked by hash.
void run_examples(const std::string& ext) {
  TempDir dir;
  int backend_port = free_tcp_port(), app_port = free_tcp_port(), udp_port = free_udp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  const std::string udp = "127.0.0.1:" + std::to_string(udp_port);

  std::string server = substitute(read_text(example("quictun-server" + ext)), "0.0.0.0:7500", udp);
  std::string client = read_text(example("quictun-client" + ext));
  client = substitute(client, "tcp:127.0.0.1:6500", "tcp:127.0.0.1:" + std::to_string(app_port));
  client = substitute(client, "\"127.0.0.1:7500\"", "\"" + udp + "\"");
  client = substitute(client, "tcp:127.0.0.1:22", "tcp:127.0.0.1:" + std::to_string(backend_port));
  write_file(dir.file("quictun-server" + ext), server);
  write_file(dir.file("quictun-client" + ext), client);

  // No --plugin-dir: programs run from the build tree find its plugins by themselves.
  Process s({bin_path("quictun-server"), "-c", dir.file("quictun-server" + ext)}, dir.file("server.log"));
  ASSERT_TRUE(s.wait_for_log("listening on UDP " + udp)) << s.log();
  Process c({bin_path("quictun-client"), "-c", dir.file("quictun-client" + ext)}, dir.file("client.log"));
  ASSERT_TRUE(c.wait_for_log("listening on")) << c.log();

  const std::string data = random_bytes(1 << 20, 9);
  const std::string back = send_and_read(connect_tcp(app_port), data);
  EXPECT_EQ(back.size(), data.size()) << s.log() << c.log();
  EXPECT_EQ(sha256(back), sha256(data));
  EXPECT_EQ(backend.accepted(), 1);
}

// Runs `program -c <file named name with text>` and returns {exit code, output}.
std::pair<int, std::string> run_with(const TempDir& dir, const std::string& program, const std::string& name,
                                     const std::string& text, std::vector<std::string> extra = {}) {
  write_file(dir.file(name), text);
  std::vector<std::string> argv = {bin_path(program), "-c", dir.file(name)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run(argv, 10s);
}

void expect_refused(const std::pair<int, std::string>& result, const std::string& message) {
  EXPECT_EQ(result.first, 2) << result.second;
  EXPECT_NE(result.second.find(message), std::string::npos) << "expected: " << message << "\ngot: " << result.second;
}

}  // namespace

TEST(QuicTunConfig, YamlExamplesStartBothProgramsAndCarryData) { run_examples(".yaml"); }

TEST(QuicTunConfig, JsonExamplesStartBothProgramsAndCarryData) { run_examples(".json"); }

// The file sets what the flags would, and a flag given too wins over it.
TEST(QuicTunConfig, FlagsOverrideTheFileAndYmlIsYaml) {
  TempDir dir;
  int backend_port = free_tcp_port(), app_port = free_tcp_port(), udp_port = free_udp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  write_file(dir.file("s.yml"), "listen-on: 127.0.0.1:1\n");
  write_file(dir.file("c.yml"), "listen-on: tcp:127.0.0.1:" + std::to_string(app_port) + "\nserver-endpoint: 127.0.0.1:" +
                                    std::to_string(udp_port) + "\ntoken-source: tcp:127.0.0.1:" +
                                    std::to_string(backend_port) + "\ninsecure-skip-verify: yes\nlog-level: debug\n");
  Process s({bin_path("quictun-server"), "-c", dir.file("s.yml"), "--listen-on", "127.0.0.1:" + std::to_string(udp_port)},
            dir.file("server.log"));
  ASSERT_TRUE(s.wait_for_log("listening on UDP 127.0.0.1:" + std::to_string(udp_port))) << s.log();
  Process c({bin_path("quictun-client"), "-c", dir.file("c.yml")}, dir.file("client.log"));
  ASSERT_TRUE(c.wait_for_log("listening on")) << c.log();
  const std::string data = random_bytes(100000, 3);
  EXPECT_EQ(sha256(send_and_read(connect_tcp(app_port), data)), sha256(data)) << c.log();
  EXPECT_TRUE(c.wait_for_log(" debug: ", 5s)) << "log-level from the file was not applied";
}

TEST(QuicTunConfig, UnknownKeyNamesFileLineAndTheKnownKeys) {
  TempDir dir;
  auto r = run_with(dir, "quictun-server", "s.yaml", "# comment\nlisten-on: 127.0.0.1:7500\nlisten-onn: x\n");
  expect_refused(r, dir.file("s.yaml") + ":3: unknown key 'listen-onn' (known: ");
  EXPECT_NE(r.second.find("token-parser-plugin"), std::string::npos) << r.second;
  // A client key is not a server key: each program reads its own flags.
  expect_refused(run_with(dir, "quictun-server", "s2.yaml", "server-endpoint: 127.0.0.1:1\n"),
                 dir.file("s2.yaml") + ":1: unknown key 'server-endpoint'");
  // TOML spellings are not flags.
  expect_refused(run_with(dir, "quictun-client", "c.json", "{\n  \"listen-on\": \"tcp:127.0.0.1:0\",\n  \"listen_on\": \"x\"\n}\n"),
                 dir.file("c.json") + ":3: unknown key 'listen_on'");
}

TEST(QuicTunConfig, MalformedYamlAndJsonNameTheLine) {
  TempDir dir;
  expect_refused(run_with(dir, "quictun-server", "bad.yaml", "listen-on: 127.0.0.1:7500\ntoken-parser-plugin: [cleartext\n"),
                 dir.file("bad.yaml") + ":3: malformed YAML: ");
  expect_refused(run_with(dir, "quictun-server", "bad.json", "{\n  \"listen-on\": \"127.0.0.1:7500\",\n  \"cert-file\" \"x\"\n}\n"),
                 dir.file("bad.json") + ":3: malformed JSON: ");
  expect_refused(run_with(dir, "quictun-server", "list.yaml", "- listen-on\n"),
                 dir.file("list.yaml") + ":1: a quic-tun configuration is a map");
  expect_refused(run_with(dir, "quictun-server", "arr.json", "[1]\n"), dir.file("arr.json") + ":1: a quic-tun configuration is a JSON object");
  expect_refused(run_with(dir, "quictun-server", "dup.yaml", "listen-on: 127.0.0.1:1\nlisten-on: 127.0.0.1:2\n"),
                 dir.file("dup.yaml") + ":2: duplicate key 'listen-on'");
  expect_refused(run_with(dir, "quictun-server", "dup.json", "{\"listen-on\": \"a\",\n \"listen-on\": \"b\"}\n"),
                 dir.file("dup.json") + ":2: duplicate key 'listen-on'");
  expect_refused(run({bin_path("quictun-server"), "-c", dir.file("missing.yaml")}), dir.file("missing.yaml") + ": no such configuration file");
}

TEST(QuicTunConfig, WrongValueTypesNameFileLineAndKey) {
  TempDir dir;
  expect_refused(run_with(dir, "quictun-server", "t1.yaml", "listen-on:\n  - a\n  - b\n"),
                 dir.file("t1.yaml") + ":1: 'listen-on' must be a string");
  expect_refused(run_with(dir, "quictun-server", "t2.yaml", "verify-remote-endpoint: maybe\n"),
                 dir.file("t2.yaml") + ":1: 'verify-remote-endpoint': expected on or off, got \"maybe\"");
  expect_refused(run_with(dir, "quictun-server", "t3.yaml", "\nbackend-connect-timeout-ms: 10x\n"),
                 dir.file("t3.yaml") + ":2: 'backend-connect-timeout-ms' must be between 1 and 3600000, got \"10x\"");
  expect_refused(run_with(dir, "quictun-server", "t4.json", "{\n\"listen-on\": 7500\n}\n"),
                 dir.file("t4.json") + ":2: 'listen-on' must be a string");
  expect_refused(run_with(dir, "quictun-server", "t5.json", "{\"verify-remote-endpoint\": 1}\n"),
                 dir.file("t5.json") + ":1: 'verify-remote-endpoint' must be true or false");
  expect_refused(run_with(dir, "quictun-client", "t6.json", "{\"connect-timeout-ms\": true}\n"),
                 dir.file("t6.json") + ":1: 'connect-timeout-ms' must be a whole number");
  expect_refused(run_with(dir, "quictun-client", "t6b.json", "{\"connect-timeout-ms\": 1.5}\n"),
                 dir.file("t6b.json") + ":1: 'connect-timeout-ms' must be between 1 and 3600000, got \"1.5\"");
  expect_refused(run_with(dir, "quictun-client", "t7.yaml", "token-source:\n  fixed: x\n"),
                 dir.file("t7.yaml") + ":1: 'token-source' must be a string");
  // Values are checked as the flag's are: the same range and wording, with file:line.
  expect_refused(run_with(dir, "quictun-client", "t8.yaml", "log-level: loud\n"), dir.file("t8.yaml") + ":1: ");
}

// A key with nothing after it is unset, as quic-tun (viper) reads it; an empty file sets nothing.
TEST(QuicTunConfig, NullValuesAndEmptyFilesSetNothing) {
  TempDir dir;
  write_file(dir.file("empty.yaml"), "");
  write_file(dir.file("null.yaml"), "cert-file:\nkey-file: ~\n");
  int udp = free_udp_port();
  for (const char* f : {"empty.yaml", "null.yaml"}) {
    Process s({bin_path("quictun-server"), "-c", dir.file(f), "--listen-on", "127.0.0.1:" + std::to_string(udp)},
              dir.file(std::string(f) + ".log"));
    EXPECT_TRUE(s.wait_for_log("listening on UDP")) << s.log();
    EXPECT_TRUE(s.wait_for_log("generated self-signed certificate")) << s.log();
  }
}
