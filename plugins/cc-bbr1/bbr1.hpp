// bbr1: a loss-tolerant, model-based congestion controller in the spirit of BBR v1
// (draft-cardwell-iccrg-bbr-congestion-control-00; Linux tcp_bbr.c's design), for lossy links.
//
// It models the path as a bottleneck rate (the max-filtered delivery rate over the last ten
// round trips) and a propagation delay (the min RTT over ten seconds), paces at the rate times
// a gain, and caps what is in flight at twice the rate-times-delay product. Random loss does
// not change the model, which is why it keeps a lossy link full where TCP and ngtcp2's BBR back
// off. Loss alone is never read as congestion; loss *and* a standing queue together are: when a
// round trip loses clearly more than the link's quiet loss rate while even its fastest RTT sample
// sits well above the min RTT, the path is congested (a shared or shrunk bottleneck), and the
// bandwidth model is cut by 15 % and the queue drained, so a congested bottleneck is not driven
// into collapse.
//
// ACKs do not always come back at the rate packets left: a receiver that reads a batch of
// datagrams, or a host busy with something else, acknowledges many at once after a silence. A
// window of 2 BDPs then runs dry during the silence. As Linux's BBR does, bbr1 measures how far
// the ACKed bytes run ahead of the bandwidth model within an ACK burst (max-filtered over 5-10
// round trips) and adds that to the window, at most 100 ms of the model's rate.
//
// Flows sharing a bottleneck must converge, and BBR v1's gain cycle alone does that slowly: a
// flow far under its share grows by at most a quarter per cycle, and each flow's model, the max
// of its own share's samples, adds up with the others' to more than the link, so a queue stands
// behind which every flow is paced by its model and keeps the share it has. So: a probe whose
// packets got through while queueing little is followed at once by a harder one (a FIFO queue
// gives such probes room only while the flow is under its share); the cruise between probes
// lasts a random number of round trips, so flows with one RTT do not probe in step; and while
// cruising over a queue that stood through a whole round trip, the pace drops by enough to
// drain it within the next.
#pragma once

#include <cstdint>
#include <string>

#include <quictun/sdk/congestion.hpp>

#include "windowed_filter.hpp"

namespace quictun::cc {

struct Bbr1Params {
  double startup_gain = 2.885;                   // 2/ln(2): doubles the rate each round trip
  double cwnd_gain = 2.0;                        // in flight may reach this many BDPs
  std::uint64_t bw_window_rounds = 10;           // the bandwidth filter's window, in round trips
  std::uint64_t min_rtt_window_ns = 10'000'000'000ull;  // min RTT is re-probed after this
  std::uint64_t probe_rtt_ns = 200'000'000ull;   // time spent at 4 packets to re-measure it
  bool skip_needless_probe_rtt = true;           // no ProbeRTT after a window that saw no queue
  bool ack_aggregation = true;                   // room in the window for ACKs that come in bursts
  bool react_to_congestion = true;               // the loss-and-delay backoff (see above)
  double excess_loss = 0.02;                     // congestion: this much loss above the quiet rate...
  double queue_fraction = 0.5;                   // ...with a standing queue of this fraction of min RTT
  std::uint64_t queue_floor_ns = 5'000'000ull;   // (and at least this long)
};

class Bbr1 : public sdk::CongestionController {
 public:
  explicit Bbr1(const Bbr1Params& params, std::uint64_t seed = 0x9e3779b97f4a7c15ull);

