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

}  // namespace quictun::ops
