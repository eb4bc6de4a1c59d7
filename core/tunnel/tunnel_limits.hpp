// How much a server takes on before it refuses new tunnels. A limit only ever refuses new work
// (status 0x02 with the reason logged); tunnels already open are never touched.
//
// Per tunnel, buffering is already bounded by QUIC: a tunnel holds at most its stream's receive
// window ([quic] max_stream_window) towards the backend and [quic] stream_send_buffer towards the
// client. These limits bound the number of tunnels and the sum of what they hold.
#pragma once

#include <cstdint>

namespace quictun::tunnel {

struct TunnelLimits {
  std::uint64_t max_per_connection = 4096;     // open tunnels on one QUIC connection
  std::uint64_t max_total = 65536;             // open tunnels on the server
  std::uint64_t max_buffered_bytes = 1ull << 30;  // bytes all tunnels hold; above it new tunnels wait
};

// Plain counters for logs and metrics; refusal counters only grow.
struct TunnelLimitStats {
  std::uint64_t open = 0;                    // tunnels open now (refused ones not counted)
  std::uint64_t buffered_bytes = 0;          // what they held at the last sample
  std::uint64_t refused_per_connection = 0;  // refused: max_per_connection reached
  std::uint64_t refused_total = 0;           // refused: max_total reached
  std::uint64_t refused_memory = 0;          // refused: max_buffered_bytes reached
};

}  // namespace quictun::tunnel
