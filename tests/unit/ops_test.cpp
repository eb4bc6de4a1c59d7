// The pieces of the REST API and /metrics that need no sockets: quic-tun's rate and time
// layouts, and the Prometheus text rendering.
#include <gtest/gtest.h>

#include <regex>

#include "ops/metrics.hpp"
#include "tunnel/registry.hpp"

using namespace quictun;

TEST(Ops, RatesReadAsQuicTunPrintsThem) {
  EXPECT_EQ(tunnel::format_rate(0), "0.00 kB/s");
  EXPECT_EQ(tunnel::format_rate(1024), "1.00 kB/s");
  EXPECT_EQ(tunnel::format_rate(12636.16), "12.34 kB/s");
}

TEST(Ops, CreatedAtHasGosTimeStringLayout) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::string t = tunnel::go_time_string(now, steady_clock::now());
  EXPECT_TRUE(std::regex_match(t, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])? [+-]\d{4} \S+ m=\+\d+\.\d{9})")))
      << t;
  // A whole second has no fraction at all, as in Go.
  auto whole = time_point_cast<seconds>(now);
  std::string w = tunnel::go_time_string(whole, steady_clock::now());
  EXPECT_TRUE(std::regex_match(w, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} .*)"))) << w;
}

TEST(Ops, MetricsRenderInTheTextFormat) {
  ops::Metrics m;
  auto c = m.counter("q_things_total", "things\ncounted", {{"kind", "a\"b\\c\nd"}});
  c.inc();
  c.inc(2);
  m.gauge("q_level", "a level").set(0.25);
  int collected = 0;
  m.on_collect([&](ops::Metrics& mm) {
    ++collected;
    mm.gauge("q_live", "read when scraped").set(7);
  });
  std::string text = m.render();
  EXPECT_EQ(collected, 1);
  EXPECT_NE(text.find("# HELP q_things_total things\\ncounted\n# TYPE q_things_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("q_things_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE q_level gauge\nq_level 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("q_live 7\n"), std::string::npos) << text;
  EXPECT_THROW(m.gauge("q_things_total", "not a gauge"), std::exception);
}
