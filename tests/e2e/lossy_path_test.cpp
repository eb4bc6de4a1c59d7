// The transport's own settings on a path that loses or limits, through the real programs and a
// UDP relay between them:
// - a link that is down for the client's first second: the handshake's retransmission timer,
//   set by [quic] initial_rtt_ms, decides whether it is retried in time;
// - a rate-limited link: [quic] ack_every sets how many packets the receiver takes per ACK.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "harness.hpp"
#include "relayed_tunnel.hpp"

using namespace quictun::test;

namespace {

std::string config(const TempDir& dir, const std::string& name, const std::string& quic_table) {
  std::ofstream(dir.file(name)) << "[quic]\n" << quic_table;
  return dir.file(name);
}

// Reads everything up to EOF and answers with its hash: an upload whose bytes are all checked,
// with next to nothing sent back.
void hash_handler(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  const std::string digest = sha256(got);
  write_all(fd, digest.data(), digest.size());
  shutdown(fd, SHUT_WR);
}

}  // namespace

TEST(LossyPath, HandshakeIsRetriedInTimeWhenTheLinkIsDownAtFirst) {
  // Nothing gets through for the first 1.5 s, and a handshake is given 2.8 s. With the default
  // initial RTT (100 ms) the first flight is resent at 0.3, 0.9 and 2.1 s: the third gets
  // through. With ngtcp2's own 333 ms it is resent at 1.0 s (lost) and next at 3.0 s, after the
  // timeout: that handshake fails and only the client's next attempt connects. Both must still
  // carry the data, since the application connection waits for the tunnel.
  const std::string data = random_bytes(1 << 20, 77);
  for (const char* initial_rtt : {"", "initial_rtt_ms = 333\n"}) {
    SCOPED_TRACE(*initial_rtt ? initial_rtt : "default initial RTT");
    TempDir cfg_dir;
    const std::string cfg = config(cfg_dir, "client.toml", std::string("handshake_timeout_ms = 2800\n") + initial_rtt);
    RelayedTunnel t(echo_handler, {.blackout = 1500ms}, {},
                    {"-c", cfg, "--connect-timeout-ms", "15000"});
    ASSERT_TRUE(t.ready()) << t.server->log() << t.client->log();
    const std::string got = send_and_read(connect_tcp(t.client_port), data, 30s);
    EXPECT_TRUE(sha256(got) == sha256(data)) << got.size() << " bytes back\n" << t.client->log();
    EXPECT_GT(t.relay->dropped(), 0u) << "the blackout must have dropped the first flight";
    const std::string log = t.client->log();
    if (*initial_rtt) {
      EXPECT_NE(log.find("handshake timed out"), std::string::npos)
          << "the control: a 333 ms initial RTT must not be retried within 2.8 s\n" << log;
    } else {
      EXPECT_EQ(log.find("handshake timed out"), std::string::npos) << log;
      EXPECT_EQ(log.find("cannot connect to server"), std::string::npos) << log;
    }
  }
}

TEST(LossyPath, AckEveryReachesTheReceiver) {
  // An 8 MiB upload through a 6 MB/s relay with 40 ms of RTT: the server receives its packets
  // one by one (a slow sanitizer build too), and its ACK timer (an eighth of the RTT, 5 ms, 21
  // packets here) does not come first, so its ACKs follow [quic] ack_every. (Without the delay, that timer fires after ~0.1
  // ms on loopback, about every 4th packet whatever the setting.) Every 2nd packet should be answered about 8 times as often
  // as every 16th; the test asks for 3 times.
  const std::string data = random_bytes(8 << 20, 78);
  double acks_per_packet[2] = {};
  int i = 0;
  for (const char* every : {"2", "16"}) {
    SCOPED_TRACE(std::string("ack_every = ") + every);
    TempDir cfg_dir;
    const std::string cfg = config(cfg_dir, "server.toml", std::string("ack_every = ") + every + "\n");
    RelayedTunnel t(hash_handler, {.bytes_per_second = 6'000'000, .delay = 20ms}, {"-c", cfg}, {});
    ASSERT_TRUE(t.ready()) << t.server->log() << t.client->log();
    const std::string digest = send_and_read(connect_tcp(t.client_port), data, 60s);
    EXPECT_EQ(digest, sha256(data)) << t.server->log().substr(0, 20000);
    const std::uint64_t up = t.relay->to_server(), down = t.relay->to_client();
    ASSERT_GT(up, (8u << 20) / 1500) << "the upload must have crossed the relay";
    acks_per_packet[i++] = static_cast<double>(down) / static_cast<double>(up);
    std::cout << "ack_every " << every << ": " << up << " datagrams up, " << down << " down\n";
  }
  EXPECT_GT(acks_per_packet[0], 3 * acks_per_packet[1]) << acks_per_packet[0] << " vs " << acks_per_packet[1];
  EXPECT_GT(acks_per_packet[0], 0.3) << "every 2nd packet acknowledged";
  EXPECT_LT(acks_per_packet[1], 0.15) << "every 16th packet acknowledged";
}
