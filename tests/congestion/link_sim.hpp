// A simulated ACK clock for congestion controllers: senders, one drop-tail bottleneck, random
// loss, propagation delay, and an ACK for every packet. No sockets and no real time: a test
// runs minutes of traffic in milliseconds, deterministically (seeded loss).
//
// What each controller is told follows QUIC (RFC 9002) and the delivery-rate sampler of
// draft-cardwell-ccwg-bbr, as ngtcp2 reports them: a packet is lost once a packet sent three
// later is acknowledged; each ACK carries the RTT of its packet and a rate sample.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <quictun/sdk/congestion.hpp>

namespace quictun::test {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSec = 1'000'000'000;
constexpr std::uint64_t kMss = 1200;

struct LinkParams {
  double rate = 12.5e6;                 // bottleneck bytes per second (100 Mbit/s)
  std::uint64_t one_way_ns = 25 * kMs;  // propagation delay each way
  std::uint64_t queue_bytes = 625'000;  // drop-tail queue (1 BDP at 100 Mbit/s, 50 ms)
  double loss = 0;                      // random loss on the way to the receiver
  std::uint64_t jitter_ns = 0;          // extra delay up to this on the way back (ACKs keep
                                        // their order), as hosts' scheduling adds on a real path
  std::uint64_t ack_batch_ns = 0;       // the receiver acknowledges in bursts, every this often
                                        // (a host reading datagrams in batches, Wi-Fi aggregation)
  bool loss_after_queue = true;         // lost past the bottleneck (a lossy last hop, as the
                                        // bench's emulator does) rather than before it
};

class LinkSim {
 public:
  struct Flow {
    std::unique_ptr<sdk::CongestionController> cc;
    sdk::CongestionOutput out;
    double app_rate = 0;          // bytes per second the application offers; 0: always backlogged
    std::uint64_t start_ns = 0;
    std::uint64_t stop_ns = UINT64_MAX;
    bool unresponsive = false;    // cross traffic: sends at app_rate whatever happens
    // state
    std::uint64_t next_pn = 0, in_flight = 0, delivered = 0, lost_bytes = 0;
    std::uint64_t delivered_ts = 0, first_sent_ts = 0, app_limited_until = 0;
    std::uint64_t next_send_ns = 0, app_credit = 0, app_last_ns = 0;
    std::uint64_t latest_rtt = 0, min_rtt = 0, srtt = 0, rttvar = 0;
    bool started = false;
    std::uint64_t last_ack_ns = 0;
    bool persistent = false;
    struct Sent {
      std::uint64_t bytes, sent_ns, delivered, delivered_ts, first_sent_ts, in_flight, lost_before;
      bool app_limited;
      bool lost = false;  // declared lost by the probe timeout; a late ACK still counts
    };
    std::map<std::uint64_t, Sent> unacked;
    std::uint64_t largest_acked = 0;
    bool any_acked = false;
    // results
    std::uint64_t delivered_in_window = 0;
  };

  explicit LinkSim(LinkParams link, std::uint64_t seed = 1) : link_(link), rng_(seed) {}

  LinkParams& link() { return link_; }
  std::uint64_t now() const { return now_; }

  Flow& add_flow(std::unique_ptr<sdk::CongestionController> cc, std::uint64_t start_ns = 0) {
    auto f = std::make_unique<Flow>();
    f->cc = std::move(cc);
    f->start_ns = start_ns;
    flows_.push_back(std::move(f));
    return *flows_.back();
  }
  Flow& add_cross_traffic(double rate, std::uint64_t start_ns, std::uint64_t stop_ns) {
    auto f = std::make_unique<Flow>();
    f->unresponsive = true;
    f->app_rate = rate;
    f->start_ns = start_ns;
    f->stop_ns = stop_ns;
    flows_.push_back(std::move(f));
    return *flows_.back();
  }

  // Runs until `until_ns`; `every` (if set) is called each millisecond of simulated time.
  void run(std::uint64_t until_ns, const std::function<void()>& every = {}) {
    while (now_ < until_ns) {
      const std::uint64_t step_end = std::min(until_ns, now_ + kMs);
      while (true) {
        std::uint64_t next = step_end;
        if (!acks_.empty()) next = std::min(next, acks_.front().at);
        for (auto& f : flows_) next = std::min(next, send_time(*f));
        if (next >= step_end && (acks_.empty() || acks_.front().at > step_end)) break;
        now_ = std::max(now_, next);
        while (!acks_.empty() && acks_.front().at <= now_) {
          Ack a = acks_.front();
          acks_.pop_front();
          on_ack(*flows_[a.flow], a.pn);
        }
        for (std::size_t i = 0; i < flows_.size(); ++i)
          while (send_time(*flows_[i]) <= now_) send(i);
      }
      now_ = step_end;
      for (auto& f : flows_) probe_timeout(*f);
      if (every) every();
    }
  }

