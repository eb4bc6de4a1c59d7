/* Installs a quictun controller in an ngtcp2 1.11 connection (see ngtcp2_cc_hook.h).
 *
 * Facts of ngtcp2 1.11 this relies on, all from its lib/ headers and read-only:
 * - ngtcp2_conn holds `union { ngtcp2_cc cc; ngtcp2_cc_reno reno; ... ngtcp2_cc_bbr bbr; }`,
 *   and every packet number space's rtb keeps a pointer to `conn->cc`: replacing the function
 *   pointers in place redirects every call, and the union's spare bytes (ngtcp2_cc_bbr is far
 *   larger than ngtcp2_cc) hold the hook's own pointers.
 * - The controller owns cstat->cwnd, ->pacing_interval (ns per byte, 0 = derive from cwnd) and
 *   ->send_quantum; ngtcp2 reads them when it writes. cstat->ssthresh only decides, with
 *   cwnd, whether an idle sender counts as app-limited.
 * - conn->rst.rs is the delivery-rate sample of the ACK being processed when on_ack_recv runs. */
#include "ngtcp2_cc_hook.h"

#include <stddef.h>
#include <string.h>

#include "ngtcp2_conn.h"

typedef struct hook_slot {
  ngtcp2_cc cc; /* must stay first: ngtcp2 calls through &conn->cc */
  quictun_cc_handler handler;
  void *self;
  ngtcp2_conn *conn;
} hook_slot;

_Static_assert(sizeof(hook_slot) <= sizeof(((ngtcp2_conn *)0)->bbr),
               "ngtcp2_conn's controller union has no room for the hook");
_Static_assert(offsetof(hook_slot, cc) == 0, "ngtcp2_cc must open the slot");

static hook_slot *slot_of(ngtcp2_cc *cc) { return (hook_slot *)(void *)cc; }

static void read_state(const ngtcp2_conn_stat *cstat, ngtcp2_tstamp ts, quictun_cc_state *st) {
  memset(st, 0, sizeof(*st));
  st->now = ts;
  st->bytes_in_flight = cstat->bytes_in_flight;
  st->max_udp_payload_size = cstat->max_tx_udp_payload_size;
  st->has_rtt = cstat->first_rtt_sample_ts != UINT64_MAX;
  st->latest_rtt = cstat->latest_rtt;
  st->min_rtt = cstat->min_rtt == UINT64_MAX ? 0 : cstat->min_rtt;
  st->smoothed_rtt = cstat->smoothed_rtt;
  st->rttvar = cstat->rttvar;
  st->cwnd = cstat->cwnd;
  st->pacing_rate = cstat->pacing_interval ? NGTCP2_SECONDS / cstat->pacing_interval : 0;
  st->send_quantum = cstat->send_quantum;
  st->in_slow_start = cstat->ssthresh == UINT64_MAX;
}

static void write_state(ngtcp2_conn_stat *cstat, const quictun_cc_state *st) {
  uint64_t floor = 2 * (uint64_t)cstat->max_tx_udp_payload_size;
  cstat->cwnd = st->cwnd > floor ? st->cwnd : floor;
  if (st->pacing_rate == 0) {
    cstat->pacing_interval = 0;
  } else {
    /* ns per byte, an integer: round down (pace a little fast) and never to 0, which would
     * mean "derive from cwnd". Above 1 GB/s the window, not pacing, is the limit. */
    uint64_t interval = NGTCP2_SECONDS / st->pacing_rate;
    cstat->pacing_interval = interval ? interval : 1;
  }
  cstat->send_quantum = st->send_quantum ? (size_t)st->send_quantum : 64 * 1024;
  cstat->ssthresh = st->in_slow_start ? UINT64_MAX : 0;
}

static void dispatch(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, quictun_cc_event *ev, ngtcp2_tstamp ts) {
  hook_slot *slot = slot_of(cc);
  quictun_cc_state st;
  read_state(cstat, ts, &st);
  slot->handler(slot->self, ev, &st);
  write_state(cstat, &st);
}

static void on_pkt_sent(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, const ngtcp2_cc_pkt *pkt) {
  quictun_cc_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = QUICTUN_CC_SENT;
  ev.pkt_bytes = pkt->pktlen;
  ev.pkt_sent_ts = pkt->sent_ts;
  ev.pkt_in_flight_at_send = pkt->tx_in_flight;
  ev.pkt_app_limited = pkt->is_app_limited;
  dispatch(cc, cstat, &ev, pkt->sent_ts);
}

