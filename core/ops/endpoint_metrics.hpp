// The server endpoint's admission counters (Retry, dropped Initials, refusals, stateless resets,
// migrations) as Prometheus counters, read from the endpoint at each scrape.
#pragma once

#include <functional>

#include "ops/metrics.hpp"
#include "quic/server_endpoint.hpp"

namespace quictun::ops {

// `read` returns the endpoint's counters, or nullptr while there is no endpoint.
void export_endpoint_stats(Metrics& metrics, std::function<const quic::ServerEndpointStats*()> read);

}  // namespace quictun::ops
