// classifier-spice: the "spice" traffic classifier (spice.hpp).
#include <quictun/sdk.hpp>

#include "spice.hpp"

namespace {

using namespace quictun;

std::unique_ptr<sdk::Classifier> create(const sdk::PluginConfig& config, sdk::Host&) {
  for (const auto& [key, value] : config.table) throw config.error(key, "unknown key (spice has no settings)");
  return std::make_unique<classifier_spice::SpiceClassifier>();
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "classifier-spice";
  d.version = "0.1.0";
  d.description = "names SPICE remote-display traffic: version, channel type and id, session id, server name and UUID";
  d.classifiers.push_back({"spice", "SPICE link messages (\"REDQ\"): version, sessionId, channelType, channelId; "
                                    "serverName and serverUUID on main channels",
                           create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(classifier, spice)
