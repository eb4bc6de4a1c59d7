// Per-direction counters. The forwarding thread is the only writer; the main thread reads them
// for reports, so relaxed atomics are enough (each counter is consistent, a report is a snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace quictun::netem {

struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void raise_to(std::uint64_t n) {
    if (n > value.load(std::memory_order_relaxed)) value.store(n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

struct DirectionStats {
  std::string name;            // "a2b" or "b2a"
  std::string from, to;        // namespace names, for the report
  Counter rx_packets;          // packets read from the sending side's TUN
  Counter rx_bytes;            // their IP bytes
  Counter tx_packets;          // packets delivered to the receiving side's TUN
  Counter tx_bytes;            // their IP bytes
  Counter drop_queue;          // dropped because the bottleneck queue was full
  Counter drop_loss;           // dropped by random loss
  Counter drop_burst;          // dropped by Gilbert-Elliott loss
  Counter drop_overflow;       // dropped because --max-in-flight packets were already held
  Counter drop_oversize;       // dropped because larger than the MTU
  Counter drop_write;          // the receiving TUN refused the packet
  Counter reordered;           // held back by --reorder
  Counter duplicated;          // extra copies delivered by --duplicate
  Counter queue_peak_bytes;    // largest bottleneck backlog, in bytes
  Counter queue_peak_packets;  // largest bottleneck backlog, in packets (packet limit only)
  Counter in_flight_peak;      // most packets held by the emulator at once

  std::uint64_t dropped() const {
    return drop_queue.get() + drop_loss.get() + drop_burst.get() + drop_overflow.get() +
           drop_oversize.get() + drop_write.get();
  }
};

// One line per direction, for stderr.
std::string format_text(const DirectionStats& s);
// {"seed": ..., "elapsed_s": ..., "a2b": {...}, "b2a": {...}}
std::string format_json(const DirectionStats& a2b, const DirectionStats& b2a, std::uint64_t seed,
                        double elapsed_s);
// Replaces `path` atomically (write to a temporary, rename) so a reader never sees half a file.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace quictun::netem