static void on_pkt_lost(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, const ngtcp2_cc_pkt *pkt, ngtcp2_tstamp ts) {
  quictun_cc_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = QUICTUN_CC_LOST;
  ev.pkt_bytes = pkt->pktlen;
  ev.pkt_sent_ts = pkt->sent_ts;
  ev.pkt_in_flight_at_send = pkt->tx_in_flight;
  ev.pkt_app_limited = pkt->is_app_limited;
  dispatch(cc, cstat, &ev, ts);
}

static void on_ack_recv(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, const ngtcp2_cc_ack *ack, ngtcp2_tstamp ts) {
  const ngtcp2_rst *rst = &slot_of(cc)->conn->rst;
  const ngtcp2_rs *rs = &rst->rs;
  quictun_cc_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = QUICTUN_CC_ACK;
  ev.acked_bytes = ack->bytes_delivered;
  ev.lost_bytes = ack->bytes_lost;
  ev.prior_in_flight = ack->prior_bytes_in_flight;
  ev.has_rtt_sample = ack->rtt != UINT64_MAX;
  ev.rtt_sample = ev.has_rtt_sample ? ack->rtt : 0;
  /* ngtcp2_rst_on_ack_recv marks an interval shorter than min_rtt as UINT64_MAX */
  ev.has_rate = rs->prior_ts != UINT64_MAX && rs->interval != UINT64_MAX && rs->interval != 0;
  ev.rate_delivered = rs->delivered;
  ev.rate_interval = ev.has_rate ? rs->interval : 0;
  ev.rate_in_flight_at_send = rs->tx_in_flight;
  ev.rate_app_limited = rs->is_app_limited;
  ev.delivered_total = rst->delivered;
  ev.rate_prior_delivered = rs->prior_ts != UINT64_MAX ? rs->prior_delivered : 0;
  dispatch(cc, cstat, &ev, ts);
}

static void congestion_event(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, ngtcp2_tstamp sent_ts, uint64_t bytes_lost,
                             ngtcp2_tstamp ts) {
  quictun_cc_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = QUICTUN_CC_CONGESTION;
  ev.congestion_sent_ts = sent_ts;
  ev.congestion_bytes_lost = bytes_lost;
  dispatch(cc, cstat, &ev, ts);
}

static void simple_event(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, quictun_cc_event_kind kind, ngtcp2_tstamp ts) {
  quictun_cc_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  dispatch(cc, cstat, &ev, ts);
}

static void on_spurious_congestion(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, ngtcp2_tstamp ts) {
  simple_event(cc, cstat, QUICTUN_CC_SPURIOUS, ts);
}

static void on_persistent_congestion(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, ngtcp2_tstamp ts) {
  simple_event(cc, cstat, QUICTUN_CC_PERSISTENT, ts);
}

static void reset(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, ngtcp2_tstamp ts) {
  simple_event(cc, cstat, QUICTUN_CC_START, ts);
}

static void event(ngtcp2_cc *cc, ngtcp2_conn_stat *cstat, ngtcp2_cc_event_type type, ngtcp2_tstamp ts) {
  if (type == NGTCP2_CC_EVENT_TYPE_TX_START) simple_event(cc, cstat, QUICTUN_CC_IDLE_RESTART, ts);
}

int quictun_cc_install(ngtcp2_conn *conn, quictun_cc_handler handler, void *self, ngtcp2_tstamp now) {
  hook_slot *slot;
  if (conn->cc_algo != NGTCP2_CC_ALGO_RENO) return -1;
  slot = slot_of(&conn->cc);
  /* ngtcp2's log pointer stays; every callback becomes ours. */
  slot->cc.on_pkt_acked = NULL; /* per-packet acks are summed up in on_ack_recv */
  slot->cc.on_pkt_lost = on_pkt_lost;
  slot->cc.congestion_event = congestion_event;
  slot->cc.on_spurious_congestion = on_spurious_congestion;
  slot->cc.on_persistent_congestion = on_persistent_congestion;
  slot->cc.on_ack_recv = on_ack_recv;
  slot->cc.on_pkt_sent = on_pkt_sent;
  slot->cc.new_rtt_sample = NULL;
  slot->cc.reset = reset;
  slot->cc.event = event;
  slot->handler = handler;
  slot->self = self;
  slot->conn = conn;
  reset(&slot->cc, &conn->cstat, now);
  return 0;
}
