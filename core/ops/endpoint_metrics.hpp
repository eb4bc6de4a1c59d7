// The server's admission counters as Prometheus counters, read at each scrape: the endpoint's
// (Retry, dropped Initials, refusals, stateless resets, migrations) and the tunnel limits'.
#pragma once

#include <functional>

#include "ops/metrics.hpp"
#include "quic/server_endpoint.hpp"
#include "tunnel/tunnel_limits.hpp"

namespace quictun::ops {

// `read` returns the endpoint's counters, or nullptr while there is no endpoint.
void export_endpoint_stats(Metrics& metrics, std::function<const quic::ServerEndpointStats*()> read);
void export_tunnel_limit_stats(Metrics& metrics, const tunnel::TunnelLimitStats& stats);

}  // namespace quictun::ops
