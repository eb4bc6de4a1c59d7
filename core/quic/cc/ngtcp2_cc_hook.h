/* The seam between ngtcp2's internal controller table and quictun's congestion controllers.
 *
 * ngtcp2 1.11 has no public controller hook: a connection keeps its controller as a table of
 * function pointers (ngtcp2_cc, lib/ngtcp2_cc.h) inside the connection. ngtcp2_cc_hook.c, the
 * only file compiled against ngtcp2's internal headers, replaces that table with trampolines
 * that report each event through this plain C interface and write the answer back. Nothing
 * here names an ngtcp2-internal type, so the C++ side never sees ngtcp2's internals. */
#ifndef QUICTUN_NGTCP2_CC_HOOK_H
#define QUICTUN_NGTCP2_CC_HOOK_H

#include <ngtcp2/ngtcp2.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum quictun_cc_event_kind {
  QUICTUN_CC_START,        /* initial state, or path reset */
  QUICTUN_CC_SENT,         /* an ack-eliciting packet was sent */
  QUICTUN_CC_ACK,          /* an ACK frame was processed */
  QUICTUN_CC_LOST,         /* a packet was declared lost */
  QUICTUN_CC_CONGESTION,   /* a loss or ECN-CE episode */
  QUICTUN_CC_SPURIOUS,     /* the last episode's losses were spurious */
  QUICTUN_CC_PERSISTENT,   /* persistent congestion (RFC 9002 7.6) */
  QUICTUN_CC_IDLE_RESTART  /* sending resumes with nothing in flight */
} quictun_cc_event_kind;

/* The connection's state when the event happens, and the controller's outputs (in and out). */
typedef struct quictun_cc_state {
  uint64_t now;
  uint64_t bytes_in_flight;
  uint64_t max_udp_payload_size;
  int has_rtt;
  uint64_t latest_rtt, min_rtt, smoothed_rtt, rttvar;
  /* outputs: written back to ngtcp2 after the handler returns */
  uint64_t cwnd;
  uint64_t pacing_rate;   /* bytes per second; 0: ngtcp2 paces from cwnd and RTT */
  uint64_t send_quantum;
  int in_slow_start;
} quictun_cc_state;

typedef struct quictun_cc_event {
  quictun_cc_event_kind kind;
  /* SENT, LOST */
  uint64_t pkt_bytes;
  uint64_t pkt_sent_ts;
  uint64_t pkt_in_flight_at_send;
  int pkt_app_limited;
  /* ACK */
  uint64_t acked_bytes, lost_bytes, prior_in_flight;
  int has_rtt_sample;
  uint64_t rtt_sample;
  int has_rate;
  uint64_t rate_delivered, rate_interval, rate_in_flight_at_send;
  int rate_app_limited;
  uint64_t delivered_total, rate_prior_delivered;
  /* CONGESTION */
  uint64_t congestion_sent_ts, congestion_bytes_lost;
} quictun_cc_event;

typedef void (*quictun_cc_handler)(void *self, const quictun_cc_event *event, quictun_cc_state *state);

/* Replaces `conn`'s controller with `handler`, called with `self` for every event, and reports
 * QUICTUN_CC_START at once. The connection must have been created with NGTCP2_CC_ALGO_RENO
 * (whose state needs no cleanup). `self` must outlive the connection. Returns 0, or -1 when the
 * ngtcp2 this was compiled against cannot hold the hook. */
int quictun_cc_install(ngtcp2_conn *conn, quictun_cc_handler handler, void *self, ngtcp2_tstamp now);

#ifdef __cplusplus
}
#endif

#endif
