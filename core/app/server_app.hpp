// quictun-server: the QUIC endpoint, the token parser, and one tunnel per stream.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "plugin/loader.hpp"
#include "plugin/transport_set.hpp"
#include "quic/server_endpoint.hpp"
#include "quic/tls.hpp"
#include "tunnel/server_tunnel.hpp"

namespace quictun::app {

class ServerApp : private quic::ServerEndpoint::Listener {
 public:
  ServerApp(const config::ServerSettings& settings, event_base* loop, plugin::PluginLoader& loader);
  ~ServerApp() override;
  void shutdown();
  // The QUIC endpoint's counters (Retries, drops, resets, migrations), for metrics.
  const quic::ServerEndpointStats& quic_stats() const { return endpoint_->stats(); }

 private:
  void on_new_stream(quic::Connection& connection, std::int64_t stream_id) override;
  void retire(tunnel::ServerTunnel& tunnel, const tunnel::Relay::Outcome& outcome);

  const config::ServerSettings& settings_;
  plugin::TransportSet transports_;
  std::shared_ptr<sdk::TokenParser> parser_;
  std::unique_ptr<tunnel::ServerTunnel::Services> services_;
  quic::TlsServerContext tls_;
  std::unique_ptr<quic::ServerEndpoint> endpoint_;
  std::map<tunnel::ServerTunnel*, std::unique_ptr<tunnel::ServerTunnel>> tunnels_;
  std::vector<std::unique_ptr<tunnel::ServerTunnel>> retired_;
  Event reaper_;
  std::uint64_t next_id_ = 0;
};

}  // namespace quictun::app
