#include "app/signals.hpp"

#include <signal.h>

namespace quictun::app {

ShutdownSignals::ShutdownSignals(event_base* loop, std::function<void(int)> on_signal) {
  ::signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGINT, SIGTERM}) {
    events_.push_back(std::make_unique<Event>(loop, sig, EV_SIGNAL | EV_PERSIST,
                                              [on_signal, sig](short) { on_signal(sig); }));
    events_.back()->add();
  }
}

}  // namespace quictun::app
