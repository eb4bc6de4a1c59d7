#include "ops/program_metrics.hpp"

namespace quictun::ops {
namespace {
constexpr const char* kFailed = "quictun_tunnels_failed_total";
constexpr const char* kFailedHelp = "tunnels that ended without carrying data, by reason: 0x02 (token refused), "
                                    "0x03 (backend unreachable), timeout, error";
}  // namespace

ProgramMetrics::ProgramMetrics(Metrics& m, const tunnel::TunnelRegistry& tunnels, EachConnection each)
    : tunnels_(tunnels), each_connection_(std::move(each)) {
  tunnels_opened_ = m.counter("quictun_tunnels_opened_total", "tunnels opened (application connections accepted or streams received)");
  // Declared up front so a dashboard sees zeros rather than no series.
  failed_bad_token_ = m.counter(kFailed, kFailedHelp, {{"reason", "0x02"}});
  failed_unreachable_ = m.counter(kFailed, kFailedHelp, {{"reason", "0x03"}});
  failed_timeout_ = m.counter(kFailed, kFailedHelp, {{"reason", "timeout"}});
  failed_other_ = m.counter(kFailed, kFailedHelp, {{"reason", "error"}});
  plugin_errors_ = m.counter("quictun_plugin_errors_total", "calls into a token plugin that threw");
  handshakes_ = m.counter("quictun_quic_handshakes_total", "QUIC handshakes completed");
  handshake_failures_ = m.counter("quictun_quic_handshake_failures_total", "QUIC connections that ended before their handshake completed");
  m.on_collect([this](Metrics& mm) { collect(mm); });
}

void ProgramMetrics::tunnel_ended(const tunnel::Relay::Outcome& o) {
  if (o.plugin_error) plugin_errors_.inc();
  if (o.failure.empty()) return;
  if (o.failure == "0x02") failed_bad_token_.inc();
  else if (o.failure == "0x03") failed_unreachable_.inc();
  else if (o.failure == "timeout") failed_timeout_.inc();
  else failed_other_.inc();
}

namespace {

// Adds the counters of one connection to a sum (the gauges are per connection, not summed).
void add_counts(quic::ConnectionStats& sum, const quic::ConnectionStats& s) {
  sum.bytes_sent += s.bytes_sent;
  sum.bytes_received += s.bytes_received;
  sum.datagrams_sent += s.datagrams_sent;
  sum.datagrams_received += s.datagrams_received;
  sum.packets_lost += s.packets_lost;
  sum.bytes_lost += s.bytes_lost;
  sum.arq_resent += s.arq_resent;
  sum.arq_repaired += s.arq_repaired;
}

}  // namespace

void ProgramMetrics::connection_closed(const quic::Connection& c) {
  const quic::ConnectionStats s = c.stats();
  if (!s.handshake_done) handshake_failures_.inc();
  ++closed_connections_;
  add_counts(closed_, s);
}

void ProgramMetrics::collect(Metrics& m) {
  m.gauge("quictun_tunnels_open", "tunnels open now").set(static_cast<double>(tunnels_.size()));
  auto [c2s, s2c] = tunnels_.total_bytes();
  const char* bytes_help = "application bytes carried, by direction (client application to server application, and back)";
  m.counter("quictun_tunnel_bytes_total", bytes_help, {{"direction", "client_to_server"}}).set(static_cast<double>(c2s));
  m.counter("quictun_tunnel_bytes_total", bytes_help, {{"direction", "server_to_client"}}).set(static_cast<double>(s2c));

  quic::ConnectionStats sum = closed_;
  std::uint64_t open = 0;
  // Per-connection gauges are rebuilt on every scrape: a connection that is gone leaves no series.
  for (const char* name : {"quictun_quic_smoothed_rtt_seconds", "quictun_quic_min_rtt_seconds", "quictun_quic_cwnd_bytes",
                           "quictun_quic_bytes_in_flight"})
    m.clear(name);
  each_connection_([&](const quic::Connection& c) {
    const quic::ConnectionStats s = c.stats();
    ++open;
    add_counts(sum, s);
    const Labels peer = {{"peer", c.remote().to_string()}};
    m.gauge("quictun_quic_smoothed_rtt_seconds", "smoothed RTT of each QUIC connection", peer).set(s.smoothed_rtt_ns / 1e9);
    m.gauge("quictun_quic_min_rtt_seconds", "minimum RTT of each QUIC connection", peer).set(s.min_rtt_ns / 1e9);
    m.gauge("quictun_quic_cwnd_bytes", "congestion window of each QUIC connection", peer).set(static_cast<double>(s.cwnd));
    m.gauge("quictun_quic_bytes_in_flight", "bytes in flight on each QUIC connection", peer)
        .set(static_cast<double>(s.bytes_in_flight));
  });
  m.gauge("quictun_quic_connections_open", "QUIC connections open now (closing ones included)").set(static_cast<double>(open));
  m.counter("quictun_quic_connections_total", "QUIC connections ever made or accepted")
      .set(static_cast<double>(closed_connections_ + open));
  auto set = [&](const char* name, const char* help, std::uint64_t v) { m.counter(name, help).set(static_cast<double>(v)); };
  set("quictun_quic_datagrams_sent_total", "QUIC datagrams sent", sum.datagrams_sent);
  set("quictun_quic_sent_bytes_total", "bytes of QUIC datagrams sent", sum.bytes_sent);
  set("quictun_quic_datagrams_received_total", "datagrams received from QUIC peers", sum.datagrams_received);
  set("quictun_quic_received_bytes_total", "bytes of datagrams received from QUIC peers", sum.bytes_received);
  set("quictun_quic_packets_lost_total", "QUIC packets declared lost (plugin congestion controllers only)", sum.packets_lost);
  set("quictun_quic_lost_bytes_total", "bytes of QUIC packets declared lost (plugin congestion controllers only)", sum.bytes_lost);
  set("quictun_arq_datagrams_retransmitted_total", "datagrams sent again below QUIC on the peer's request (ARQ)", sum.arq_resent);
  set("quictun_arq_datagrams_repaired_total", "gaps below QUIC filled by the peer's retransmission (ARQ)", sum.arq_repaired);
}

}  // namespace quictun::ops
