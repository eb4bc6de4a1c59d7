// Moves packets one way between two TUN devices through a LinkModel. One thread per direction:
// the two directions share nothing, so neither waits for the other.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "model.hpp"
#include "stats.hpp"

namespace quictun::netem {

// Fixed-size packet buffers, allocated a chunk at a time and recycled, so steady-state
// forwarding never touches the allocator.
class PacketPool {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  PacketPool(std::size_t slot_size, std::size_t max_slots);
  std::uint32_t acquire();  // kNone when max_slots are all in use
  void release(std::uint32_t slot) { free_.push_back(slot); }
  std::byte* data(std::uint32_t slot) {
    return chunks_[slot / kChunkSlots].get() + std::size_t{slot % kChunkSlots} * slot_size_;
  }
  std::size_t slot_size() const { return slot_size_; }
  std::size_t in_use() const { return chunks_.size() * kChunkSlots - free_.size(); }

 private:
  static constexpr std::uint32_t kChunkSlots = 1024;

  std::size_t slot_size_;  // bytes per buffer
  std::size_t max_slots_;  // cap on buffers, rounded up to whole chunks
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::vector<std::uint32_t> free_;  // indices of unused buffers
};

class Forwarder {
 public:
  // Reads from in_fd, writes to out_fd (both non-blocking TUN fds, owned elsewhere). A packet
  // may leave up to `slack` ns before its release time when an earlier one wakes the thread:
  // every wake-up is expensive (a VM pays for each timer interrupt), and a few tens of us are
  // below what a transport can observe.
  Forwarder(int in_fd, int out_fd, const Impairment& impairment, std::uint64_t seed, int mtu,
            std::size_t max_in_flight, Nanos slack, DirectionStats& stats);

  // Forwards until `stop` is set; `wake_fd` becomes readable to interrupt a sleep.
  void run(const std::atomic<bool>& stop, int wake_fd);

 private:
  // A packet waiting for its release time. Ordered by release, then arrival, so packets due
  // at the same instant leave in the order they came.
  struct Pending {
    Nanos release;       // when to write it to out_fd, monotonic ns
    std::uint64_t seq;   // arrival number, breaks ties
    std::uint32_t slot;  // PacketPool buffer
    std::uint32_t len;   // IP bytes
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.release != b.release ? a.release > b.release : a.seq > b.seq;
    }
  };

  bool read_batch();
  void release_due(Nanos now);
  // Queues a second copy of the packet in `slot` (the --duplicate impairment).
  void duplicate(std::uint32_t slot, Nanos release, std::uint32_t len);

  int in_fd_;
  int out_fd_;
  int mtu_;
  Nanos slack_;  // how early a packet may leave alongside an earlier one, ns
  LinkModel model_;
  PacketPool pool_;
  std::vector<Pending> queue_;  // min-heap on (release, seq)
  std::uint64_t seq_ = 0;
  std::vector<std::byte> scratch_;  // sink for packets read while the pool is exhausted
  DirectionStats& stats_;
};

Nanos monotonic_now();

}  // namespace quictun::netem
