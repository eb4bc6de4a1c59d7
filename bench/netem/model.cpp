#include "model.hpp"

#include <algorithm>

namespace quictun::netem {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// 128-bit intermediates: bytes * 8e9 overflows 64 bits for jumbo packets at low rates.
__extension__ typedef unsigned __int128 U128;

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

// xoshiro256** (Blackman & Vigna).
std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

LinkModel::LinkModel(const Impairment& config, std::uint64_t seed) : cfg_(config), rng_(seed), duplicate_rng_(~seed) {
  if (cfg_.rate_bps > 0 && cfg_.queue.in_packets) departures_.resize(cfg_.queue.amount);
}

Nanos LinkModel::transmit_time(std::uint32_t bytes) const {
  return static_cast<Nanos>(static_cast<U128>(bytes) * 8 * 1'000'000'000 / cfg_.rate_bps);
}

bool LinkModel::queue_full(Nanos now, std::uint32_t bytes) {
  // The backlog is the serialisation work not yet done, which includes the packet on the wire:
  // exact in virtual time, without tracking the packets themselves.
  const std::uint64_t backlog_bytes =
      link_free_at_ > now ? static_cast<std::uint64_t>(static_cast<U128>(link_free_at_ - now) *
                                                       cfg_.rate_bps / 8'000'000'000)
                          : 0;
  if (!cfg_.queue.in_packets) {
    // An idle link always takes one packet, or a limit below the MTU would blackhole big ones.
    if (backlog_bytes > 0 && backlog_bytes + bytes > cfg_.queue.amount) return true;
    peak_bytes_ = std::max(peak_bytes_, backlog_bytes + bytes);
    return false;
  }
  while (queued_ > 0 && departures_[head_] <= now) {
    head_ = (head_ + 1) % departures_.size();
    --queued_;
  }
  if (queued_ >= departures_.size()) return true;
  peak_bytes_ = std::max(peak_bytes_, backlog_bytes + bytes);
  peak_packets_ = std::max<std::uint64_t>(peak_packets_, queued_ + 1);
  return false;
}

Verdict LinkModel::admit(Nanos now, std::uint32_t bytes) {
  Verdict v;
  Nanos depart = now;
  if (cfg_.rate_bps > 0) {
    if (queue_full(now, bytes)) {
      v.fate = Fate::drop_queue;
      return v;
    }
    depart = std::max(now, link_free_at_) + transmit_time(bytes);
    link_free_at_ = depart;
    if (cfg_.queue.in_packets) {
      departures_[(head_ + queued_) % departures_.size()] = depart;
      ++queued_;
    }
  }

  // Loss strikes after the bottleneck, so a lost packet still used its share of the link, as a
  // corrupted frame on a radio link does.
  if (cfg_.burst.enabled()) {
    bad_ = bad_ ? !rng_.chance(cfg_.burst.r) : rng_.chance(cfg_.burst.p);
    if (rng_.chance(bad_ ? cfg_.burst.loss_bad : cfg_.burst.loss_good)) {
      v.fate = Fate::drop_burst;
      return v;
    }
  }
  if (rng_.chance(cfg_.loss)) {
    v.fate = Fate::drop_loss;
    return v;
  }

  // The copy shares the release time, as a link-layer retransmission would.
  v.duplicated = duplicate_rng_.chance(cfg_.duplicate);
  Nanos release = depart + cfg_.delay;
  if (cfg_.jitter > 0) {
    const double offset = (rng_.uniform() * 2 - 1) * static_cast<double>(cfg_.jitter);
    release = std::max(depart, release + static_cast<Nanos>(offset));
  }
  if (rng_.chance(cfg_.reorder)) {
    v.release = release + cfg_.reorder_delay;
    v.reordered = true;
    return v;
  }
  if (!cfg_.jitter_reorders) {
    release = std::max(release, last_release_);
    last_release_ = release;
  }
  v.release = release;
  return v;
}

}  // namespace quictun::netem
