// quictun-server: the QUIC endpoint, the token parser, and one tunnel per stream.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "plugin/classifier_set.hpp"
#include "ops/operations.hpp"
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
  void shutdown();  // CONNECTION_CLOSE to every client
  // Drain: no new QUIC connections (their packets are dropped) and no new tunnels on open ones
  // (answered 0x03); the open tunnels carry on.
  void stop_accepting();
  std::size_t open_tunnels() const { return tunnels_.size(); }
  // SIGHUP: the token parser's files and the certificate files, each kept as it was when bad.
  void reload();
  // Tunnel counts, buffered bytes and limit refusals, for logs and metrics.
  const tunnel::TunnelLimitStats& limit_stats() const { return admission_.stats(); }

 private:
  void on_new_stream(quic::Connection& connection, std::int64_t stream_id) override;
  void on_handshake(quic::Connection&) override { ops_->counters().handshake_done(); }
  void on_closed(quic::Connection& c, const std::string&) override { ops_->counters().connection_closed(c); }
  void retire(tunnel::ServerTunnel& tunnel, const tunnel::Relay::Outcome& outcome);

  const config::ServerSettings& settings_;
  plugin::TransportSet transports_;
  plugin::ClassifierSet classifiers_;
  std::shared_ptr<sdk::TokenParser> parser_;
  RateLimitedLog refusal_log_;  // refused tunnels (bad tokens, limits, the allow list)
  std::unique_ptr<tunnel::ServerTunnel::Services> services_;
  quic::TlsServerContext tls_;
  std::unique_ptr<quic::ServerEndpoint> endpoint_;
  std::map<tunnel::ServerTunnel*, std::unique_ptr<tunnel::ServerTunnel>> tunnels_;
  std::vector<std::unique_ptr<tunnel::ServerTunnel>> retired_;
  Event reaper_;
  tunnel::TunnelAdmission admission_;  // the tunnel limits; grouped by QUIC connection
  std::uint64_t next_id_ = 0;
  std::unique_ptr<ops::Operations> ops_;  // last: the endpoint reports its connections here until it is gone
};

}  // namespace quictun::app
