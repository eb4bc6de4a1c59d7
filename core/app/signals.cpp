#include "app/signals.hpp"

#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace quictun::app {

ShutdownSignals::ShutdownSignals(event_base* loop, std::function<void(int)> on_signal) {
  ::signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGINT, SIGTERM}) {
    events_.push_back(std::make_unique<Event>(loop, sig, EV_SIGNAL | EV_PERSIST,
                                              [on_signal, sig](short) { on_signal(sig); }));
    events_.back()->add();
  }
}

void setup_logging(const std::string& program, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(program);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e " + program + " %l: %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace quictun::app
