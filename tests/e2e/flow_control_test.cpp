// QUIC flow control over the life of one connection: every byte a stream received must, sooner
// or later, be credited back to the connection, however the tunnel ended. Bytes the server holds
// for a backend that never answers, and then throws away, are received bytes too; if their
// credit is lost, the connection's window shrinks for good and, after enough such tunnels, every
// other tunnel of that client stalls.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "harness.hpp"

using namespace quictun::test;

namespace {

void set_send_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }

// A backend that reads to EOF and answers with the SHA-256 of what it read.
void hashing_sink(int fd) {
  std::string got = read_all(fd, 120s);
  std::string digest = sha256(got);
  write_all(fd, digest.data(), digest.size());
  shutdown(fd, SHUT_WR);
}

// quictun-server plus one quictun-client with two listeners, so tunnels to two backends share
// the client's single QUIC connection.
struct TwoListenerClient {
  TwoListenerClient(const TempDir& dir, const std::string& token_a, const std::string& token_b,
                    const std::vector<std::string>& server_flags) {
    int udp = free_udp_port();
    std::vector<std::string> server_args = {bin_path("quictun-server"), "--listen-on",
                                            "127.0.0.1:" + std::to_string(udp), "--plugin-dir", plugin_dir(),
                                            "--log-level", "debug"};
    server_args.insert(server_args.end(), server_flags.begin(), server_flags.end());
    server = std::make_unique<Process>(server_args, dir.file("server.log"));
    if (!server->wait_for_log("listening on UDP")) throw std::runtime_error("server did not start:\n" + server->log());
    port_a = free_tcp_port();
    port_b = free_tcp_port();
    std::string cfg = dir.file("client.toml");
    std::ofstream(cfg) << "[client]\n"
                          "server_endpoint = \"127.0.0.1:" << udp << "\"\n"
                          "insecure_skip_verify = true\n"
                          "setup_timeout_ms = 5000\n"
                          "\n"
                          "[[client.listener]]\n"
                          "listen_on = \"" << tcp(port_a) << "\"\n"
                          "token_source_arg = \"" << token_a << "\"\n"
                          "\n"
                          "[[client.listener]]\n"
                          "listen_on = \"" << tcp(port_b) << "\"\n"
                          "token_source_arg = \"" << token_b << "\"\n"
                          "\n"
                          "[plugins]\n"
                          "dirs = [\"" << plugin_dir() << "\"]\n"
                          "\n"
                          "[log]\n"
                          "level = \"debug\"\n";
    client = std::make_unique<Process>(std::vector<std::string>{bin_path("quictun-client"), "-c", cfg},
                                       dir.file("client.log"));
    if (!client->wait_for_log("listening on " + tcp(port_b))) throw std::runtime_error("client did not start:\n" + client->log());
  }
  std::unique_ptr<Process> server;
  std::unique_ptr<Process> client;
  int port_a = -1;
  int port_b = -1;
};

// Pipelines `size` bytes behind the token of a tunnel whose backend never answers, and waits
// for the tunnel to close the application connection. True when it did.
bool pipeline_into_silence(int port, std::size_t size) {
  int fd = connect_tcp(port);
  if (fd < 0) return false;
  std::string data = random_bytes(size, static_cast<std::uint64_t>(port));
  set_send_timeout(fd, 30s);
  write_all(fd, data.data(), data.size());  // fails once the client closes the connection: expected
  shutdown(fd, SHUT_WR);
  // The client closes the connection: an EOF, or a reset for the bytes it did not read.
  char byte;
  set_timeout(fd, 30s);
  ssize_t n = recv(fd, &byte, 1, 0);
  bool ended = n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
  close(fd);
  return ended;
}

}  // namespace

TEST(FlowControl, BytesPipelinedAtADeadBackendAreCreditedToTheConnection) {
  // The client pipelines up to about 320 KiB behind each token before the server's answer
  // (what it keeps for a replay, plus what it read before the stream opened); the server holds
  // them for the backend, then gives up on it (0x03) and drops them. 240 such tunnels make
  // about 75 MiB, more than the largest connection window (64 MiB): had their credit been
  // lost, the connection would have no window left.
  constexpr int kSilentTunnels = 240;
  constexpr std::size_t kPipelined = 512 << 10;
  TempDir dir;
  SilentListener silent;
  int sink_port = free_tcp_port();
  Backend sink(listen_tcp(sink_port), hashing_sink);
  TwoListenerClient setup(dir, tcp(silent.port()), tcp(sink_port), {"--backend-connect-timeout-ms", "1000"});

  std::vector<std::thread> tunnels;
  std::vector<char> closed(kSilentTunnels, 0);
  for (int i = 0; i < kSilentTunnels; ++i)
    tunnels.emplace_back([&, i] { closed[static_cast<std::size_t>(i)] = pipeline_into_silence(setup.port_a, kPipelined); });
  for (auto& t : tunnels) t.join();
  for (int i = 0; i < kSilentTunnels; ++i)
    EXPECT_TRUE(closed[static_cast<std::size_t>(i)]) << "tunnel " << i << " to the silent backend was never closed";
  EXPECT_TRUE(setup.server->wait_for_log("no answer within 1000 ms", 1s)) << setup.server->log();

  // The same client, so the same QUIC connection: a bulk upload must still get through.
  std::string bulk = random_bytes(32 << 20, 11);
  int fd = connect_tcp(setup.port_b);
  ASSERT_GE(fd, 0);
  std::thread sender([&] {
    write_all(fd, bulk.data(), bulk.size());
    shutdown(fd, SHUT_WR);
  });
  bool eof = false;
  std::string digest = read_all(fd, 90s, &eof);
  shutdown(fd, SHUT_RDWR);  // unblocks the sender if the upload stalled
  sender.join();
  close(fd);
  auto client_log = setup.client->log();
  std::string log_tail = client_log.substr(client_log.size() - std::min<std::size_t>(client_log.size(), 2000));
  EXPECT_TRUE(eof) << "the bulk upload did not complete within 90 s: the connection ran out of credit";
  EXPECT_EQ(digest, sha256(bulk)) << "client log, last lines:\n" << log_tail;
  auto log = setup.client->log();
  std::size_t connects = 0;
  for (auto at = log.find("connected to server"); at != std::string::npos; at = log.find("connected to server", at + 1))
    ++connects;
  EXPECT_EQ(connects, 1u) << "every tunnel must have used the same QUIC connection:\n" << log;
}
