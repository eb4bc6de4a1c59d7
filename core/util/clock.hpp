// The one clock quictun uses: monotonic nanoseconds, as ngtcp2 expects.
#pragma once

#include <time.h>

#include <cstdint>

namespace quictun {

inline std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace quictun
