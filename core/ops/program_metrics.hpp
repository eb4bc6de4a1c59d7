// The metrics both programs export: tunnels, bytes, QUIC connections and handshakes, loss and
// its repair, RTT and window, plugin errors. The apps report events here; what lives in open
// tunnels and connections is read when /metrics is scraped, so it is never stale.
#pragma once

#include <functional>

#include "ops/metrics.hpp"
#include "quic/connection.hpp"
#include "tunnel/registry.hpp"
#include "tunnel/relay.hpp"

namespace quictun::ops {

class ProgramMetrics {
 public:
  // Calls its argument for every live QUIC connection.
  using EachConnection = std::function<void(const std::function<void(const quic::Connection&)>&)>;

  ProgramMetrics(Metrics& metrics, const tunnel::TunnelRegistry& tunnels, EachConnection each_connection);

  void tunnel_opened() { tunnels_opened_.inc(); }
  // Counts the failure (by its reason) and plugin error of an ended tunnel.
  void tunnel_ended(const tunnel::Relay::Outcome& outcome);
  void handshake_done() { handshakes_.inc(); }
  // A connection is over: its counters join those of the connections before it.
  void connection_closed(const quic::Connection& connection);

 private:
  void collect(Metrics& m);

  const tunnel::TunnelRegistry& tunnels_;
  EachConnection each_connection_;
  Metrics::Value tunnels_opened_;
  Metrics::Value failed_bad_token_, failed_unreachable_, failed_timeout_, failed_other_;
  Metrics::Value plugin_errors_;
  Metrics::Value handshakes_, handshake_failures_;
  quic::ConnectionStats closed_;        // sums over the connections already gone
  std::uint64_t closed_connections_ = 0;
};

}  // namespace quictun::ops
