#include <spdlog/spdlog.h>

#include <iostream>

#include "app/congestion_choice.hpp"
#include "app/lifecycle.hpp"
#include "app/limits.hpp"
#include "app/logging.hpp"
#include "app/main_common.hpp"
#include "app/loop.hpp"
#include "app/server_app.hpp"

int main(int argc, char** argv) {
  using namespace quictun;
  return app::run_program("quictun-server", [&] {
    config::ServerSettings settings;
    if (config::parse_server(argc, argv, settings) == config::ParseResult::exit_ok) return 0;
    app::setup_logging("quictun-server", settings);
    app::raise_open_file_limit();
    app::tune_allocator();
    EventBasePtr loop = app::make_loop();
    if (settings.list_plugins) return app::list_plugins(settings, loop.get(), sdk::Side::server, std::cout);
    int exit_code = 0;
    {
      plugin::PluginLoader loader(app::plugin_dirs_for(settings), loop.get(), sdk::Side::server);
      app::choose_congestion(settings, loader);
      {
        app::ServerApp server(settings, loop.get(), loader);
        app::Lifecycle lifecycle(loop.get(), settings.drain_timeout_ms,
                                 {.stop_accepting = [&] { server.stop_accepting(); },
                                  .open_tunnels = [&] { return server.open_tunnels(); },
                                  .close_connections = [&] { server.shutdown(); },
                                  .reload = [&] { server.reload(); }});
        lifecycle.ready("listening on UDP " + settings.listen_on);
        event_base_dispatch(loop.get());
      }
      // Plugins may finish cleanup on the loop (cancelled DNS lookups, for one) after their
      // objects are gone: let that run while their libraries are still loaded.
      for (int i = 0; i < 3; ++i) event_base_loop(loop.get(), EVLOOP_NONBLOCK);
    }
    spdlog::info("stopped");
    return exit_code;
  });
}
