// Congestion controllers through the real programs: each one carries a tunnel through loss,
// and every way of naming or configuring one wrongly is refused with a message that says where.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

using namespace quictun::test;

namespace {

std::string echo_through(Tunnel& tunnel, const std::string& data) {
  return send_and_read(tunnel.connect(), data, 60s);
}

std::pair<int, std::string> start_server(const std::vector<std::string>& extra) {
  std::vector<std::string> args{bin_path("quictun-server"), "--listen-on", "127.0.0.1:0", "--plugin-dir", plugin_dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

}  // namespace

TEST(Congestion, EachControllerCarriesATunnelThroughLoss) {
  const std::string data = random_bytes(4 << 20, 31);
  for (std::vector<std::string> cc : {std::vector<std::string>{"--congestion-control", "bbr1"},
                                      {"--congestion-control", "brutal", "--bandwidth", "400mbit"},
                                      {"--congestion-control", "bbr"},
                                      {"--congestion-control", "cubic"}}) {
    TempDir dir;
    int backend_port = free_tcp_port();
    Backend backend(listen_tcp(backend_port), echo_handler);
    std::vector<std::string> server = cc, client = cc;
    // (the harness runs both programs at log level debug)
    for (auto* side : {&server, &client}) side->insert(side->end(), {"--test-drop-rate", "0.03"});
    client.insert(client.end(), {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)});
    Tunnel tunnel(dir, {server, client, {}});
    EXPECT_TRUE(echo_through(tunnel, data) == data) << cc[1] << ": bytes differ\n" << tunnel.client().log();
    if (cc[1] == "bbr1" || cc[1] == "brutal") {
      // The plugin's controller, not ngtcp2's, ran on both sides.
      for (Process* p : {&tunnel.server(), &tunnel.client()})
        EXPECT_NE(p->log().find("congestion controller: " + cc[1] + " (plugin)"), std::string::npos) << p->log();
    }
  }
}

TEST(Congestion, BbrOneIsTheDefault) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{}, {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port)}, {}});
  const std::string data = random_bytes(1 << 20, 32);
  EXPECT_TRUE(echo_through(tunnel, data) == data);
  for (Process* p : {&tunnel.server(), &tunnel.client()})
    EXPECT_NE(p->log().find("congestion controller: bbr1 (plugin)"), std::string::npos) << p->log();
}

TEST(Congestion, MistakesAreNamed) {
  auto [c1, o1] = start_server({"--congestion-control", "vegas"});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(o1.find("--congestion-control: unknown congestion controller \"vegas\" (available: bbr, bbr1, brutal, "
                    "cubic, reno)"),
            std::string::npos)
      << o1;
  auto [c2, o2] = start_server({"--congestion-control", "brutal"});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(o2.find("brutal needs the rate to send at: --bandwidth RATE, or [congestion.brutal] down"), std::string::npos)
      << o2;
  auto [c3, o3] = start_server({"--congestion-control", "brutal", "--bandwidth", "fast"});
  EXPECT_EQ(c3, 2);
  EXPECT_NE(o3.find("--bandwidth: \"fast\" is not a rate"), std::string::npos) << o3;
  auto [c4, o4] = start_server({"--congestion-control", "cubic", "--bandwidth", "10mbit"});
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("--bandwidth: congestion controller cubic (ngtcp2's own) takes no argument"), std::string::npos)
      << o4;

  TempDir dir;
  const std::string cfg = dir.file("quictun.toml");
  std::ofstream(cfg) << "[quic]\ncongestion_control = \"bbr1\"\n\n[congestion.bbr1]\ncwnd_gian = 2.5\n";
  auto [c5, o5] = start_server({"-c", cfg});
  EXPECT_EQ(c5, 2);
  EXPECT_NE(o5.find(cfg + ":5"), std::string::npos) << o5;
  EXPECT_NE(o5.find("cwnd_gian"), std::string::npos) << o5;
  for (const char* key : {"ack_aggregation", "probe_rtt_when_queued_only", "react_to_congestion"}) {
    std::ofstream(cfg) << "[quic]\ncongestion_control = \"bbr1\"\n[congestion.bbr1]\n" << key << " = \"yes\"\n";
    auto [c, o] = start_server({"-c", cfg});
    EXPECT_EQ(c, 2) << key;
    EXPECT_NE(o.find(cfg + ":4"), std::string::npos) << o;
    EXPECT_NE(o.find(std::string("'") + key + "' must be a boolean"), std::string::npos) << o;
  }
  std::ofstream(cfg) << "[quic]\ncongestion_control = \"brutal\"\n[congestion.brutal]\ndown = \"100 parsecs\"\n";
  auto [c6, o6] = start_server({"-c", cfg});
  EXPECT_EQ(c6, 2);
  EXPECT_NE(o6.find(cfg + ":4"), std::string::npos) << o6;
  EXPECT_NE(o6.find("is not a rate"), std::string::npos) << o6;
}
