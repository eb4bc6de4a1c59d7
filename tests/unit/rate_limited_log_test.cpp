// RateLimitedLog: a flood of events becomes one line at once and then one summary a second.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "quic/rate_meter.hpp"
#include "util/event.hpp"
#include "util/rate_limited_log.hpp"

using namespace quictun;

namespace {
// Routes the default logger into `out` for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST(RateLimitedLog, AFloodBecomesOneLineThenOneSummaryPerInterval) {
  CapturedLog captured;
  EventBasePtr loop(event_base_new());
  RateLimitedLog log(loop.get(), "server", spdlog::level::info, 100'000'000);  // 100 ms
  for (int i = 0; i < 10000; ++i) log.event("Retry sent", "10.0.0." + std::to_string(i % 7));
  for (int i = 0; i < 5; ++i) log.event("connection refused");
  EXPECT_EQ(lines(captured.text()), 1u) << captured.text();
  EXPECT_NE(captured.text().find("server: Retry sent: 10.0.0.0"), std::string::npos) << captured.text();
  timeval stop{0, 350'000};
  event_base_loopexit(loop.get(), &stop);
  event_base_dispatch(loop.get());
  // The summary counts what followed the first line; later ticks find nothing and go quiet.
  EXPECT_EQ(lines(captured.text()), 2u) << captured.text();
  EXPECT_NE(captured.text().find("9999 x Retry sent (latest: 10.0.0.3); 5 x connection refused"), std::string::npos)
      << captured.text();
  EXPECT_EQ(log.lines_written(), 2u);
  // Quiet again: the next event is logged at once, in full.
  log.event("Retry sent", "10.0.0.9");
  EXPECT_EQ(lines(captured.text()), 3u) << captured.text();
}

TEST(RateMeter, AllowsTheRateWithABurstOfOneSecond) {
  quic::RateMeter m(10);
  std::uint64_t t = 1'000'000'000;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += m.take(t);
  EXPECT_EQ(allowed, 10);
  t += 500'000'000;  // half a second refills half the bucket
  allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += m.take(t);
  EXPECT_EQ(allowed, 5);
  EXPECT_FALSE(quic::RateMeter(0).take(t));
}
