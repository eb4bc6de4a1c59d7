// The event loop both programs run on.
#pragma once

#include "util/event.hpp"

namespace quictun::app {

// A libevent base with precise timers: QUIC paces packets at sub-millisecond intervals, and
// epoll's millisecond timeouts would otherwise round every pacing delay up.
EventBasePtr make_loop();

}  // namespace quictun::app
