#include "app/loop.hpp"

#include "util/error.hpp"

namespace quictun::app {

EventBasePtr make_loop() {
  event_config* cfg = event_config_new();
  event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
  EventBasePtr base(event_base_new_with_config(cfg));
  event_config_free(cfg);
  if (!base) throw RuntimeError("cannot create the event loop");
  return base;
}

}  // namespace quictun::app
