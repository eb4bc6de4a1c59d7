#include "forwarder.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace quictun::netem {
namespace {

// Packets read per wake-up before due packets get a turn, so a flood in cannot starve the way out.
constexpr int kReadBatch = 64;

}  // namespace

Nanos monotonic_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

PacketPool::PacketPool(std::size_t slot_size, std::size_t max_slots)
    : slot_size_(slot_size), max_slots_(max_slots) {
  free_.reserve(kChunkSlots);
}

std::uint32_t PacketPool::acquire() {
  if (free_.empty()) {
    if (chunks_.size() * kChunkSlots >= max_slots_) return kNone;
    const auto base = static_cast<std::uint32_t>(chunks_.size() * kChunkSlots);
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunkSlots * slot_size_));
    for (std::uint32_t i = kChunkSlots; i-- > 0;) free_.push_back(base + i);
  }
  const std::uint32_t slot = free_.back();
  free_.pop_back();
  return slot;
}

Forwarder::Forwarder(int in_fd, int out_fd, const Impairment& impairment, std::uint64_t seed,
                     int mtu, std::size_t max_in_flight, Nanos slack, DirectionStats& stats)
    : in_fd_(in_fd),
      out_fd_(out_fd),
      mtu_(mtu),
      slack_(slack),
      model_(impairment, seed),
      // One spare byte: a read that fills it proves the packet was bigger than the MTU.
      pool_(static_cast<std::size_t>(mtu) + 1, max_in_flight),
      scratch_(static_cast<std::size_t>(mtu) + 1),
      stats_(stats) {
  queue_.reserve(4096);
}

bool Forwarder::read_batch() {
  bool got_any = false;
  for (int i = 0; i < kReadBatch; ++i) {
    const std::uint32_t slot = pool_.acquire();
    std::byte* buf = slot == PacketPool::kNone ? scratch_.data() : pool_.data(slot);
    const ssize_t n = ::read(in_fd_, buf, pool_.slot_size());
    if (n <= 0) {
      if (slot != PacketPool::kNone) pool_.release(slot);
      // EAGAIN is the normal end of a batch; anything else (EIO while the device goes away at
      // shutdown) is not worth more than stopping the batch.
      break;
    }
    got_any = true;
    const auto len = static_cast<std::uint32_t>(n);
    stats_.rx_packets.add();
    stats_.rx_bytes.add(len);
    if (slot == PacketPool::kNone) {
      stats_.drop_overflow.add();
      continue;
    }
    if (len > static_cast<std::uint32_t>(mtu_)) {
      pool_.release(slot);
      stats_.drop_oversize.add();
      continue;
    }
    const Verdict v = model_.admit(monotonic_now(), len);
    switch (v.fate) {
      case Fate::deliver:
        queue_.push_back(Pending{v.release, seq_++, slot, len});
        std::push_heap(queue_.begin(), queue_.end(), Later{});
        stats_.in_flight_peak.raise_to(pool_.in_use());
        if (v.reordered) stats_.reordered.add();
        if (v.duplicated) duplicate(slot, v.release, len);
        continue;
      case Fate::drop_queue:
        stats_.drop_queue.add();
        break;
      case Fate::drop_loss:
        stats_.drop_loss.add();
        break;
      case Fate::drop_burst:
        stats_.drop_burst.add();
        break;
    }
    pool_.release(slot);
  }
  stats_.queue_peak_bytes.raise_to(model_.peak_queue_bytes());
  stats_.queue_peak_packets.raise_to(model_.peak_queue_packets());
  return got_any;
}

void Forwarder::duplicate(std::uint32_t slot, Nanos release, std::uint32_t len) {
  const std::uint32_t copy = pool_.acquire();
  if (copy == PacketPool::kNone) {
    stats_.drop_overflow.add();  // the copy, not the original: that one is already queued
    return;
  }
  std::memcpy(pool_.data(copy), pool_.data(slot), len);
  // The later arrival number sorts the copy right after the original.
  queue_.push_back(Pending{release, seq_++, copy, len});
  std::push_heap(queue_.begin(), queue_.end(), Later{});
  stats_.duplicated.add();
}

void Forwarder::release_due(Nanos now) {
  while (!queue_.empty() && queue_.front().release <= now) {
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    const Pending p = queue_.back();
    queue_.pop_back();
    if (::write(out_fd_, pool_.data(p.slot), p.len) == static_cast<ssize_t>(p.len)) {
      stats_.tx_packets.add();
      stats_.tx_bytes.add(p.len);
    } else {
      stats_.drop_write.add();
    }
    pool_.release(p.slot);
  }
}

void Forwarder::run(const std::atomic<bool>& stop, int wake_fd) {
  // The default 50 us timer slack would blur sub-millisecond delays and pacing.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  while (!stop.load(std::memory_order_relaxed)) {
    release_due(monotonic_now() + slack_);
    if (read_batch()) continue;

    timespec timeout{};
    timespec* wait = nullptr;  // nothing pending: sleep until a packet arrives
    if (!queue_.empty()) {
      const Nanos delta = queue_.front().release - monotonic_now();
      if (delta <= 0) continue;
      timeout.tv_sec = static_cast<time_t>(delta / 1'000'000'000);
      timeout.tv_nsec = static_cast<long>(delta % 1'000'000'000);
      wait = &timeout;
    }
    if (ppoll(fds, 2, wait, nullptr) < 0 && errno != EINTR) {
      std::perror("quictun-netem: ppoll");
      return;
    }
  }
}

}  // namespace quictun::netem
