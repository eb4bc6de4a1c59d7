#include "quic/cc/sample_loss.hpp"

#include <gtest/gtest.h>

namespace quictun::quic {
namespace {

TEST(SampleLoss, CountsEveryLossSinceTheSampleStarted) {
  SampleLoss s;
  s.on_send(0, 0);        // the sample's packet, sent before anything was delivered
  s.on_send(0, 0);
  s.on_send(1000, 0);     // an ACK moved the total
  s.on_send(2000, 1200);  // an ACK declared 1200 bytes lost, a later packet goes out
  // The ACK closing the sample declares another 1200 lost before the controller hears of it.
  EXPECT_EQ(s.lost_since(0, 2400), 2400u);
  EXPECT_EQ(s.lost_since(1000, 2400), 2400u);
  EXPECT_EQ(s.lost_since(2000, 2400), 1200u);
}

TEST(SampleLoss, LossesFoundByTheTimerCountToo) {
  // A timer-declared loss changes the loss total without an ACK: a packet sent after it keeps
  // the mark of the first send at that delivered total, so the loss counts for that sample.
  SampleLoss s;
  s.on_send(5000, 100);
  s.on_send(5000, 1300);  // the timer declared 1200 lost between two sends
  EXPECT_EQ(s.lost_since(5000, 1300), 1200u);
}

TEST(SampleLoss, UnknownStartsCountNothing) {
  SampleLoss s;
  EXPECT_EQ(s.lost_since(0, 500), 0u);
  s.on_send(3000, 10);
  EXPECT_EQ(s.lost_since(1000, 500), 0u);  // older than every mark
}

TEST(SampleLoss, ForgetsMarksOlderThanTheLastSampleAndStartsOverAfterAReset) {
  SampleLoss s;
  s.on_send(0, 0);
  s.on_send(1000, 50);
  s.on_send(2000, 80);
  EXPECT_EQ(s.lost_since(2000, 90), 10u);
  EXPECT_EQ(s.lost_since(0, 90), 0u);  // gone: samples never move back
  s.on_send(0, 0);                     // the sampler was reset (new path)
  s.on_send(400, 20);
  EXPECT_EQ(s.lost_since(0, 30), 30u);
  EXPECT_EQ(s.lost_since(400, 30), 10u);
}

}  // namespace
}  // namespace quictun::quic