  // Starts a goodput measurement for every flow.
  void reset_window() {
    window_start_ = now_;
    for (auto& f : flows_) f->delivered_in_window = 0;
  }
  double goodput(const Flow& f) const {
    return now_ > window_start_ ? static_cast<double>(f.delivered_in_window) * 1e9 / static_cast<double>(now_ - window_start_) : 0;
  }
  std::uint64_t queue_bytes() const {
    std::uint64_t q = 0;
    for (const auto& [t, b] : queue_) if (t > now_) q += b;
    return q;
  }
  std::uint64_t queue_drops() const { return queue_drops_; }

 private:
  struct Ack {
    std::uint64_t at;
    std::size_t flow;
    std::uint64_t pn;
  };

  sdk::PathState path(const Flow& f) const {
    sdk::PathState p;
    p.now_ns = now_;
    p.bytes_in_flight = f.in_flight;
    p.max_datagram_size = kMss;
    p.has_rtt = f.srtt != 0;
    p.latest_rtt_ns = f.latest_rtt;
    p.min_rtt_ns = f.min_rtt;
    p.smoothed_rtt_ns = f.srtt ? f.srtt : 333 * kMs;
    p.rtt_variance_ns = f.rttvar;
    return p;
  }

  std::uint64_t send_time(Flow& f) {
    if (now_ < f.start_ns) return f.start_ns;
    if (now_ >= f.stop_ns) return UINT64_MAX;
    if (!f.started) {
      f.started = true;
      f.app_last_ns = now_;
      if (f.cc) {
        f.out.cwnd = 10 * kMss;
        f.cc->on_start(path(f), f.out);
      }
    }
    if (f.app_rate > 0) {
      f.app_credit += static_cast<std::uint64_t>(f.app_rate * static_cast<double>(now_ - f.app_last_ns) / 1e9);
      f.app_last_ns = now_;
      f.app_credit = std::min<std::uint64_t>(f.app_credit, 64 * kMss);
      if (f.app_credit < kMss) {
        const auto wait = static_cast<std::uint64_t>(static_cast<double>(kMss - f.app_credit) * 1e9 / f.app_rate) + 1;
        if (f.cc && f.in_flight < f.out.cwnd) f.app_limited_until = f.delivered + f.in_flight + 1;
        return now_ + wait;
      }
    }
    if (f.unresponsive) return now_;
    if (f.in_flight + kMss > f.out.cwnd) return UINT64_MAX;  // the next ACK decides
    return std::max(now_, f.next_send_ns);
  }

  void send(std::size_t index) {
    Flow& f = *flows_[index];
    if (f.app_rate > 0) f.app_credit -= kMss;
    const std::uint64_t pn = f.next_pn++;
    if (f.unresponsive) {
      transmit(index, pn);
      return;
    }
    if (f.in_flight == 0) f.first_sent_ts = f.delivered_ts = now_;
    const bool app_limited = f.app_limited_until > f.delivered;
    f.in_flight += kMss;
    f.unacked[pn] = {kMss, now_, f.delivered, f.delivered_ts, f.first_sent_ts, f.in_flight, f.lost_bytes, app_limited};
    if (f.cc) {
      f.cc->on_packet_sent({kMss, now_, app_limited}, path(f), f.out);
      const double rate = f.out.pacing_rate ? static_cast<double>(f.out.pacing_rate)
                                            : 1.25 * static_cast<double>(f.out.cwnd) * 1e9 / static_cast<double>(path(f).smoothed_rtt_ns);
      f.next_send_ns = now_ + static_cast<std::uint64_t>(static_cast<double>(kMss) * 1e9 / rate);
    }
    transmit(index, pn);
  }

  // The bottleneck: random loss, then a drop-tail queue served at the link's rate.
  void transmit(std::size_t index, std::uint64_t pn) {
    Flow& f = *flows_[index];
    const bool lost = std::bernoulli_distribution(link_.loss)(rng_);
    if (lost && !link_.loss_after_queue) return;
    while (!queue_.empty() && queue_.front().first <= now_) queue_.pop_front();
    std::uint64_t queued = 0;
    for (const auto& [t, b] : queue_) queued += b;
    if (queued + kMss > link_.queue_bytes) {
      ++queue_drops_;
      return;
    }
    const std::uint64_t service = static_cast<std::uint64_t>(static_cast<double>(kMss) * 1e9 / link_.rate);
    const std::uint64_t depart = std::max(now_, last_departure_) + service;
    last_departure_ = depart;
    queue_.push_back({depart, kMss});
    if (f.cc && !lost) {
      std::uint64_t at = depart + 2 * link_.one_way_ns;
      if (link_.jitter_ns) at += std::uniform_int_distribution<std::uint64_t>(0, link_.jitter_ns)(rng_);
      if (link_.ack_batch_ns) at = (at / link_.ack_batch_ns + 1) * link_.ack_batch_ns;
      at = std::max(at, last_ack_at_);
      last_ack_at_ = at;
      auto it = std::upper_bound(acks_.begin(), acks_.end(), at, [](std::uint64_t t, const Ack& a) { return t < a.at; });
      acks_.insert(it, Ack{at, index, pn});
    }
  }

