// The impairment model of one direction of the emulated link. It decides, for each packet in
// arrival order, whether it is dropped and when it reaches the far side. No I/O and no clock of
// its own: the caller passes "now", so tests can drive it with made-up times.
#pragma once

#include <cstdint>
#include <vector>

#include "units.hpp"

namespace quictun::netem {

// Two-state bursty loss (Gilbert-Elliott). The state changes before each packet is judged, so
// a loss burst lasts 1/r packets on average and the link is bad p/(p+r) of the time.
struct GilbertElliott {
  double p = 0;          // probability per packet of moving good -> bad; 0 turns the model off
  double r = 1;          // probability per packet of moving bad -> good
  double loss_good = 0;  // probability a packet is lost while the link is good
  double loss_bad = 1;   // probability a packet is lost while the link is bad
  bool enabled() const { return p > 0; }
};

// Everything that can be done to one direction of the link.
struct Impairment {
  Nanos delay = 0;   // one-way propagation delay, in ns
  Nanos jitter = 0;  // delay varies uniformly in [delay - jitter, delay + jitter], in ns
  bool jitter_reorders = false;  // let jitter reorder packets; otherwise none overtakes another
  double loss = 0;               // probability each packet is lost, independently of the others
  GilbertElliott burst;          // bursty loss, applied in addition to `loss`
  double reorder = 0;            // probability a packet is held back by reorder_delay
  Nanos reorder_delay = 0;       // extra delay of a held-back packet (later ones overtake it), ns
  double duplicate = 0;          // probability a delivered packet also arrives a second time
  std::uint64_t rate_bps = 0;    // bottleneck rate in bit/s of IP packet bytes; 0 = unlimited
  QueueLimit queue;              // drop-tail limit of the queue in front of the bottleneck
};

// Small, fast and fully specified (unlike std:: distributions), so a seed replays identically
// on any standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();  // in [0, 1)
  bool chance(double p) { return p > 0 && uniform() < p; }

 private:
  std::uint64_t s_[4];
};

enum class Fate : std::uint8_t {
  deliver,     // hand over at Verdict::release
  drop_queue,  // the bottleneck queue was full (drop-tail)
  drop_loss,   // random loss
  drop_burst,  // Gilbert-Elliott loss
};

struct Verdict {
  Fate fate = Fate::deliver;
  Nanos release = 0;       // when the packet reaches the far side, in monotonic ns (if delivered)
  bool reordered = false;  // the packet was held back by reorder_delay
  bool duplicated = false;  // a copy arrives too, right after the original (same release time)
};

class LinkModel {
 public:
  LinkModel(const Impairment& config, std::uint64_t seed);

  // Judges a packet of `bytes` IP bytes arriving at `now`. Call in arrival order.
  Verdict admit(Nanos now, std::uint32_t bytes);

  std::uint64_t peak_queue_bytes() const { return peak_bytes_; }
  std::uint64_t peak_queue_packets() const { return peak_packets_; }

 private:
  Nanos transmit_time(std::uint32_t bytes) const;
  bool queue_full(Nanos now, std::uint32_t bytes);

  Impairment cfg_;
  Rng rng_;
  Rng duplicate_rng_;  // its own stream, so turning duplication on keeps a seed's other fates
  bool bad_ = false;        // Gilbert-Elliott state
  Nanos link_free_at_ = 0;  // when the bottleneck finishes sending everything admitted so far
  Nanos last_release_ = 0;  // release of the latest in-order packet; jitter may not undercut it
  std::vector<Nanos> departures_;  // ring of departure times of queued packets (packet limit only)
  std::size_t head_ = 0;           // oldest entry of departures_
  std::size_t queued_ = 0;         // entries in departures_
  std::uint64_t peak_bytes_ = 0;   // largest bottleneck backlog seen, in bytes
  std::uint64_t peak_packets_ =
      0;  // largest bottleneck backlog seen, in packets (packet limit only)
};

}  // namespace quictun::netem
