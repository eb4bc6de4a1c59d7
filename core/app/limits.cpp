#include "app/limits.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>

namespace quictun::app {

void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  rlim_t old = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    spdlog::debug("open-file limit raised from {} to {}", old, lim.rlim_cur);
}

}  // namespace quictun::app

namespace quictun::app {

void tune_allocator() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

}  // namespace quictun::app
