// Test plugin built for another SDK ABI number (QUICTUN_SDK_ABI is set by its build), which the
// host must refuse by name.
#include <quictun/sdk.hpp>

namespace {
quictun::sdk::PluginDescriptor describe() {
  quictun::sdk::PluginDescriptor d;
  d.name = "test-other-abi";
  d.version = "1";
  d.token_sources.push_back({"future", "from the future", nullptr});
  return d;
}
}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(token_source, future)
