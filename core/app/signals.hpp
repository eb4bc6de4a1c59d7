// SIGINT/SIGTERM end the loop through a callback; SIGPIPE is ignored (write errors are handled).
#pragma once

#include <functional>
#include <vector>

#include "util/event.hpp"

namespace quictun::app {

class ShutdownSignals {
 public:
  ShutdownSignals(event_base* loop, std::function<void(int)> on_signal);

 private:
  std::vector<std::unique_ptr<Event>> events_;
};

}  // namespace quictun::app
