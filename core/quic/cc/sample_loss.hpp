// Bytes declared lost over one delivery-rate sample, counted from every loss the controller is
// told of. ngtcp2 1.11's own figure (rs->lost) counts only losses found while an ACK is
// processed, and leaves out those of the ACK that closes the sample and those its loss timer
// finds: at 10 % random loss it reported 2 % of the sampled bytes lost instead of 11 %, which
// left bbr1's bandwidth model 5 % under the link's rate.
//
// A sample starts when its newest acknowledged packet was sent, and the rate sampler names that
// moment by the connection's delivered total then (prior_delivered). So a mark of the loss
// counter is taken at the first send after each change of the delivered total.
#pragma once

#include <cstdint>
#include <deque>

namespace quictun::quic {

class SampleLoss {
 public:
  // A packet is sent; `delivered` and `lost` are the connection's totals now.
  void on_send(std::uint64_t delivered, std::uint64_t lost) {
    // The total only falls when ngtcp2 resets its rate sampler (a new path): start over.
    if (!marks_.empty() && marks_.back().delivered > delivered) marks_.clear();
    if (!marks_.empty() && marks_.back().delivered == delivered) return;
    // One mark per ACK that moved the total: a round trip's worth is a few thousand at most. The
    // cap only bounds a connection whose samples stopped coming (every ACK without a rate).
    if (marks_.size() >= kMaxMarks) marks_.pop_front();
    marks_.push_back({delivered, lost});
  }

  // Bytes lost since the sample that started at delivered total `prior_delivered`; `lost` is
  // the total now. 0 when that start is unknown (older than the marks kept).
  std::uint64_t lost_since(std::uint64_t prior_delivered, std::uint64_t lost) {
    // Later samples start no earlier (the sampler only moves to newer packets): older marks go.
    while (marks_.size() > 1 && marks_[1].delivered <= prior_delivered) marks_.pop_front();
    if (marks_.empty() || marks_.front().delivered != prior_delivered) return 0;
    return lost - marks_.front().lost;
  }

 private:
  static constexpr std::size_t kMaxMarks = 65536;
  struct Mark {
    std::uint64_t delivered;
    std::uint64_t lost;
  };
  std::deque<Mark> marks_;
};

}  // namespace quictun::quic
