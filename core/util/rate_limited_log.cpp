#include "util/rate_limited_log.hpp"

namespace quictun {

RateLimitedLog::RateLimitedLog(event_base* loop, std::string name, spdlog::level::level_enum level,
                               std::uint64_t interval_ns)
    : name_(std::move(name)), level_(level), interval_ns_(interval_ns) {
  tick_.assign(loop, -1, 0, [this](short) { on_tick(); });
}

void RateLimitedLog::event(std::string_view kind, std::string_view detail) {
  if (quiet_) {
    quiet_ = false;
    ++lines_;
    spdlog::log(level_, "{}: {}{}{} (more of these are summarised once a second)", name_, kind,
                detail.empty() ? "" : ": ", detail);
    tick_.add_timeout_ns(interval_ns_);
    return;
  }
  auto it = counts_.find(kind);
  if (it == counts_.end()) it = counts_.emplace(std::string(kind), Count{}).first;
  ++it->second.n;
  it->second.latest.assign(detail);
}

void RateLimitedLog::on_tick() {
  if (counts_.empty()) {
    quiet_ = true;
    return;
  }
  std::string line;
  for (const auto& [kind, c] : counts_) {
    if (!line.empty()) line += "; ";
    line += std::to_string(c.n) + " x " + kind;
    if (!c.latest.empty()) line += " (latest: " + c.latest + ")";
  }
  counts_.clear();
  ++lines_;
  spdlog::log(level_, "{}: in the last {:.1f} s: {}", name_, interval_ns_ / 1e9, line);
  tick_.add_timeout_ns(interval_ns_);
}

}  // namespace quictun
