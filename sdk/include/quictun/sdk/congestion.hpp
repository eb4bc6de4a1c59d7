// quictun plugin SDK: congestion controllers.
//
// A controller decides how fast one QUIC connection sends: its congestion window (bytes in
// flight), its pacing rate and its send quantum (bytes the host may send in one burst). The host
// tells it what happens to the packets it sends; the controller answers by changing the
// `CongestionOutput` it is handed with every event. Controllers are pure logic: no sockets, no
// timers, no clock of their own (every event carries the time), so they can be tested with a
// simulated ACK clock.
//
// Only the sending side matters: a controller shapes what its own side sends. The server's
// controller shapes downloads (server to client), the client's shapes uploads.
//
// Every time is in nanoseconds on one monotonic clock; every size in bytes; every rate in bytes
// per second.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace quictun::sdk {

// What the host knows of the path when an event happens.
struct PathState {
  std::uint64_t now_ns = 0;
  std::uint64_t bytes_in_flight = 0;    // sent, neither acknowledged nor declared lost
  std::uint64_t max_datagram_size = 0;  // the path's current UDP payload size (PMTUD may grow it)
  bool has_rtt = false;                 // false until the first RTT sample: the RTTs below are guesses
  std::uint64_t latest_rtt_ns = 0;
  std::uint64_t min_rtt_ns = 0;         // QUIC's min RTT (reset by persistent congestion)
  std::uint64_t smoothed_rtt_ns = 0;
  std::uint64_t rtt_variance_ns = 0;
};

// What the controller sets. Each event hands it the current values; change what you decide.
struct CongestionOutput {
  std::uint64_t cwnd = 0;           // congestion window in bytes (the host keeps at least 2 datagrams)
  std::uint64_t pacing_rate = 0;    // bytes per second; 0: the host paces at 1.25 x cwnd / smoothed RTT
  std::uint64_t send_quantum = 0;   // the largest burst the host sends at once, in bytes (0: 64 KiB)
  bool in_slow_start = false;       // true while the window is still growing toward the path's size;
                                    // the host uses it to tell a starved sender from an idle one
};

struct SentPacket {
  std::uint64_t bytes = 0;
  std::uint64_t sent_ns = 0;
  bool app_limited = false;  // the sender had less to send than the window allowed
};

// One ACK frame's worth of news, after every packet it acknowledges has been reported.
struct AckSample {
  std::uint64_t bytes_acked = 0;      // newly acknowledged by this ACK
  std::uint64_t bytes_lost = 0;       // declared lost while processing this ACK
  std::uint64_t prior_in_flight = 0;  // bytes in flight before this ACK
  bool has_rtt = false;               // this ACK gave an RTT sample (its largest packet is new)
  std::uint64_t rtt_ns = 0;           // that sample, ack delay not removed
  // Delivery-rate sample (the rate sampler of draft-cardwell-ccwg-bbr): `delivered` bytes were
  // acknowledged over `interval_ns`. has_rate is false when the sample is not valid (too short
  // an interval, or no packet newer than the last sample).
  bool has_rate = false;
  std::uint64_t delivery_rate = 0;    // delivered * 1e9 / interval_ns, in bytes per second
  std::uint64_t delivered = 0;
  std::uint64_t interval_ns = 0;
  std::uint64_t lost_in_sample = 0;   // bytes declared lost over the same interval (every loss the
                                      // controller was told of since the sampled packet was sent)
  std::uint64_t in_flight_at_send = 0;  // bytes in flight when the sampled packet was sent
  bool app_limited = false;           // the sample was taken while the sender was app-limited,
                                      // so it may understate the path: raise estimates, never lower them
  std::uint64_t delivered_total = 0;  // bytes acknowledged on the connection so far
  std::uint64_t prior_delivered = 0;  // delivered_total when the sampled packet was sent: a round
                                      // trip ends once this passes the total at the round's start
};

struct LostPacket {
  std::uint64_t bytes = 0;
  std::uint64_t sent_ns = 0;
  std::uint64_t in_flight_at_send = 0;  // bytes in flight when it was sent (it included)
  bool app_limited = false;
};

// A loss (or ECN-CE) episode: QUIC calls it once per group of losses, with the send time of
// the newest packet concerned. Losses of packets sent before an earlier episode's start are
// part of that episode.
struct CongestionSignal {
  std::uint64_t newest_sent_ns = 0;
  std::uint64_t bytes_lost = 0;  // 0 for ECN-CE
};

// One connection's controller. Calls arrive on the loop thread, in the order the events
// happen; none may throw.
class CongestionController {
 public:
  virtual ~CongestionController() = default;
  // The connection starts, or its path changed and everything learnt must be forgotten.
  virtual void on_start(const PathState& path, CongestionOutput& out) = 0;
  virtual void on_packet_sent(const SentPacket& packet, const PathState& path, CongestionOutput& out) {}
  virtual void on_packet_lost(const LostPacket& packet, const PathState& path, CongestionOutput& out) {}
  virtual void on_ack(const AckSample& ack, const PathState& path, CongestionOutput& out) = 0;
  virtual void on_congestion(const CongestionSignal& signal, const PathState& path, CongestionOutput& out) {}
  // The losses of the last episode were spurious (the packets were acknowledged after all).
  virtual void on_spurious_congestion(const PathState& path, CongestionOutput& out) {}
  // Every packet over more than 3 PTOs was lost (RFC 9002 7.6): the path may be gone.
  virtual void on_persistent_congestion(const PathState& path, CongestionOutput& out) {}
  // The sender resumes after an idle period (nothing was in flight).
  virtual void on_restart_after_idle(const PathState& path, CongestionOutput& out) {}
  // One line of state for traces and the API, e.g. "probe_bw bw=11.9MB/s min_rtt=50.1ms".
  virtual std::string describe() const { return {}; }
};

// A configured algorithm: created once at start-up from its `[congestion.<name>]` table (where it
// validates everything), then asked for one controller per QUIC connection.
class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual std::unique_ptr<CongestionController> new_controller() = 0;
};

}  // namespace quictun::sdk
