// transport-unix: the unix address scheme.
#include <memory>

#include <quictun/sdk.hpp>

#include "unix_transport.hpp"

namespace {

using namespace quictun;

sdk::PluginDescriptor describe() {
  sdk::TransportFactory unix_sockets;
  unix_sockets.schemes = {"unix"};
  unix_sockets.help = "UNIX-domain stream sockets: unix:/PATH, or unix:@NAME for an abstract socket";
  unix_sockets.create = [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::Transport> {
    // Nothing to configure yet; a stray key is a typo the user should hear about now.
    if (!config.table.empty()) throw config.error(config.table.begin()->first, "is not a setting of the unix transport");
    return std::make_unique<transport_unix::UnixTransport>(host);
  };

  sdk::PluginDescriptor descriptor;
  descriptor.name = "transport-unix";
  descriptor.version = "0.1.0";
  descriptor.description = "UNIX-domain socket listeners and connections";
  descriptor.transports.push_back(std::move(unix_sockets));
  return descriptor;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(transport, unix)
