#include "brutal.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace quictun::cc {
namespace {

constexpr std::uint64_t kSlotNs = 250'000'000ull;
constexpr std::uint64_t kMinSamplePackets = 50;  // fewer packets than this say nothing about loss

}  // namespace

Brutal::Slot& Brutal::slot(std::uint64_t now) {
  const std::uint64_t start = now / kSlotNs * kSlotNs;
  Slot& s = slots_[(now / kSlotNs) % slots_.size()];
  if (s.start != start) s = Slot{start, 0, 0};
  return s;
}

double Brutal::delivery_ratio(std::uint64_t now) const {
  std::uint64_t acked = 0, lost = 0;
  for (const auto& s : slots_) {
    if (s.start + slots_.size() * kSlotNs <= now) continue;  // older than the window
    acked += s.acked;
    lost += s.lost;
  }
  if (acked + lost < kMinSamplePackets * mss_) return 1;
  return static_cast<double>(acked) / static_cast<double>(acked + lost);
}

void Brutal::on_start(const sdk::PathState& path, sdk::CongestionOutput& out) {
  slots_ = {};
  mss_ = std::max<std::uint64_t>(path.max_datagram_size, 1200);
  set_outputs(path, out);
}

void Brutal::on_packet_lost(const sdk::LostPacket& packet, const sdk::PathState& path, sdk::CongestionOutput& out) {
  slot(path.now_ns).lost += packet.bytes;
}

void Brutal::on_ack(const sdk::AckSample& ack, const sdk::PathState& path, sdk::CongestionOutput& out) {
  mss_ = std::max<std::uint64_t>(path.max_datagram_size, 1200);
  slot(path.now_ns).acked += ack.bytes_acked;
  set_outputs(path, out);
}

void Brutal::set_outputs(const sdk::PathState& path, sdk::CongestionOutput& out) {
  const double floor = 1 - p_.max_compensation;
  last_ratio_ = std::max(delivery_ratio(path.now_ns), floor);
  const double rate = static_cast<double>(p_.rate) / last_ratio_;
  out.pacing_rate = static_cast<std::uint64_t>(rate);
  // Before the first RTT sample, a 100 ms guess: the window only has to let pacing work.
  const double rtt = path.has_rtt ? static_cast<double>(std::max(path.smoothed_rtt_ns, path.min_rtt_ns)) : 1e8;
  out.cwnd = std::max<std::uint64_t>(static_cast<std::uint64_t>(p_.cwnd_gain * rate * rtt / 1e9), 10 * mss_);
  out.send_quantum = std::clamp<std::uint64_t>(out.pacing_rate / 1000, 2 * mss_, 64 * 1024);
  out.in_slow_start = false;
}

std::string Brutal::describe() const {
  char line[160];
  std::snprintf(line, sizeof line, "brutal rate %.2f Mbit/s delivered %.1f %% sending %.2f Mbit/s",
                static_cast<double>(p_.rate) * 8 / 1e6, last_ratio_ * 100,
                static_cast<double>(p_.rate) * 8 / 1e6 / last_ratio_);
  return line;
}

std::uint64_t parse_rate(const std::string& text) {
  const char* s = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(s, &end);
  if (end == s || !std::isfinite(value) || value <= 0) return 0;
  std::string unit;
  for (const char* p = end; *p; ++p)
    if (!std::isspace(static_cast<unsigned char>(*p))) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  if (unit.size() >= 2 && unit.compare(unit.size() - 2, 2, "/s") == 0) unit.resize(unit.size() - 2);
  double scale = 1;
  std::size_t i = 0;
  if (i < unit.size() && (unit[i] == 'k' || unit[i] == 'm' || unit[i] == 'g')) {
    const bool binary = i + 1 < unit.size() && unit[i + 1] == 'i';
    const double base = binary ? 1024 : 1000;
    scale = unit[i] == 'k' ? base : unit[i] == 'm' ? base * base : base * base * base;
    i += binary ? 2 : 1;
  }
  const std::string rest = unit.substr(i);
  double bytes_per_unit;
  if (rest == "bit" || rest == "bps" || rest == "b/s" || rest == "bits") bytes_per_unit = 1.0 / 8;
  else if (rest == "b" || rest == "byte" || rest == "bytes") bytes_per_unit = 1;
  else return 0;
  const double rate = value * scale * bytes_per_unit;
  if (rate < 1000 || rate > 1e11) return 0;  // below 8 kbit/s or above 800 Gbit/s: a typo
  return static_cast<std::uint64_t>(rate);
}

}  // namespace quictun::cc
