// The emulator's impairment model, driven by a made-up clock: what each flag promises, checked
// exactly where it is exact and statistically (with fixed seeds) where it is random.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model.hpp"
#include "units.hpp"

namespace quictun::netem {
namespace {

constexpr Nanos kMs = 1'000'000;

// Designated initialisers would be neater, but GCC warns about the members left out.
template <typename F>
Impairment impairment(F set) {
  Impairment i;
  set(i);
  return i;
}

TEST(NetemUnits, ParseWhatTheReadmeShows) {
  EXPECT_EQ(parse_duration("--delay", "25ms"), 25 * kMs);
  EXPECT_EQ(parse_duration("--delay", "1.5s"), 1500 * kMs);
  EXPECT_EQ(parse_duration("--delay", "250us"), 250'000);
  EXPECT_EQ(parse_duration("--delay", "0"), 0);
  EXPECT_DOUBLE_EQ(parse_percent("--loss", "1%"), 0.01);
  EXPECT_DOUBLE_EQ(parse_percent("--loss", "0.5%"), 0.005);
  EXPECT_EQ(parse_rate("--rate", "100mbit"), 100'000'000u);
  EXPECT_EQ(parse_rate("--rate", "1.5gbit"), 1'500'000'000u);
  EXPECT_EQ(parse_queue("--queue", "1000pkt").amount, 1000u);
  EXPECT_TRUE(parse_queue("--queue", "1000pkt").in_packets);
  EXPECT_EQ(parse_queue("--queue", "64kib").amount, 65536u);
  EXPECT_FALSE(parse_queue("--queue", "64kib").in_packets);
}

TEST(NetemUnits, ErrorsNameTheFlag) {
  auto message = [](auto parse, const char* flag, const char* text) -> std::string {
    try {
      parse(flag, text);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(parse_duration, "--a2b-delay", "25"),
            "--a2b-delay: '25' needs a unit (ns, us, ms, s)");
  EXPECT_EQ(message(parse_percent, "--loss", "150%"), "--loss: '150%' is more than 100%");
  EXPECT_NE(message(parse_percent, "--loss", "1").find("--loss: '1' needs a unit"),
            std::string::npos);
  EXPECT_NE(message(parse_rate, "--rate", "100mbps").find("--rate: '100mbps' is ambiguous"),
            std::string::npos);
  EXPECT_NE(message(parse_queue, "--queue", "-3pkt").find("--queue:"), std::string::npos);
  EXPECT_NE(message(parse_duration, "--jitter", "abc").find("--jitter:"), std::string::npos);
}

TEST(NetemModel, FixedDelayIsAddedToEveryPacket) {
  LinkModel link(impairment([](auto& i) { i.delay = 20 * kMs; }), 1);
  for (Nanos t : {Nanos{0}, 5 * kMs, 5 * kMs, 100 * kMs}) {
    const Verdict v = link.admit(t, 1200);
    EXPECT_EQ(v.fate, Fate::deliver);
    EXPECT_EQ(v.release, t + 20 * kMs);
  }
}

TEST(NetemModel, RateSerialisesPacketsAndQueueDropsTheOverflow) {
  // 8 Mbit/s: a 1000-byte packet takes exactly 1 ms. Queue of 3 includes the one being sent.
  LinkModel link(impairment([](auto& i) {
                   i.rate_bps = 8'000'000;
                   i.queue = {3, true};
                 }),
                 1);
  EXPECT_EQ(link.admit(0, 1000).release, 1 * kMs);
  EXPECT_EQ(link.admit(0, 1000).release, 2 * kMs);
  EXPECT_EQ(link.admit(0, 1000).release, 3 * kMs);
  EXPECT_EQ(link.admit(0, 1000).fate, Fate::drop_queue);
  // At 1 ms the first has left, so one slot is free again.
  EXPECT_EQ(link.admit(1 * kMs, 1000).release, 4 * kMs);
  EXPECT_EQ(link.admit(1 * kMs, 1000).fate, Fate::drop_queue);
  // An idle link sends at once.
  EXPECT_EQ(link.admit(50 * kMs, 1000).release, 51 * kMs);
  EXPECT_EQ(link.peak_queue_packets(), 3u);
}

TEST(NetemModel, ByteQueueLimitsBacklogInBytes) {
  LinkModel link(impairment([](auto& i) {
                   i.rate_bps = 8'000'000;
                   i.queue = {2500, false};
                 }),
                 1);
  EXPECT_EQ(link.admit(0, 1000).fate, Fate::deliver);
  EXPECT_EQ(link.admit(0, 1000).fate, Fate::deliver);
  EXPECT_EQ(link.admit(0, 1000).fate, Fate::drop_queue);  // 3000 > 2500
  EXPECT_EQ(link.admit(0, 500).fate, Fate::deliver);      // exactly 2500
  // A packet bigger than the whole queue still passes an idle link.
  EXPECT_EQ(link.admit(kMs * 100, 9000).fate, Fate::deliver);
}

TEST(NetemModel, RandomLossMatchesTheProbabilityAndTheSeedReplays) {
  const Impairment lossy = impairment([](auto& i) { i.loss = 0.05; });
  LinkModel a(lossy, 42), b(lossy, 42);
  int lost = 0;
  for (int i = 0; i < 100'000; ++i) {
    const Verdict va = a.admit(i, 100), vb = b.admit(i, 100);
    ASSERT_EQ(va.fate, vb.fate) << "same seed, same decisions";
    lost += va.fate == Fate::drop_loss;
  }
  EXPECT_NEAR(lost / 100'000.0, 0.05, 0.005);
}

TEST(NetemModel, GilbertElliottLossComesInBursts) {
  // Bad p/(p+r) = 1/26 of the time, all lost there; bursts last 1/r = 4 packets on average.
  LinkModel link(impairment([](auto& i) { i.burst = {0.01, 0.25, 0, 1}; }), 3);
  int lost = 0, bursts = 0;
  bool previous_lost = false;
  for (int i = 0; i < 200'000; ++i) {
    const bool is_lost = link.admit(i, 100).fate == Fate::drop_burst;
    lost += is_lost;
    bursts += is_lost && !previous_lost;
    previous_lost = is_lost;
  }
  EXPECT_NEAR(lost / 200'000.0, 1.0 / 26, 0.005);
  EXPECT_NEAR(static_cast<double>(lost) / bursts, 4.0, 0.4);
}

TEST(NetemModel, JitterDoesNotReorderUnlessAsked) {
  const Impairment in_order = impairment([](auto& i) {
    i.delay = 20 * kMs;
    i.jitter = 10 * kMs;
  });
  Impairment reordering = in_order;
  reordering.jitter_reorders = true;
  LinkModel ordered(in_order, 5), free(reordering, 5);
  Nanos last = 0;
  int inversions = 0;
  Nanos min_delay = 1'000 * kMs, max_delay = 0, last_free = 0;
  for (Nanos t = 0; t < 10'000 * kMs; t += kMs) {
    const Verdict v = ordered.admit(t, 100);
    EXPECT_GE(v.release, last);
    last = v.release;
    const Verdict w = free.admit(t, 100);
    min_delay = std::min(min_delay, w.release - t);
    max_delay = std::max(max_delay, w.release - t);
    inversions += w.release < last_free;
    last_free = w.release;
  }
  EXPECT_GT(inversions, 100) << "1 ms spacing with +/-10 ms jitter must reorder when allowed";
  EXPECT_GE(min_delay, 10 * kMs);
  EXPECT_LE(max_delay, 30 * kMs);
  EXPECT_LT(min_delay, 11 * kMs);
  EXPECT_GT(max_delay, 29 * kMs);
}

TEST(NetemModel, ReorderHoldsBackSomePacketsByTheExtraDelay) {
  LinkModel link(impairment([](auto& i) {
                   i.delay = 10 * kMs;
                   i.reorder = 0.1;
                   i.reorder_delay = 5 * kMs;
                 }),
                 9);
  int held = 0;
  for (int i = 0; i < 10'000; ++i) {
    const Nanos t = i * kMs;
    const Verdict v = link.admit(t, 100);
    if (v.reordered) {
      ++held;
      EXPECT_EQ(v.release, t + 15 * kMs);
    } else {
      EXPECT_EQ(v.release, t + 10 * kMs);
    }
  }
  EXPECT_NEAR(held / 10'000.0, 0.1, 0.015);
}

TEST(NetemModel, DuplicateCopiesSomeDeliveredPacketsAndLeavesLossAlone) {
  auto with = [](double duplicate) {
    return impairment([duplicate](auto& i) {
      i.delay = 10 * kMs;
      i.loss = 0.1;
      i.duplicate = duplicate;
    });
  };
  LinkModel plain(with(0), 5);
  LinkModel duplicating(with(0.2), 5);
  int delivered = 0;
  int copies = 0;
  for (int i = 0; i < 10'000; ++i) {
    const Nanos t = i * kMs;
    const Verdict a = plain.admit(t, 100);
    const Verdict b = duplicating.admit(t, 100);
    EXPECT_FALSE(a.duplicated);
    // Duplication draws from its own stream, so the same seed loses the same packets.
    ASSERT_EQ(a.fate, b.fate) << "packet " << i;
    if (b.fate != Fate::deliver) {
      EXPECT_FALSE(b.duplicated);
      continue;
    }
    ++delivered;
    if (b.duplicated) ++copies;
    EXPECT_EQ(b.release, t + 10 * kMs);
  }
  EXPECT_NEAR(delivered / 10'000.0, 0.9, 0.015);
  EXPECT_NEAR(static_cast<double>(copies) / delivered, 0.2, 0.02);
}

}  // namespace
}  // namespace quictun::netem
