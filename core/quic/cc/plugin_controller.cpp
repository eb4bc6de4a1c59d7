#include "quic/cc/plugin_controller.hpp"

#include "util/error.hpp"

#ifdef QUICTUN_CC_HOOK
#include "quic/cc/ngtcp2_cc_hook.h"
#endif

namespace quictun::quic {

#ifdef QUICTUN_CC_HOOK

// Translates the hook's C events into the SDK's calls. Controllers must not throw (the SDK
// says so); one that does would unwind through ngtcp2's C frames, so it ends the process here
// with a clear reason instead.
struct PluginControllerEvents {
  static void handle(void* self, const quictun_cc_event* ev, quictun_cc_state* st) noexcept {
    auto& pc = *static_cast<PluginController*>(self);
    auto& c = *pc.controller_;
    sdk::PathState path;
    path.now_ns = st->now;
    path.bytes_in_flight = st->bytes_in_flight;
    path.max_datagram_size = st->max_udp_payload_size;
    path.has_rtt = st->has_rtt != 0;
    path.latest_rtt_ns = st->latest_rtt;
    path.min_rtt_ns = st->min_rtt;
    path.smoothed_rtt_ns = st->smoothed_rtt;
    path.rtt_variance_ns = st->rttvar;
    sdk::CongestionOutput out;
    out.cwnd = st->cwnd;
    out.pacing_rate = st->pacing_rate;
    out.send_quantum = st->send_quantum;
    out.in_slow_start = st->in_slow_start != 0;
    switch (ev->kind) {
      case QUICTUN_CC_START:
        pc.sample_loss_ = {};  // ngtcp2 restarts its delivered total with the controller
        pc.delivered_ = 0;
        c.on_start(path, out);
        break;
      case QUICTUN_CC_SENT:
        pc.sample_loss_.on_send(pc.delivered_, pc.lost_bytes_);
        c.on_packet_sent({ev->pkt_bytes, ev->pkt_sent_ts, ev->pkt_app_limited != 0}, path, out);
        break;
      case QUICTUN_CC_LOST:
        ++pc.lost_packets_;
        pc.lost_bytes_ += ev->pkt_bytes;
        c.on_packet_lost({ev->pkt_bytes, ev->pkt_sent_ts, ev->pkt_in_flight_at_send, ev->pkt_app_limited != 0}, path,
                         out);
        break;
      case QUICTUN_CC_ACK: {
        sdk::AckSample a;
        a.bytes_acked = ev->acked_bytes;
        a.bytes_lost = ev->lost_bytes;
        a.prior_in_flight = ev->prior_in_flight;
        a.has_rtt = ev->has_rtt_sample != 0;
        a.rtt_ns = ev->rtt_sample;
        a.has_rate = ev->has_rate != 0;
        a.delivered = ev->rate_delivered;
        a.interval_ns = ev->rate_interval;
        a.delivery_rate = a.has_rate ? ev->rate_delivered * 1'000'000'000ull / ev->rate_interval : 0;
        // Not ngtcp2's rs->lost, which misses most losses (see sample_loss.hpp).
        pc.delivered_ = ev->delivered_total;
        a.lost_in_sample = a.has_rate ? pc.sample_loss_.lost_since(ev->rate_prior_delivered, pc.lost_bytes_) : 0;
        a.in_flight_at_send = ev->rate_in_flight_at_send;
        a.app_limited = ev->rate_app_limited != 0;
        a.delivered_total = ev->delivered_total;
        a.prior_delivered = ev->rate_prior_delivered;
        c.on_ack(a, path, out);
        break;
      }
      case QUICTUN_CC_CONGESTION:
        c.on_congestion({ev->congestion_sent_ts, ev->congestion_bytes_lost}, path, out);
        break;
      case QUICTUN_CC_SPURIOUS: c.on_spurious_congestion(path, out); break;
      case QUICTUN_CC_PERSISTENT: c.on_persistent_congestion(path, out); break;
      case QUICTUN_CC_IDLE_RESTART: c.on_restart_after_idle(path, out); break;
    }
    st->cwnd = out.cwnd;
    st->pacing_rate = out.pacing_rate;
    st->send_quantum = out.send_quantum;
    st->in_slow_start = out.in_slow_start ? 1 : 0;
  }
};

bool PluginController::available() { return true; }
std::string PluginController::unavailable_reason() { return {}; }

std::unique_ptr<PluginController> PluginController::install(ngtcp2_conn* conn,
                                                            std::unique_ptr<sdk::CongestionController> controller,
                                                            ngtcp2_tstamp now) {
  std::unique_ptr<PluginController> pc(new PluginController(std::move(controller)));
  if (quictun_cc_install(conn, &PluginControllerEvents::handle, pc.get(), now) != 0)
    throw RuntimeError("cannot install the congestion controller: the connection was not created for it");
  return pc;
}

#else

bool PluginController::available() { return false; }
std::string PluginController::unavailable_reason() {
  return "this quictun is built against the system's shared ngtcp2 (-DQUICTUN_NGTCP2=system), which has no "
         "controller hook; only ngtcp2's own cubic, reno and bbr can be used (build with -DQUICTUN_NGTCP2=source "
         "for plugin controllers)";
}
std::unique_ptr<PluginController> PluginController::install(ngtcp2_conn*, std::unique_ptr<sdk::CongestionController>,
                                                            ngtcp2_tstamp) {
  throw RuntimeError(unavailable_reason());
}

#endif

}  // namespace quictun::quic
