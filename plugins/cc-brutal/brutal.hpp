// brutal: send at a rate the user declares, whatever the path says, raised to make up for the
// loss it measures (so the rate that arrives is the declared one), with that make-up capped.
// For links the user owns and knows the speed of; on a shared path it takes what it declares.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <quictun/sdk/congestion.hpp>

namespace quictun::cc {

struct BrutalParams {
  std::uint64_t rate = 0;          // bytes per second to deliver
  double max_compensation = 0.25;  // at most this fraction of what is sent may be make-up: the
                                   // rate is raised to at most rate / (1 - max_compensation)
  double cwnd_gain = 2.0;          // window: this many rate x RTT products, so pacing rules
};

class Brutal : public sdk::CongestionController {
 public:
  explicit Brutal(const BrutalParams& params) : p_(params) {}

  void on_start(const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_packet_lost(const sdk::LostPacket& packet, const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_ack(const sdk::AckSample& ack, const sdk::PathState& path, sdk::CongestionOutput& out) override;
  std::string describe() const override;

  // The fraction of sent bytes that arrive, over the last two seconds (1 until enough is known).
  double delivery_ratio(std::uint64_t now) const;

 private:
  // Acked and lost bytes in 250 ms slots over the last two seconds.
  struct Slot {
    std::uint64_t start = 0;
    std::uint64_t acked = 0;
    std::uint64_t lost = 0;
  };
  Slot& slot(std::uint64_t now);
  void set_outputs(const sdk::PathState& path, sdk::CongestionOutput& out);

  BrutalParams p_;
  std::array<Slot, 8> slots_{};
  std::uint64_t mss_ = 1200;
  double last_ratio_ = 1;
};

// "100mbit", "100 Mbps", "12.5MB", "12.5 MB/s", "800kbit", "1gbit"; bits for bit/bps units,
// bytes for B units (case-insensitive; k, m, g are powers of 1000, ki, mi, gi of 1024). 0 on error.
std::uint64_t parse_rate(const std::string& text);

}  // namespace quictun::cc
