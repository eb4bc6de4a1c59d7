// The best value seen over a sliding window, kept as the best three samples of the window's
// thirds (Kathleen Nichols' estimator, as BBR uses for its bandwidth and RTT filters). O(1) per
// sample; Better(a, b) says a beats b ("greater" for a max filter, "less" for a min filter).
#pragma once

#include <array>
#include <cstdint>

namespace quictun::cc {

template <typename Better>
class WindowedFilter {
 public:
  explicit WindowedFilter(std::uint64_t window) : window_(window) {}

  std::uint64_t best() const { return s_[0].value; }
  bool empty() const { return !s_[0].set; }
  void reset(std::uint64_t value, std::uint64_t time) { s_.fill({value, time, true}); }
  void clear() { s_.fill({}); }

  // `time` is in the window's unit (round trips or nanoseconds) and never decreases.
  void update(std::uint64_t value, std::uint64_t time) {
    const Better better;
    if (!s_[0].set || !better(s_[0].value, value) || time - s_[2].time > window_) {
      reset(value, time);
      return;
    }
    if (!better(s_[1].value, value)) {
      s_[1] = s_[2] = {value, time, true};
    } else if (!better(s_[2].value, value)) {
      s_[2] = {value, time, true};
    }
    // Age out: promote younger bests when the oldest left the window, or when a third passed
    // without a new best (so the filter never holds one stale sample for the whole window).
    const std::uint64_t dt = time - s_[0].time;
    if (dt > window_) {
      s_[0] = s_[1];
      s_[1] = s_[2];
      s_[2] = {value, time, true};
      if (time - s_[0].time > window_) {
        s_[0] = s_[1];
        s_[1] = s_[2];
      }
    } else if (s_[1].time == s_[0].time && dt > window_ / 4) {
      s_[1] = s_[2] = {value, time, true};
    } else if (s_[2].time == s_[1].time && dt > window_ / 2) {
      s_[2] = {value, time, true};
    }
  }

 private:
  struct Sample {
    std::uint64_t value = 0;
    std::uint64_t time = 0;
    bool set = false;
  };
  std::uint64_t window_;
  std::array<Sample, 3> s_{};
};

struct Greater {
  bool operator()(std::uint64_t a, std::uint64_t b) const { return a > b; }
};
struct Less {
  bool operator()(std::uint64_t a, std::uint64_t b) const { return a < b; }
};

}  // namespace quictun::cc
