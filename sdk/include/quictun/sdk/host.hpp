// quictun plugin SDK: what the host offers a plugin.
#pragma once

#include <string_view>

struct event_base;  // libevent; plugins that need I/O or timers use the host's loop

namespace quictun::sdk {

enum class LogLevel { trace, debug, info, warn, error };

// Which program loaded the plugin: a congestion controller shapes what its side sends
// (client: uploads, server: downloads).
enum class Side { client, server };

// Services of the host program, valid for as long as any object the plugin created lives.
// Every call into a plugin happens on the host's single event-loop thread; a plugin that starts
// threads must come back to that thread (for instance with an event on loop()) before it calls
// a completion callback.
class Host {
 public:
  virtual ~Host() = default;
  // The libevent loop every connection runs on. Never block it.
  virtual event_base* loop() = 0;
  // Writes one line to the host's log, tagged with the plugin's name.
  virtual void log(LogLevel level, std::string_view message) = 0;
  virtual Side side() const = 0;
};

}  // namespace quictun::sdk
