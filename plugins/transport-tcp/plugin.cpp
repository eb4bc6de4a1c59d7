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
              "IPv6 listeners are IPv6-only; setting: nameservers = [\"IP[:PORT]\", ...] (default /etc/resolv.conf)";
  tcp.create = [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::Transport> {
    // A stray key is a typo the user should hear about now, not a setting silently ignored.
    for (const auto& [key, value] : config.table)
      if (key != "nameservers") throw config.error(key, "is not a setting of the tcp transport (it has 'nameservers')");
    transport_tcp::TcpOptions options;
    if (auto servers = config.get_strings("nameservers")) {
      if (servers->empty()) throw config.error("nameservers", "is empty; leave it out to use /etc/resolv.conf");
      for (const auto& server : *servers) {
        try {
          options.nameservers.push_back(transport_tcp::parse_nameserver(server));
        } catch (const sdk::Error& e) {
          throw config.error("nameservers", e.what());
        }
      }
    }
    return std::make_unique<transport_tcp::TcpTransport>(host, std::move(options));
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
