#include "ops/endpoint_metrics.hpp"

namespace quictun::ops {

void export_endpoint_stats(Metrics& metrics, std::function<const quic::ServerEndpointStats*()> read) {
  metrics.on_collect([read = std::move(read)](Metrics& m) {
    const quic::ServerEndpointStats* s = read();
    if (!s) return;
    auto set = [&](const char* name, const char* help, std::uint64_t v, const Labels& labels = {}) {
      m.counter(name, help, labels).set(static_cast<double>(v));
    };
    set("quictun_quic_retries_sent_total", "Retry packets sent (address validation under load)", s->retries_sent);
    set("quictun_quic_retry_tokens_invalid_total", "Initials with a forged, stale or misaddressed Retry token",
        s->retry_tokens_invalid);
    set("quictun_quic_initials_dropped_total", "Initials that did not decrypt (no connection was kept)",
        s->initials_dropped);
    const char* refused = "new QUIC connections refused, by the limit that refused them";
    set("quictun_quic_connections_refused_total", refused, s->refused_connections, {{"limit", "max_connections"}});
    set("quictun_quic_connections_refused_total", refused, s->refused_per_source,
        {{"limit", "max_connections_per_source"}});
    set("quictun_quic_connections_refused_total", refused, s->refused_handshakes, {{"limit", "max_handshakes"}});
    set("quictun_quic_stateless_resets_sent_total", "stateless resets sent for unknown connection IDs", s->resets_sent);
    set("quictun_quic_resets_rate_limited_total", "stateless resets or refusals not sent (over reset_rate)",
        s->resets_rate_limited);
    set("quictun_quic_migrations_total", "client address changes followed under an open connection", s->migrations);
  });
}

void export_tunnel_limit_stats(Metrics& metrics, const tunnel::TunnelLimitStats& stats) {
  metrics.on_collect([&stats](Metrics& m) {
    m.gauge("quictun_tunnel_buffered_bytes", "bytes the open tunnels hold (sampled every 100 ms)")
        .set(static_cast<double>(stats.buffered_bytes));
    const char* refused = "new tunnels refused (0x02), by the limit that refused them";
    m.counter("quictun_tunnels_refused_total", refused, {{"limit", "max_tunnels_per_connection"}})
        .set(static_cast<double>(stats.refused_per_connection));
    m.counter("quictun_tunnels_refused_total", refused, {{"limit", "max_tunnels"}})
        .set(static_cast<double>(stats.refused_total));
    m.counter("quictun_tunnels_refused_total", refused, {{"limit", "max_buffered_bytes"}})
        .set(static_cast<double>(stats.refused_memory));
  });
}

}  // namespace quictun::ops
