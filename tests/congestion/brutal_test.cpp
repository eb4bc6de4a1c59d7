// brutal (plugins/cc-brutal) against the simulated ACK clock: it delivers the declared rate
// through random loss, and its make-up for loss is capped.
#include <gtest/gtest.h>

#include "brutal.hpp"
#include "link_sim.hpp"

namespace quictun::test {
namespace {

TEST(Brutal, DeliversTheDeclaredRateThroughLoss) {
  for (double loss : {0.0, 0.05, 0.10}) {
    LinkSim sim({.loss = loss});
    auto& f = sim.add_flow(std::make_unique<cc::Brutal>(cc::BrutalParams{.rate = 6'250'000}));  // 50 Mbit/s
    sim.run(3 * kSec);
    sim.reset_window();
    sim.run(13 * kSec);
    EXPECT_NEAR(sim.goodput(f) * 8 / 1e6, 50, 3) << "loss " << loss << ": " << f.cc->describe();
  }
}

TEST(Brutal, CapsItsMakeUpForLoss) {
  // At 40 % loss full make-up would send 1.67x; the cap (25 % of what is sent) allows 1.33x.
  LinkSim sim({.loss = 0.40});
  auto& f = sim.add_flow(std::make_unique<cc::Brutal>(cc::BrutalParams{.rate = 3'125'000}));  // 25 Mbit/s
  sim.run(3 * kSec);
  sim.reset_window();
  sim.run(13 * kSec);
  auto* b = static_cast<cc::Brutal*>(f.cc.get());
  EXPECT_NEAR(b->delivery_ratio(sim.now()), 0.6, 0.03);
  EXPECT_NEAR(static_cast<double>(f.out.pacing_rate), 3'125'000 / 0.75, 3'125'000 * 0.02) << b->describe();
  EXPECT_NEAR(sim.goodput(f) * 8 / 1e6, 25 * 0.6 / 0.75, 1.5) << b->describe();
}

TEST(Brutal, ParsesRates) {
  EXPECT_EQ(cc::parse_rate("100mbit"), 12'500'000u);
  EXPECT_EQ(cc::parse_rate("100 Mbps"), 12'500'000u);
  EXPECT_EQ(cc::parse_rate("12.5MB/s"), 12'500'000u);
  EXPECT_EQ(cc::parse_rate("1gbit"), 125'000'000u);
  EXPECT_EQ(cc::parse_rate("800kbit"), 100'000u);
  EXPECT_EQ(cc::parse_rate("1MiB"), 1'048'576u);
  EXPECT_EQ(cc::parse_rate("100"), 0u) << "a unit is required";
  EXPECT_EQ(cc::parse_rate("fast"), 0u);
  EXPECT_EQ(cc::parse_rate("-5mbit"), 0u);
  EXPECT_EQ(cc::parse_rate("1kbit"), 0u) << "below 8 kbit/s is a typo";
}

}  // namespace
}  // namespace quictun::test
