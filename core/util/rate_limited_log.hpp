// A log for events that an attacker or a broken peer can make happen at any rate (forged
// packets, refusals). The first event after a quiet second is logged at once, in full; the ones
// that follow it are only counted, and one summary line a second gives the counts per kind.
// Under a steady flood that is one line a second, however fast the events come.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "util/event.hpp"

namespace quictun {

class RateLimitedLog {
 public:
  // `name` opens every line ("server"); the summary is written every `interval_ns`.
  RateLimitedLog(event_base* loop, std::string name, spdlog::level::level_enum level = spdlog::level::info,
                 std::uint64_t interval_ns = 1'000'000'000ull);
  RateLimitedLog(const RateLimitedLog&) = delete;
  RateLimitedLog& operator=(const RateLimitedLog&) = delete;

  // One event of `kind` (a short phrase: "Retry sent", "connection refused: limit reached").
  // `detail` (the source address, a reason) is shown in the line of a first event and as the
  // latest of its kind in a summary.
  void event(std::string_view kind, std::string_view detail = {});

  std::uint64_t lines_written() const { return lines_; }

 private:
  struct Count {
    std::uint64_t n = 0;
    std::string latest;  // detail of the latest event of this kind
  };
  void on_tick();

  std::string name_;
  spdlog::level::level_enum level_;
  std::uint64_t interval_ns_;
  std::map<std::string, Count, std::less<>> counts_;  // since the last line; ordered for stable output
  bool quiet_ = true;  // nothing happened during the last interval: the next event is logged at once
  std::uint64_t lines_ = 0;
  Event tick_;
};

}  // namespace quictun
