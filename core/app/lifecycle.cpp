#include "app/lifecycle.hpp"

#include <signal.h>

#include <algorithm>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace quictun::app {
namespace {

constexpr std::uint64_t kDrainPollMs = 50;       // how often a drain looks for the last tunnel
constexpr std::uint64_t kCloseLingerMs = 200;    // CONNECTION_CLOSE leaves before the loop ends

}  // namespace

bool notify_service_manager(const std::string& state) {
  // 0 without NOTIFY_SOCKET (not under systemd): nothing to do. Failures are not fatal either:
  // a daemon must not stop serving because its supervisor went away.
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::debug("sd_notify({}) failed: {}", state, rc);
  return rc > 0;
}

Lifecycle::Lifecycle(event_base* loop, std::uint64_t drain_timeout_ms, Hooks hooks)
    : loop_(loop), drain_timeout_ms_(drain_timeout_ms), hooks_(std::move(hooks)) {
  ::signal(SIGPIPE, SIG_IGN);  // write errors are handled where they happen
  for (int sig : {SIGINT, SIGTERM}) {
    signals_.push_back(std::make_unique<Event>(loop, sig, EV_SIGNAL | EV_PERSIST, [this, sig](short) { on_stop_signal(sig); }));
    signals_.back()->add();
  }
  signals_.push_back(std::make_unique<Event>(loop, SIGHUP, EV_SIGNAL | EV_PERSIST, [this](short) { on_reload_signal(); }));
  signals_.back()->add();
  drain_poll_.assign(loop, -1, EV_PERSIST, [this](short) { check_drained(); });
  drain_limit_.assign(loop, -1, 0, [this](short) {
    spdlog::warn("drain: {} tunnel(s) still open after {} ms; closing them", hooks_.open_tunnels(), drain_timeout_ms_);
    close_and_stop();
  });
  stop_timer_.assign(loop, -1, 0, [this](short) { event_base_loopbreak(loop_); });
  watchdog_.assign(loop, -1, EV_PERSIST, [](short) { notify_service_manager("WATCHDOG=1"); });
}

void Lifecycle::ready(const std::string& status) {
  notify_service_manager("READY=1\nSTATUS=" + status);
  std::uint64_t usec = 0;
  // Pinging from the event loop itself: a loop that hangs stops the pings, and systemd restarts
  // the service, which is what the watchdog is for.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ms_ = std::max<std::uint64_t>(usec / 2000, 1);
    watchdog_.add_timeout_ms(watchdog_interval_ms_);
    spdlog::debug("systemd watchdog: pinging every {} ms", watchdog_interval_ms_);
  }
}

void Lifecycle::on_stop_signal(int sig) {
  if (draining_) {
    // A second signal: the operator does not want to wait.
    spdlog::info("signal {} again: closing now", sig);
    close_and_stop();
    return;
  }
  draining_ = true;
  notify_service_manager("STOPPING=1");
  hooks_.stop_accepting();
  const std::size_t open = hooks_.open_tunnels();
  spdlog::info("signal {}: draining, no new connections; {} open tunnel(s) get up to {} ms", sig, open, drain_timeout_ms_);
  drain_limit_.add_timeout_ms(drain_timeout_ms_);
  drain_poll_.add_timeout_ms(kDrainPollMs);
  check_drained();
}

void Lifecycle::check_drained() {
  if (closing_ || hooks_.open_tunnels() > 0) return;
  spdlog::info("drain: no open tunnels; closing the connections");
  close_and_stop();
}

void Lifecycle::close_and_stop() {
  if (closing_) return;
  closing_ = true;
  drain_poll_.del();
  drain_limit_.del();
  hooks_.close_connections();
  stop_timer_.add_timeout_ms(kCloseLingerMs);
}

void Lifecycle::on_reload_signal() {
  if (draining_) return;
  spdlog::info("SIGHUP: reloading token and certificate files");
  notify_service_manager("RELOADING=1");
  hooks_.reload();
  notify_service_manager("READY=1");
}

}  // namespace quictun::app
