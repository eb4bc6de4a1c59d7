#include "tunnel/tunnel_limits.hpp"

namespace quictun::tunnel {
namespace {
constexpr std::uint64_t kBufferSampleMs = 100;
}  // namespace

std::optional<std::string> TunnelAdmission::refusal(const void* group) {
  if (group) {
    if (auto it = per_group_.find(group); it != per_group_.end() && it->second >= limits_.max_per_connection) {
      ++stats_.refused_per_connection;
      return "limit: " + std::to_string(it->second) + " tunnels open on this connection (max_tunnels_per_connection " +
             std::to_string(limits_.max_per_connection) + ")";
    }
  }
  if (stats_.open >= limits_.max_total) {
    ++stats_.refused_total;
    return "limit: " + std::to_string(stats_.open) + " tunnels open on the " + side_ + " (max_tunnels " +
           std::to_string(limits_.max_total) + ")";
  }
  if (stats_.buffered_bytes >= limits_.max_buffered_bytes) {
    ++stats_.refused_memory;
    return "limit: tunnels hold " + std::to_string(stats_.buffered_bytes) + " bytes (max_buffered_bytes " +
           std::to_string(limits_.max_buffered_bytes) + ")";
  }
  return std::nullopt;
}

void TunnelAdmission::admit(const void* tunnel, const void* group) {
  if (!counted_.emplace(tunnel, group).second) return;
  if (group) ++per_group_[group];
  ++stats_.open;
}

void TunnelAdmission::release(const void* tunnel) {
  auto c = counted_.find(tunnel);
  if (c == counted_.end()) return;
  if (c->second)
    if (auto g = per_group_.find(c->second); g != per_group_.end() && --g->second == 0) per_group_.erase(g);
  counted_.erase(c);
  --stats_.open;
}

void TunnelAdmission::sample_buffered_bytes(event_base* loop, std::function<std::uint64_t()> sum) {
  sum_ = std::move(sum);
  sampler_.assign(loop, -1, EV_PERSIST, [this](short) { stats_.buffered_bytes = sum_(); });
  sampler_.add_timeout_ms(kBufferSampleMs);
}

}  // namespace quictun::tunnel
