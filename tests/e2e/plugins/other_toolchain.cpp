// Test plugin built with libstdc++'s old std::string ABI (_GLIBCXX_USE_CXX11_ABI=0, set by its
// build) against the host's own SDK ABI number: the number matches, the std::string in its
// descriptor does not, and the host must refuse it by name before it reads that descriptor.
#include <quictun/sdk.hpp>

namespace {
quictun::sdk::PluginDescriptor describe() {
  quictun::sdk::PluginDescriptor d;
  d.name = "test-other-toolchain";
  d.version = "1";
  d.token_sources.push_back({"old-string", "built with the old std::string", nullptr});
  return d;
}
}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(token_source, old_string)
