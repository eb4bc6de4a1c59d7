// Turns the configured controller name into what connections use: one of ngtcp2's own, or a
// plugin's controller created (and its [congestion.<name>] table validated) at start-up.
#pragma once

#include "config/settings.hpp"
#include "plugin/loader.hpp"

namespace quictun::app {

// Fills settings.quic.congestion_plugin when the name is a plugin's. Throws UsageError naming
// where the controller was chosen when it is unknown (listing every available name), or when
// this build cannot install plugin controllers.
void choose_congestion(config::CommonSettings& settings, plugin::PluginLoader& loader);

}  // namespace quictun::app