  // QUIC's probe timeout, simplified: what has gone unacknowledged for a PTO is lost; when that
  // is everything for three PTOs, the congestion is persistent (RFC 9002 6.2, 7.6).
  void probe_timeout(Flow& f) {
    if (!f.cc || f.unacked.empty() || !f.srtt) return;
    const std::uint64_t pto = f.srtt + std::max<std::uint64_t>(4 * f.rttvar, kMs) + 25 * kMs;
    std::uint64_t lost = 0;
    for (auto& [pn, sent] : f.unacked) {
      if (sent.sent_ns + pto > now_) break;
      if (sent.lost) continue;
      sent.lost = true;
      f.in_flight -= sent.bytes;
      lost += sent.bytes;
      f.cc->on_packet_lost({sent.bytes, sent.sent_ns, sent.in_flight, sent.app_limited}, path(f), f.out);
    }
    if (f.unacked.size() > 100000) f.unacked.erase(f.unacked.begin());  // bounded memory
    f.lost_bytes += lost;
    if (now_ > f.last_ack_ns + 3 * pto && !f.persistent) {
      f.persistent = true;
      f.cc->on_persistent_congestion(path(f), f.out);
    }
  }

  void on_ack(Flow& f, std::uint64_t pn) {
    auto it = f.unacked.find(pn);
    if (it == f.unacked.end()) return;  // already declared lost
    const Flow::Sent s = it->second;
    f.unacked.erase(it);
    const std::uint64_t prior_in_flight = f.in_flight;
    if (!s.lost) f.in_flight -= s.bytes;
    f.last_ack_ns = now_;
    f.persistent = false;
    f.delivered += s.bytes;
    f.delivered_in_window += s.bytes;
    f.delivered_ts = now_;
    // RTT (RFC 9002 5.3)
    const std::uint64_t rtt = now_ - s.sent_ns;
    f.latest_rtt = rtt;
    f.min_rtt = f.min_rtt ? std::min(f.min_rtt, rtt) : rtt;
    if (!f.srtt) {
      f.srtt = rtt;
      f.rttvar = rtt / 2;
    } else {
      const std::uint64_t d = f.srtt > rtt ? f.srtt - rtt : rtt - f.srtt;
      f.rttvar = (3 * f.rttvar + d) / 4;
      f.srtt = (7 * f.srtt + rtt) / 8;
    }
    // Loss: every packet three or more below this one is gone.
    std::uint64_t lost = 0;
    for (auto l = f.unacked.begin(); l != f.unacked.end() && l->first + 3 <= pn;) {
      if (l->second.lost) {
        l = f.unacked.erase(l);
        continue;
      }
      f.in_flight -= l->second.bytes;
      lost += l->second.bytes;
      f.cc->on_packet_lost({l->second.bytes, l->second.sent_ns, l->second.in_flight, l->second.app_limited}, path(f),
                           f.out);
      l = f.unacked.erase(l);
    }
    f.lost_bytes += lost;
    sdk::AckSample a;
    a.bytes_acked = s.bytes;
    a.bytes_lost = lost;
    a.prior_in_flight = prior_in_flight;
    a.has_rtt = true;
    a.rtt_ns = rtt;
    a.delivered_total = f.delivered;
    a.prior_delivered = s.delivered;
    a.delivered = f.delivered - s.delivered;
    a.interval_ns = std::max(s.sent_ns - s.first_sent_ts, now_ - s.delivered_ts);
    a.has_rate = a.interval_ns >= f.min_rtt && a.interval_ns > 0;
    a.delivery_rate = a.has_rate ? a.delivered * kSec / a.interval_ns : 0;
    a.app_limited = s.app_limited;
    a.lost_in_sample = f.lost_bytes - s.lost_before;
    a.in_flight_at_send = s.in_flight;
    f.first_sent_ts = s.sent_ns;
    f.cc->on_ack(a, path(f), f.out);
  }

  LinkParams link_;
  std::mt19937_64 rng_;
  std::uint64_t last_ack_at_ = 0;
  std::uint64_t now_ = 0;
  std::vector<std::unique_ptr<Flow>> flows_;
  std::deque<Ack> acks_;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> queue_;  // (departure time, bytes)
  std::uint64_t last_departure_ = 0;
  std::uint64_t queue_drops_ = 0;
  std::uint64_t window_start_ = 0;
};

}  // namespace quictun::test
