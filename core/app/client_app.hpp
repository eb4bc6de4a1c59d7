// quictun-client: listeners for the applications, one QUIC connection to the server (opened on
// demand, replaced when lost, the server's name looked up afresh each time), and the tunnels
// between them. This class is the session logic and its backoff; the socket and the datagrams
// belong to quic::ClientEndpoint, the name lookups to Resolver.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "app/resolver.hpp"
#include "config/settings.hpp"
#include "plugin/classifier_set.hpp"
#include "ops/operations.hpp"
#include "plugin/loader.hpp"
#include "plugin/transport_set.hpp"
#include "quic/client_endpoint.hpp"
#include "quic/connection.hpp"
#include "quic/tls.hpp"
#include "tunnel/client_tunnel.hpp"
#include "tunnel/tunnel_limits.hpp"
#include "util/rate_limited_log.hpp"

namespace quictun::app {

class ClientApp : private tunnel::StreamBroker, private quic::ConnectionObserver {
 public:
  // Opens the listeners and loads the plugins; throws UsageError / RuntimeError.
  ClientApp(const config::ClientSettings& settings, event_base* loop, plugin::PluginLoader& loader);
  ~ClientApp() override;
  // Stops accepting and closes the QUIC connection; the loop ends when all is quiet.
  void shutdown();
  // Drain: closes the listeners, so new application connections are refused; open tunnels
  // carry on.
  void stop_accepting();
  std::size_t open_tunnels() const { return tunnels_.size(); }
  // SIGHUP: each listener's token source re-reads its files, and the CA and client certificate
  // files are read again for new handshakes (whatever fails to load keeps its old state).
  void reload();

 private:
  struct Listener {
    std::string address;
    sdk::Transport* transport = nullptr;
    Fd fd;
    Event accept_event;
    Event resume_timer;  // after EMFILE and the like, accepting pauses briefly
    std::shared_ptr<sdk::TokenSource> source;
    std::unique_ptr<tunnel::ClientTunnel::Services> services;
  };
  void on_accept(Listener& listener);
  void retire(tunnel::ClientTunnel& tunnel, const tunnel::Relay::Outcome& outcome);
  void reap();
  void serve_waiting();
  void connect_now();
  void on_resolved(std::optional<SocketAddress> remote, const std::string& error);
  void connect_failed(const std::string& error);

  // StreamBroker
  void request_stream(tunnel::ClientTunnel& tunnel) override;
  void cancel(tunnel::ClientTunnel& tunnel) override;
  void suspect(quic::Connection& connection) override;
  std::string last_error() const override { return last_error_; }
  // ConnectionObserver
  void on_handshake_done(quic::Connection& c) override;
  void on_streams_available(quic::Connection&) override { serve_waiting(); }
  void on_connection_closed(quic::Connection& c, const std::string& reason) override;

  const config::ClientSettings& settings_;
  event_base* loop_;
  plugin::TransportSet transports_;
  plugin::ClassifierSet classifiers_;
  quic::TlsClientContext tls_;
  HostPort server_;
  Resolver resolver_;
  RateLimitedLog refusal_log_;         // application connections refused by a limit
  tunnel::TunnelAdmission admission_;  // max_tunnels, max_buffered_bytes
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<quic::ClientEndpoint> endpoint_;                  // the connection new streams go to
  std::vector<std::unique_ptr<quic::ClientEndpoint>> closing_endpoints_;  // saying goodbye; no new streams
  std::vector<std::unique_ptr<quic::ClientEndpoint>> dead_endpoints_;     // freed from the loop, off their stack
  std::deque<tunnel::ClientTunnel*> waiting_;
  std::map<tunnel::ClientTunnel*, std::unique_ptr<tunnel::ClientTunnel>> tunnels_;
  std::vector<std::unique_ptr<tunnel::ClientTunnel>> retired_;
  Event reaper_;
  Event retry_timer_;
  std::uint64_t backoff_ms_ = 0;
  std::uint64_t next_id_ = 0;
  std::string last_error_;
  bool shutting_down_ = false;
  std::unique_ptr<ops::Operations> ops_;  // last: connections report here until they are gone
};

}  // namespace quictun::app
