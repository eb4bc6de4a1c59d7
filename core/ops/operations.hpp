// What an operator sees of one program: its tunnel registry, its metrics and, when asked for,
// the REST API serving both. Each app owns one.
#pragma once

#include <memory>

#include "config/settings.hpp"
#include "ops/api_server.hpp"
#include "ops/metrics.hpp"
#include "ops/program_metrics.hpp"
#include "tunnel/registry.hpp"

namespace quictun::ops {

class Operations {
 public:
  using EachConnection = ProgramMetrics::EachConnection;

  // Starts the REST API when settings.api_listen_on is set; throws as ApiServer does.
  Operations(event_base* loop, const config::CommonSettings& settings, EachConnection each_connection);

  tunnel::TunnelRegistry& tunnels() { return tunnels_; }
  Metrics& metrics() { return metrics_; }
  ProgramMetrics& counters() { return counters_; }

 private:
  Metrics metrics_;
  tunnel::TunnelRegistry tunnels_;
  EachConnection each_connection_;
  ProgramMetrics counters_;
  std::unique_ptr<ApiServer> api_;  // last: it serves the others
};

}  // namespace quictun::ops
