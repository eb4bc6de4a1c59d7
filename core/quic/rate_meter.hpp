// Token buckets for the server's admission gate: "at most this many a second, with a burst of
// one second's worth". Time is the monotonic clock's nanoseconds (util/clock.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace quictun::quic {

class RateMeter {
 public:
  explicit RateMeter(double per_second = 0) : rate_(per_second), tokens_(per_second) {}
  // Takes one token; false when the rate is exceeded (a zero rate always refuses).
  bool take(std::uint64_t now_ns) {
    if (last_ns_) tokens_ = std::min(rate_, tokens_ + static_cast<double>(now_ns - last_ns_) * rate_ / 1e9);
    last_ns_ = now_ns;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double tokens_;
  std::uint64_t last_ns_ = 0;
};

// One RateMeter per key (a client IP), in bounded memory: when `max_keys` are tracked, all are
// forgotten. A flood from spoofed sources then resets the per-source view, which is why the
// gate also has a global meter.
class RateMeters {
 public:
  RateMeters(double per_second, std::size_t max_keys) : rate_(per_second), max_keys_(max_keys) {}
  bool take(const std::string& key, std::uint64_t now_ns) {
    auto it = meters_.find(key);
    if (it == meters_.end()) {
      if (meters_.size() >= max_keys_) meters_.clear();
      it = meters_.emplace(key, RateMeter(rate_)).first;
    }
    return it->second.take(now_ns);
  }

 private:
  double rate_;
  std::size_t max_keys_;
  std::unordered_map<std::string, RateMeter> meters_;
};

}  // namespace quictun::quic
