#include "app/congestion_choice.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "quic/cc/builtin.hpp"
#include "quic/cc/plugin_controller.hpp"
#include "util/error.hpp"

namespace quictun::app {

void choose_congestion(config::CommonSettings& s, plugin::PluginLoader& loader) {
  const std::string& name = s.quic.congestion;
  const std::string origin = s.congestion_origin.empty() ? "the default congestion controller" : s.congestion_origin;
  if (quic::builtin_congestion(name)) {
    if (!s.congestion_argument.empty())
      throw UsageError(s.congestion_argument_origin + ": congestion controller " + name +
                       " (ngtcp2's own) takes no argument");
    s.quic.congestion_plugin.reset();
    return;
  }
  if (!quic::PluginController::available() && s.congestion_origin.empty() && s.congestion_argument.empty()) {
    // Nobody asked for a plugin controller, and this build cannot hold one: ngtcp2's own bbr.
    spdlog::info("congestion controller: bbr (ngtcp2's; this build has no plugin controllers, so not {})", name);
    s.quic.congestion = "bbr";
    s.quic.congestion_plugin.reset();
    return;
  }
  std::vector<std::string> names = loader.available(plugin::Kind::congestion);
  if (std::find(names.begin(), names.end(), name) == names.end() && s.congestion_origin.empty() &&
      s.congestion_argument.empty()) {
    // Nobody asked for bbr1: a plugin directory without cc-bbr1 still gets a working tunnel.
    spdlog::warn("the default congestion controller {} is not in the plugin directories (plugin cc-{}); using "
                 "ngtcp2's bbr, which backs off under random loss",
                 name, name);
    s.quic.congestion = "bbr";
    s.quic.congestion_plugin.reset();
    return;
  }
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    for (const auto& b : quic::builtin_congestion_names()) names.push_back(b);
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UsageError(origin + ": unknown congestion controller \"" + name + "\" (available: " + list + ")");
  }
  if (!quic::PluginController::available())
    throw UsageError(origin + ": congestion controller \"" + name + "\" is a plugin's, but " +
                     quic::PluginController::unavailable_reason());
  s.quic.congestion_plugin = loader.congestion_control(
      name, s.plugin_config("congestion." + name, s.congestion_argument, s.congestion_argument_origin));
  spdlog::debug("congestion controller: {} (plugin)", name);
}

}  // namespace quictun::app
