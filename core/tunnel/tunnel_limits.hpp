// How much a tunnel endpoint takes on before it refuses new tunnels, shared by both programs. A
// limit only ever refuses new work (the server answers 0x02, the client closes the application's
// connection), with the reason logged; tunnels already open are never touched.
//
// Per tunnel, buffering is already bounded by QUIC: a tunnel holds at most its stream's receive
// window ([quic] max_stream_window) towards its socket and [quic] stream_send_buffer towards the
// peer. These limits bound the number of tunnels and the sum of what they hold.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/event.hpp"

namespace quictun::tunnel {

struct TunnelLimits {
  std::uint64_t max_per_connection = 4096;     // open tunnels on one QUIC connection (server only)
  std::uint64_t max_total = 65536;             // open tunnels on this side
  std::uint64_t max_buffered_bytes = 1ull << 30;  // bytes all tunnels hold; above it new tunnels are refused
};

// Plain counters for logs and metrics; refusal counters only grow.
struct TunnelLimitStats {
  std::uint64_t open = 0;                    // tunnels open now (refused ones not counted)
  std::uint64_t buffered_bytes = 0;          // what they held at the last sample
  std::uint64_t refused_per_connection = 0;  // refused: max_per_connection reached
  std::uint64_t refused_total = 0;           // refused: max_total reached
  std::uint64_t refused_memory = 0;          // refused: max_buffered_bytes reached
};

// Counts the open tunnels against the limits and says why a new one must be refused. Tunnels
// and their groups (the server's QUIC connections) are identities only, never dereferenced.
class TunnelAdmission {
 public:
  // `side` names this end in refusals ("server", "client").
  TunnelAdmission(const TunnelLimits& limits, std::string side) : limits_(limits), side_(std::move(side)) {}
  TunnelAdmission(const TunnelAdmission&) = delete;
  TunnelAdmission& operator=(const TunnelAdmission&) = delete;

  // Why a new tunnel in `group` must be refused ("limit: ..."), counted in stats(); nullopt: it
  // may open, and admit() counts it. A null group has no per-connection limit.
  std::optional<std::string> refusal(const void* group = nullptr);
  void admit(const void* tunnel, const void* group = nullptr);
  void release(const void* tunnel);  // a tunnel that ended; nothing if it was never admitted

  // Sums what the tunnels hold every 100 ms with `sum`, for max_buffered_bytes: a sum per new
  // tunnel would cost O(tunnels) each, and a cap a tenth of a second stale is still a cap.
  void sample_buffered_bytes(event_base* loop, std::function<std::uint64_t()> sum);

  const TunnelLimitStats& stats() const { return stats_; }

 private:
  TunnelLimits limits_;
  std::string side_;
  TunnelLimitStats stats_;
  std::map<const void*, const void*> counted_;                  // admitted tunnels and their groups
  std::unordered_map<const void*, std::uint64_t> per_group_;  // admitted tunnels per group
  std::function<std::uint64_t()> sum_;
  Event sampler_;
};

}  // namespace quictun::tunnel
