// A daemon's life after start-up, the same for both programs: readiness and watchdog pings to
// systemd, SIGHUP reloads, and the SIGTERM/SIGINT drain (stop accepting, let open tunnels finish
// for a bounded time, close the QUIC connections gracefully, end the loop). Without systemd
// (no NOTIFY_SOCKET) the notifications are no-ops.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/event.hpp"

namespace quictun::app {

// One message to the service manager ("READY=1", "STOPPING=1", ...); false when there is none.
bool notify_service_manager(const std::string& state);

class Lifecycle {
 public:
  struct Hooks {
    std::function<void()> stop_accepting;        // drain begins: no new connections or streams
    std::function<std::size_t()> open_tunnels;   // the drain ends early when this reaches 0
    std::function<void()> close_connections;     // CONNECTION_CLOSE to every peer
    std::function<void()> reload;                // SIGHUP: re-read token and certificate files
  };

  // `drain_timeout_ms`: how long open tunnels may run after SIGTERM before the connections close.
  Lifecycle(event_base* loop, std::uint64_t drain_timeout_ms, Hooks hooks);
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Start-up is complete: READY=1, and watchdog pings begin when systemd asks for them.
  void ready(const std::string& status);

 private:
  void on_stop_signal(int sig);
  void on_reload_signal();
  void check_drained();
  void close_and_stop();

  event_base* loop_;
  std::uint64_t drain_timeout_ms_;
  Hooks hooks_;
  std::vector<std::unique_ptr<Event>> signals_;
  Event drain_poll_;   // while draining: checks whether the tunnels are gone
  Event drain_limit_;  // the grace period's end
  Event stop_timer_;   // lets CONNECTION_CLOSE leave before the loop ends
  Event watchdog_;
  std::uint64_t watchdog_interval_ms_ = 0;
  bool draining_ = false;
  bool closing_ = false;
};

}  // namespace quictun::app
