#include "bbr1.hpp"

#include <algorithm>
#include <cstdio>

namespace quictun::cc {
namespace {

// ProbeBW's phases: probe (more than the model), drain what the probe queued, then cruise.
constexpr double kProbeGain = 1.25;
constexpr double kDrainPhaseGain = 0.75;
constexpr double kProbeGainStep = 0.25;     // a probe that found room is followed by one this much harder
constexpr double kMaxProbeGain = 2.0;       // (the window, twice the BDP, caps it there anyway)
constexpr double kPacingMargin = 0.99;      // pace 1 % under the estimate, so no queue builds from it
constexpr double kCruiseDrainGain = 0.97;   // cruising pace once a queue nears the loss make-up bound
constexpr double kMaxCruiseDrain = 0.75;    // ...and at most this far under the model, for a big queue
constexpr unsigned kMinCruisePhases = 4;    // a cycle cruises this many phases at least...
constexpr unsigned kMaxCruisePhases = 8;    // ...and at most
constexpr unsigned kMinCwndPackets = 4;
constexpr unsigned kInitialWindowPackets = 10;  // RFC 9002's initial window, about
constexpr double kCongestionCut = 0.85;     // what is left of the bandwidth model after a cut
constexpr unsigned kCooldownRounds = 3;     // rounds after a cut before the next may happen
constexpr std::uint64_t kMinRoundPackets = 16;  // a round smaller than this says little about loss
constexpr unsigned kBaselineRounds = 4;         // quiet rounds measured before loss can mean congestion
constexpr unsigned kStartupRttSamples = 8;      // RTT samples in a round before its minimum means a queue
constexpr std::uint64_t kMakeUpQueueFloorNs = 2'000'000;  // RTT over the min that still counts as no queue
constexpr unsigned kAggregationHalfWindowRounds = 5;  // the ACK-burst filter keeps 5-10 round trips
constexpr std::uint64_t kAggregationMaxNs = 100'000'000;   // the allowance is at most this much of the rate
constexpr std::uint64_t kAckEpochResetPackets = 1u << 20;  // an ACK burst this long is stale: start anew

}  // namespace

Bbr1::Bbr1(const Bbr1Params& params, std::uint64_t seed)
    : p_(params), rng_(seed ? seed : 1), max_bw_(params.bw_window_rounds) {}

std::uint64_t Bbr1::next_random() {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

std::uint64_t Bbr1::queue_threshold() const {
  return std::max<std::uint64_t>(p_.queue_floor_ns, static_cast<std::uint64_t>(p_.queue_fraction * min_rtt_ns_));
}

std::uint64_t Bbr1::make_up_queue_bound() const {
  return std::max<std::uint64_t>(kMakeUpQueueFloorNs, min_rtt_ns_ / 20);
}

std::uint64_t Bbr1::bytes_at_model_rate(std::uint64_t ns, double gain) const {
  return static_cast<std::uint64_t>(gain * static_cast<double>(max_bw_.best()) * static_cast<double>(ns) / 1e9);
}

std::uint64_t Bbr1::bdp(double gain) const {
  if (max_bw_.empty() || min_rtt_ns_ == 0) return 0;
  return bytes_at_model_rate(min_rtt_ns_, gain);
}

void Bbr1::on_start(const sdk::PathState& path, sdk::CongestionOutput& out) {
  const std::uint64_t seed = rng_;
  *this = Bbr1(p_, seed);
  mss_ = std::max<std::uint64_t>(path.max_datagram_size, 1200);
  mode_ = Mode::startup;
  pacing_gain_ = p_.startup_gain;
  cwnd_gain_ = p_.cwnd_gain;  // 2, as BBRv2: a 2.885 window overflows a 1-BDP buffer in Startup
  restart_min_rtt_window(path.now_ns);
  out.cwnd = std::max<std::uint64_t>(out.cwnd, 10 * mss_);
  out.in_slow_start = true;
  set_outputs(nullptr, path, out);
}

void Bbr1::on_packet_sent(const sdk::SentPacket&, const sdk::PathState&, sdk::CongestionOutput&) {}

void Bbr1::on_packet_lost(const sdk::LostPacket& packet, const sdk::PathState&, sdk::CongestionOutput&) {
  // Loss alone changes nothing in the model; it is counted for the congestion test.
  round_lost_ += packet.bytes;
  round_lost_any_ = true;
}

void Bbr1::on_ack(const sdk::AckSample& ack, const sdk::PathState& path, sdk::CongestionOutput& out) {
  mss_ = std::max<std::uint64_t>(path.max_datagram_size, 1200);
  round_acked_ += ack.bytes_acked;
  if (ack.has_rtt) {
    round_min_rtt_ = std::min(round_min_rtt_, ack.rtt_ns);
    round_max_rtt_ = std::max(round_max_rtt_, ack.rtt_ns);
    ++round_rtt_samples_;
  }
  // Startup stops as soon as this round's fastest RTT, over enough samples, shows a queue of
  // half a round trip: the pipe is full. Waiting for three rounds without growth (BBR's own
  // rule) first fills a 1-BDP buffer to overflow, since Startup doubles its rate every round:
  // a burst of drops that retransmissions then pay for (measured in the simulation: 3000 queue
  // drops in Startup on a clean 100 Mbit/s, 50 ms link; in the bench 1300 in 8 s at 5 % loss).
  if (mode_ == Mode::startup && min_rtt_ns_ && round_rtt_samples_ >= kStartupRttSamples &&
      round_min_rtt_ > min_rtt_ns_ + queue_threshold())
    full_bw_reached_ = true;
  round_start_ = false;
  if (ack.prior_delivered >= next_round_delivered_ && ack.delivered_total > next_round_delivered_) {
    next_round_delivered_ = ack.delivered_total;
    ++round_;
    round_start_ = true;
    end_round(path);
  }
  update_model(ack, path);
  if (p_.ack_aggregation) update_ack_aggregation(ack, path, out);
  update_mode(ack, path, out);
  set_outputs(&ack, path, out);
}

void Bbr1::end_round(const sdk::PathState&) {
  const std::uint64_t total = round_acked_ + round_lost_;
  // Only in ProbeBW, against a baseline of a few quiet rounds: Startup's own overshoot fills
  // the queue by design and is Drain's job, not a sign of someone else's traffic.
  if (p_.react_to_congestion && mode_ == Mode::probe_bw && min_rtt_ns_ && total >= kMinRoundPackets * mss_ &&
      round_min_rtt_ != UINT64_MAX) {
    const double loss = static_cast<double>(round_lost_) / static_cast<double>(total);
    const std::uint64_t queue = round_min_rtt_ > min_rtt_ns_ ? round_min_rtt_ - min_rtt_ns_ : 0;
    const std::uint64_t threshold = queue_threshold();
    const bool standing_queue = queue > threshold;
    // A round is quiet when even its slowest sample saw no queue worth the name: then no loss in
    // it can be a queue's overflow, and what was lost is the link's own random loss, the
    // baseline that congestion must beat and that the bandwidth samples are scaled by. (Judged by
    // the fastest sample instead, overflow at the queue's peaks would leak into the baseline,
    // inflate the model and overflow the queue more: measured, 5480 queue drops in 8 s at 5 %.)
    const bool quiet = round_max_rtt_ <= min_rtt_ns_ + threshold;
    if (quiet) {
      quiet_loss_ = quiet_loss_ < 0 ? loss : quiet_loss_ * 0.875 + loss * 0.125;
      ++quiet_rounds_;
    } else if (!standing_queue) {
      // Neither quiet nor congested: a probe's transient queue. It says nothing either way.
    } else if (quiet_rounds_ >= kBaselineRounds && cooldown_rounds_ == 0 && loss > quiet_loss_ + p_.excess_loss) {
      // Losses and a queue together: the bottleneck is full, whether shared or shrunk. Cut the
      // model so the queue drains, and let the filter relearn the real share.
      const std::uint64_t cut = static_cast<std::uint64_t>(static_cast<double>(max_bw_.best()) * kCongestionCut);
      max_bw_.reset(cut, round_);
      ++cuts_;
      cooldown_rounds_ = kCooldownRounds;
      if (mode_ == Mode::probe_bw) {
        cycle_index_ = 1;  // the draining phase
        probe_gain_ = kProbeGain;
        probe_base_rtt_ = UINT64_MAX;  // no verdict on a probe the cut interrupted
      }
    }
  }
  if (cooldown_rounds_) --cooldown_rounds_;
  last_round_min_rtt_ = round_min_rtt_;
  round_acked_ = round_lost_ = 0;
  round_min_rtt_ = UINT64_MAX;
  round_max_rtt_ = 0;
  round_rtt_samples_ = 0;
}

void Bbr1::update_model(const sdk::AckSample& ack, const sdk::PathState& path) {
  // An app-limited sample only ever raises the estimate: the sender, not the path, was slow.
  // The link's own random loss hides part of what the bottleneck carried: while no queue stands
  // (this ACK's RTT is near the minimum), what was lost over the sample's interval was lost to
  // the link, not to a queue's overflow, so it counts as carried and the model is the
  // bottleneck's rate rather than the goodput. Without it the 1.25 probe gains nothing once
  // loss reaches 20 % (1.25 x 0.8 = 1). With a queue standing, losses may be overflow: then
  // only what arrived counts. "No queue" is strict here (a few ms, not the congestion test's
  // half round trip): a made-up sample a little above the link's rate raises the queue until
  // samples stop qualifying, so the bound is the queue that can stand (measured at 50 ms and
  // 10 % loss: a 15-35 ms queue with the half-RTT bound, none worth the name with this one).
  std::uint64_t sample = ack.delivery_rate;
  if (ack.has_rate && ack.interval_ns && ack.has_rtt && min_rtt_ns_ && ack.rtt_ns <= min_rtt_ns_ + make_up_queue_bound())
    sample = (ack.delivered + std::min(ack.lost_in_sample, ack.delivered)) * 1'000'000'000ull / ack.interval_ns;
  if (ack.has_rate && sample > 0 && (!ack.app_limited || sample >= max_bw_.best())) max_bw_.update(sample, round_);
  min_rtt_expired_ = min_rtt_ns_ && path.now_ns > min_rtt_stamp_ + p_.min_rtt_window_ns;
  if (min_rtt_expired_ && p_.skip_needless_probe_rtt && window_min_rtt_ <= min_rtt_ns_ + make_up_queue_bound()) {
    // Some sample of the window that just ended saw the queue (nearly) empty, so the min RTT is
    // still the path's: ProbeRTT, which exists to drain a queue that hides it, would learn
    // nothing, and its round trip + 200 ms at 4 packets every ten seconds costs a few percent of
    // the goodput, more the longer the RTT. A flow sharing its bottleneck keeps a queue, sees no
    // such sample and still probes: that is how flows that came in at different times converge.
    restart_min_rtt_window(path.now_ns);
    min_rtt_expired_ = false;
    ++probe_rtt_skips_;
  }
  if (ack.has_rtt && ack.rtt_ns > 0) {
    if (min_rtt_ns_ == 0 || ack.rtt_ns <= min_rtt_ns_ || min_rtt_expired_) {
      min_rtt_ns_ = ack.rtt_ns;
      restart_min_rtt_window(path.now_ns);
    } else {
      window_min_rtt_ = std::min(window_min_rtt_, ack.rtt_ns);  // not the sample that set the min
    }
  }
  if (round_start_ && !full_bw_reached_ && !ack.app_limited) {
    // The pipe is full once three rounds in a row failed to grow the rate by a quarter.
    if (max_bw_.best() >= full_bw_ + full_bw_ / 4) {
      full_bw_ = max_bw_.best();
      full_bw_rounds_ = 0;
    } else if (++full_bw_rounds_ >= 3) {
      full_bw_reached_ = true;
    }
  }
}

void Bbr1::update_ack_aggregation(const sdk::AckSample& ack, const sdk::PathState& path,
                                  const sdk::CongestionOutput& out) {
  if (ack.bytes_acked == 0 || max_bw_.empty()) return;
  if (round_start_ && ++extra_acked_rounds_ >= kAggregationHalfWindowRounds) {
    extra_acked_rounds_ = 0;
    extra_acked_slot_ ^= 1;
    extra_acked_[extra_acked_slot_] = 0;
  }
  // What the model says could have been ACKed since the burst began; once the ACKs fall back to
  // (or below) that pace, the burst is over and a new one may begin with this ACK.
  std::uint64_t expected = bytes_at_model_rate(path.now_ns - ack_epoch_start_);
  if (ack_epoch_acked_ <= expected || ack_epoch_acked_ + ack.bytes_acked >= kAckEpochResetPackets * mss_) {
    ack_epoch_start_ = path.now_ns;
    ack_epoch_acked_ = 0;
    expected = 0;
  }
  ack_epoch_acked_ += ack.bytes_acked;
  const std::uint64_t extra = std::min(ack_epoch_acked_ - expected, out.cwnd);
  extra_acked_[extra_acked_slot_] = std::max(extra_acked_[extra_acked_slot_], extra);
}

std::uint64_t Bbr1::ack_aggregation_allowance() const {
  // (Switched off, nothing is ever measured, so this stays 0.)
  if (!full_bw_reached_) return 0;
  return std::min(std::max(extra_acked_[0], extra_acked_[1]), bytes_at_model_rate(kAggregationMaxNs));
}

void Bbr1::restart_min_rtt_window(std::uint64_t now) {
  min_rtt_stamp_ = now;
  window_min_rtt_ = UINT64_MAX;
}

void Bbr1::enter_probe_bw(std::uint64_t now) {
  mode_ = Mode::probe_bw;
  cwnd_gain_ = p_.cwnd_gain;
  // Start anywhere but the draining phase, so flows that start together do not probe together.
  cycle_length_ = random_cycle_length();
  unsigned index = static_cast<unsigned>(next_random() % (cycle_length_ - 1));
  if (index >= 1) ++index;
  probe_gain_ = kProbeGain;
  start_phase(index, now);
}

void Bbr1::start_phase(unsigned index, std::uint64_t now) {
  if (index == 0) {
    probe_start_bw_ = max_bw_.best();
    probe_base_rtt_ = UINT64_MAX;
    probe_peak_rtt_ = 0;
    probe_app_limited_ = false;
  }
  cycle_index_ = index;
  cycle_stamp_ = now;
  round_lost_any_ = false;
  pacing_gain_ = phase_gain();
}

double Bbr1::phase_gain() const { return cycle_index_ == 0 ? probe_gain_ : cycle_index_ == 1 ? kDrainPhaseGain : 1.0; }

unsigned Bbr1::random_cycle_length() {
  return 2 + kMinCruisePhases + static_cast<unsigned>(next_random() % (kMaxCruisePhases - kMinCruisePhases + 1));
}

bool Bbr1::probe_found_room() const {
  if (probe_app_limited_ || probe_base_rtt_ == UINT64_MAX || probe_peak_rtt_ == 0) return false;
  const double extra = probe_gain_ - 1;
  return probe_peak_rtt_ <= probe_base_rtt_ + queue_threshold() &&
         static_cast<double>(max_bw_.best()) >= static_cast<double>(probe_start_bw_) * (1 + extra / 2);
}

void Bbr1::advance_cycle(const sdk::AckSample& ack, const sdk::PathState& path) {
  // What the probe did to the queue: the probe phase's ACKs are for packets sent before it, the
  // next two phases' for the probe's own.
  if (ack.has_rtt && cycle_index_ == 0) probe_base_rtt_ = std::min(probe_base_rtt_, ack.rtt_ns);
  if (ack.has_rtt && (cycle_index_ == 1 || cycle_index_ == 2)) probe_peak_rtt_ = std::max(probe_peak_rtt_, ack.rtt_ns);
  if (ack.app_limited && cycle_index_ <= 2) probe_app_limited_ = true;
  const bool full_length = path.now_ns - cycle_stamp_ > min_rtt_ns_;
  const double gain = phase_gain();
  bool next = full_length;
  if (gain > 1) next = full_length && (round_lost_any_ || ack.prior_in_flight >= bdp(gain));
  else if (gain < 1) next = full_length || ack.prior_in_flight <= bdp(1.0);
  if (!next) return;
  unsigned index = (cycle_index_ + 1) % cycle_length_;
  if (cycle_index_ == 2) {
    if (probe_found_room()) {
      // The probe's packets got through (the model grew by half the probe's excess) and queued
      // less than a standing queue's worth: the bottleneck gave way, to a neighbour yielding or
      // gone, or to this flow being under its share (a FIFO queue serves flows in proportion to
      // what arrives, so a probe at gain g by a flow with share s delivers g / (1 + (g-1) s)
      // more: half its excess or better while s is under about 0.44, never for a flow that has
      // the link to itself). Probe again at once, and harder: a flow far under its share takes
      // it in a second or two. Without this it grew by 15 % a cycle (simulation, 1 % loss: from
      // 1.4 to 4.9 Mbit/s in 2.3 s beside a flow at 97, after a Startup cut short by the
      // other's queue).
      index = 0;
      probe_gain_ = std::min(probe_gain_ + kProbeGainStep, kMaxProbeGain);
      ++room_probes_;
    } else {
      probe_gain_ = kProbeGain;
    }
  }
  // Each cycle cruises for a random number of phases (BBR's six on average): two flows with the
  // same RTT otherwise keep the offset their cycles started with, and the one that always probed
  // right behind the other always found the queue of the other's probe (seen in the simulation).
  if (index == 0) cycle_length_ = random_cycle_length();
  start_phase(index, path.now_ns);
}

void Bbr1::update_mode(const sdk::AckSample& ack, const sdk::PathState& path, const sdk::CongestionOutput& out) {
  if (mode_ == Mode::startup && full_bw_reached_) {
    mode_ = Mode::drain;
    pacing_gain_ = 1.0 / p_.startup_gain;
    cwnd_gain_ = p_.cwnd_gain;
  }
  if (mode_ == Mode::drain && path.bytes_in_flight <= bdp(1.0)) enter_probe_bw(path.now_ns);
  if (mode_ == Mode::probe_bw) {
    pacing_gain_ = phase_gain();
    advance_cycle(ack, path);
  }
  // ProbeRTT: the min RTT went ten seconds without a new low, so the queue may have hidden it.
  if (mode_ != Mode::probe_rtt && min_rtt_expired_ && !idle_restart_) {
    mode_ = Mode::probe_rtt;
    ++probe_rtts_;
    pacing_gain_ = 1;
    cwnd_gain_ = 1;
    prior_cwnd_ = out.cwnd;
    probe_rtt_done_ = 0;
  }
  if (mode_ == Mode::probe_rtt) {
    if (probe_rtt_done_ == 0 && path.bytes_in_flight <= kMinCwndPackets * mss_) {
      probe_rtt_done_ = path.now_ns + p_.probe_rtt_ns;
      probe_rtt_round_done_ = false;
      next_round_delivered_ = ack.delivered_total;
    } else if (probe_rtt_done_) {
      if (round_start_) probe_rtt_round_done_ = true;
      if (probe_rtt_round_done_ && path.now_ns > probe_rtt_done_) {
        restart_min_rtt_window(path.now_ns);
        if (full_bw_reached_) {
          enter_probe_bw(path.now_ns);
        } else {
          mode_ = Mode::startup;
          pacing_gain_ = p_.startup_gain;
          cwnd_gain_ = p_.cwnd_gain;
        }
      }
    }
  }
  if (ack.bytes_acked > 0) idle_restart_ = false;
}

void Bbr1::set_outputs(const sdk::AckSample* ack, const sdk::PathState& path, sdk::CongestionOutput& out) {
  const std::uint64_t min_cwnd = kMinCwndPackets * mss_;
  std::uint64_t rate = 0;
  if (!max_bw_.empty()) {
    // A made-up model stays ~1 % over the link (the max filter keeps the delivery rate's noise
    // tail), so pacing just under it still lets a queue creep up while cruising. Past the make-up
    // bound every sample loses its loss make-up at once and the model falls by the loss rate
    // (200 ms / 10 %: to 90 Mbit/s for a second, twice in a bad run). Drain before that: at 3 %
    // under the model (2 % under the link) a 5 ms queue drains in about 250 ms.
    const bool drain = mode_ == Mode::probe_bw && pacing_gain_ == 1.0 && path.has_rtt && min_rtt_ns_ &&
                       path.latest_rtt_ns > min_rtt_ns_ + make_up_queue_bound() / 2;
    double margin = kPacingMargin;
    if (drain) {
      // A queue that stood through the whole last round trip (its fastest sample saw it) is
      // drained within a round trip. Two flows' models, each the max of its own share's samples,
      // add up to more than the link, and at 3 % under them the queue stood at 35-50 ms; behind
      // it both were paced by their models, grew in proportion and kept the shares they had
      // (simulation, 1 % loss: a flow at 20 Mbit/s took 13 s to reach 42). Without a queue, the
      // probes that find room do the sharing. A flow's own probe leaves no such queue, so alone
      // it keeps the gentle 3 % (keyed on the latest RTT, this cost a lone flow 0.5 % of its
      // goodput in the simulation).
      const double standing = last_round_min_rtt_ != UINT64_MAX && last_round_min_rtt_ > min_rtt_ns_
                                  ? static_cast<double>(last_round_min_rtt_ - min_rtt_ns_)
                                  : 0.0;
      margin = std::clamp(1 - standing / static_cast<double>(path.latest_rtt_ns), kMaxCruiseDrain, kCruiseDrainGain);
    }
    if (draining_ && path.now_ns > drain_since_ns_) drain_total_ns_ += path.now_ns - drain_since_ns_;
    draining_ = drain;
    drain_since_ns_ = path.now_ns;
    rate = static_cast<std::uint64_t>(pacing_gain_ * margin * static_cast<double>(max_bw_.best()));
  } else if (path.has_rtt && path.smoothed_rtt_ns) {
    rate = static_cast<std::uint64_t>(p_.startup_gain * static_cast<double>(out.cwnd) * 1e9 /
                                      static_cast<double>(path.smoothed_rtt_ns));
  }
  // Startup never paces slower than its initial window allows (the window as it grows would
  // overshoot the pipe on its own; the model leads then): a connection that has only carried a few
  // small requests has app-limited samples of a few kB/s, and pacing at those held each new
  // response for milliseconds (TTFB 57 ms instead of 52 at 50 ms RTT, measured).
  if (mode_ == Mode::startup && path.has_rtt && path.smoothed_rtt_ns)
    rate = std::max(rate, static_cast<std::uint64_t>(p_.startup_gain * static_cast<double>(kInitialWindowPackets * mss_) *
                                                     1e9 / static_cast<double>(path.smoothed_rtt_ns)));
  // Until the pipe is known to be full, the rate only grows.
  if (rate && (full_bw_reached_ || rate > out.pacing_rate)) out.pacing_rate = rate;

  if (out.pacing_rate < 150'000) out.send_quantum = mss_;
  else if (out.pacing_rate < 3'000'000) out.send_quantum = 2 * mss_;
  else out.send_quantum = std::clamp<std::uint64_t>(out.pacing_rate / 1000, 2 * mss_, 64 * 1024);

  if (ack) {
    // Room for the ACK clock's bursts: QUIC acknowledges every few packets and may delay, and
    // receivers that read in batches acknowledge in bursts (ack_aggregation_allowance).
    const std::uint64_t target =
        std::max(bdp(cwnd_gain_) + 3 * out.send_quantum + ack_aggregation_allowance(), min_cwnd);
    if (full_bw_reached_) out.cwnd = std::min(out.cwnd + ack->bytes_acked, target);
    else if (out.cwnd < target || ack->delivered_total < 10 * mss_) out.cwnd += ack->bytes_acked;
    if (bdp(1.0) == 0) out.cwnd = std::max(out.cwnd, 10 * mss_);
  }
  out.cwnd = std::max(out.cwnd, min_cwnd);
  if (mode_ == Mode::probe_rtt) out.cwnd = std::min(out.cwnd, min_cwnd);
  else if (prior_cwnd_ && mode_ == Mode::probe_bw) {
    out.cwnd = std::max(out.cwnd, prior_cwnd_);  // back from ProbeRTT or an outage: where it was
    prior_cwnd_ = 0;
  }
  out.in_slow_start = mode_ == Mode::startup;
}

void Bbr1::on_persistent_congestion(const sdk::PathState& path, sdk::CongestionOutput& out) {
  // Nothing got through for several PTOs: the path may be gone. Send a little until it answers;
  // the model is kept, so a link that comes back is refilled within a round trip.
  prior_cwnd_ = std::max(prior_cwnd_, out.cwnd);
  out.cwnd = kMinCwndPackets * mss_;
}

void Bbr1::on_restart_after_idle(const sdk::PathState&, sdk::CongestionOutput& out) {
  idle_restart_ = true;
  if (mode_ == Mode::probe_bw && !max_bw_.empty()) {
    // Resume at the model's rate, not the probing gain: the queue is empty after idling.
    out.pacing_rate = static_cast<std::uint64_t>(kPacingMargin * static_cast<double>(max_bw_.best()));
  }
}

std::string Bbr1::describe() const {
  static constexpr const char* kNames[] = {"startup", "drain", "probe_bw", "probe_rtt"};
  char line[280];
  std::snprintf(line, sizeof line,
                "%s bw %.2f Mbit/s min_rtt %.1f ms gain %.2f quiet_loss %.3f cuts %llu probe_rtt %llu skipped %llu "
                "room %llu ack_burst %llu KB drained %.1f s",
                kNames[static_cast<int>(mode_)], static_cast<double>(max_bw_.best()) * 8 / 1e6, min_rtt_ns_ / 1e6,
                pacing_gain_, quiet_loss_ < 0 ? 0.0 : quiet_loss_, static_cast<unsigned long long>(cuts_),
                static_cast<unsigned long long>(probe_rtts_), static_cast<unsigned long long>(probe_rtt_skips_),
                static_cast<unsigned long long>(room_probes_), static_cast<unsigned long long>(ack_aggregation_allowance() / 1000), drain_total_ns_ / 1e9);
  return line;
}

}  // namespace quictun::cc