  void on_start(const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_packet_sent(const sdk::SentPacket& packet, const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_packet_lost(const sdk::LostPacket& packet, const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_ack(const sdk::AckSample& ack, const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_persistent_congestion(const sdk::PathState& path, sdk::CongestionOutput& out) override;
  void on_restart_after_idle(const sdk::PathState& path, sdk::CongestionOutput& out) override;
  std::string describe() const override;

  enum class Mode { startup, drain, probe_bw, probe_rtt };
  Mode mode() const { return mode_; }
  std::uint64_t bandwidth() const { return max_bw_.best(); }  // bytes per second
  std::uint64_t min_rtt() const { return min_rtt_ns_; }
  std::uint64_t congestion_cuts() const { return cuts_; }
  std::uint64_t probe_rtts() const { return probe_rtts_; }            // ProbeRTTs entered
  std::uint64_t probe_rtt_skips() const { return probe_rtt_skips_; }  // expiries that needed none
  double pacing_gain() const { return pacing_gain_; }
  std::uint64_t ack_aggregation_allowance() const;  // bytes added to the window for ACK bursts

 private:
  std::uint64_t bytes_at_model_rate(std::uint64_t ns, double gain = 1.0) const;  // gain x bandwidth x ns
  std::uint64_t bdp(double gain) const;  // gain x bandwidth x min RTT, in bytes
  std::uint64_t queue_threshold() const; // queueing delay that counts as a standing queue, in ns
  std::uint64_t make_up_queue_bound() const;  // queueing delay under which lost bytes count as carried
  std::uint64_t next_random();
  void end_round(const sdk::PathState& path);
  void update_model(const sdk::AckSample& ack, const sdk::PathState& path);
  void update_mode(const sdk::AckSample& ack, const sdk::PathState& path, const sdk::CongestionOutput& out);
  void update_ack_aggregation(const sdk::AckSample& ack, const sdk::PathState& path, const sdk::CongestionOutput& out);
  void restart_min_rtt_window(std::uint64_t now);
  void enter_probe_bw(std::uint64_t now);
  void advance_cycle(const sdk::AckSample& ack, const sdk::PathState& path);
  void start_phase(unsigned index, std::uint64_t now);
  double phase_gain() const;
  unsigned random_cycle_length();
  bool probe_found_room() const;
  void set_outputs(const sdk::AckSample* ack, const sdk::PathState& path, sdk::CongestionOutput& out);

  Bbr1Params p_;
  std::uint64_t rng_;
  Mode mode_ = Mode::startup;
  double pacing_gain_ = 0;
  double cwnd_gain_ = 0;
  std::uint64_t mss_ = 1200;

  WindowedFilter<Greater> max_bw_;
  std::uint64_t min_rtt_ns_ = 0;        // 0: no sample yet
  std::uint64_t min_rtt_stamp_ = 0;        // when the current min RTT window began
  std::uint64_t window_min_rtt_ = UINT64_MAX;  // the fastest sample of that window
  bool min_rtt_expired_ = false;

  std::uint64_t round_ = 0;
  std::uint64_t next_round_delivered_ = 0;
  bool round_start_ = false;

  std::uint64_t full_bw_ = 0;
  unsigned full_bw_rounds_ = 0;
  bool full_bw_reached_ = false;

  unsigned cycle_index_ = 0;
  unsigned cycle_length_ = 8;           // probe, drain, and a random number of cruising phases
  std::uint64_t cycle_stamp_ = 0;
  // The current probe: its gain, and what the model and the RTT were before it and the RTT
  // while its packets were acknowledged, to tell whether it found room.
  double probe_gain_ = 1.25;
  std::uint64_t probe_start_bw_ = 0;
  std::uint64_t probe_base_rtt_ = UINT64_MAX;
  std::uint64_t probe_peak_rtt_ = 0;
  bool probe_app_limited_ = false;
  bool idle_restart_ = false;

  std::uint64_t probe_rtt_done_ = 0;    // 0: not yet at 4 packets
  bool probe_rtt_round_done_ = false;
  std::uint64_t prior_cwnd_ = 0;

  // ACK aggregation: the current burst ("epoch") and the largest excess seen in each of the last
  // two halves of the filter's window.
  std::uint64_t ack_epoch_start_ = 0;
  std::uint64_t ack_epoch_acked_ = 0;
  std::uint64_t extra_acked_[2] = {0, 0};
  unsigned extra_acked_slot_ = 0;
  unsigned extra_acked_rounds_ = 0;

  // This round trip's losses and fastest RTT, for the congestion test.
  std::uint64_t round_acked_ = 0;
  std::uint64_t round_lost_ = 0;
  std::uint64_t round_min_rtt_ = UINT64_MAX;
  std::uint64_t round_max_rtt_ = 0;
  std::uint64_t last_round_min_rtt_ = UINT64_MAX;  // the fastest RTT of the round trip before
  unsigned round_rtt_samples_ = 0;
  bool round_lost_any_ = false;         // for the 1.25 probe phase's early end
  double quiet_loss_ = -1;              // EWMA of loss in rounds without a standing queue; -1: none
  unsigned quiet_rounds_ = 0;
  unsigned cooldown_rounds_ = 0;
  std::uint64_t cuts_ = 0;
  std::uint64_t probe_rtts_ = 0;
  std::uint64_t probe_rtt_skips_ = 0;
  std::uint64_t room_probes_ = 0;       // probes that followed one that found room
  // Time spent pacing under the model to drain a cruise queue, for describe(): how often the
  // drain fires says whether the queue it watches is the flow's own or a neighbour's.
  bool draining_ = false;
  std::uint64_t drain_since_ns_ = 0;    // when the last output was set
  std::uint64_t drain_total_ns_ = 0;
};

}  // namespace quictun::cc
