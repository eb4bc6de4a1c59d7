// transport-tcp: the tcp, tcp4 and tcp6 address schemes.
#include <memory>

#include <quictun/sdk.hpp>

#include "tcp_transport.hpp"

namespace {

using namespace quictun;

sdk::PluginDescriptor describe() {
  sdk::TransportFactory tcp;
  tcp.schemes = {"tcp", "tcp4", "tcp6"};
  tcp.help = "TCP sockets: tcp:HOST:PORT or tcp:[IPv6]:PORT; tcp4/tcp6 restrict the family; "
              "IPv6 listeners are IPv6-only";
  tcp.create = [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::Transport> {
    // Nothing to configure yet; a stray key is a typo the user should hear about now.
    if (!config.table.empty()) throw config.error(config.table.begin()->first, "is not a setting of the tcp transport");
    return std::make_unique<transport_tcp::TcpTransport>(host);
  };

  sdk::PluginDescriptor descriptor;
  descriptor.name = "transport-tcp";
  descriptor.version = "0.1.0";
  descriptor.description = "TCP listeners and connections over IPv4 and IPv6, with asynchronous DNS";
  descriptor.transports.push_back(std::move(tcp));
  return descriptor;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(transport, tcp)
QUICTUN_PLUGIN_PROVIDES(transport, tcp4)
QUICTUN_PLUGIN_PROVIDES(transport, tcp6)
