// Parsing of the emulator's human-readable values ("25ms", "1%", "100mbit", "1000pkt").
// Every parser names the flag in its error, so a bad command line points at the culprit.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace quictun::netem {

using Nanos = std::int64_t;  // monotonic time or duration, in ns

// A value the user must fix; the message is complete and starts with the flag's name.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

// Drop-tail limit of the bottleneck queue: either a packet count or a byte count.
struct QueueLimit {
  std::uint64_t amount = 1000;  // limit, in packets or bytes depending on in_packets
  bool in_packets = true;       // true: amount counts packets; false: bytes
};

// "25ms", "500us", "1.5s", "0". A unit is required so "25" is never silently us or ms.
Nanos parse_duration(std::string_view flag, std::string_view text);
// "1%", "0.5%", "0". Returns a probability in [0, 1]. The % is required: "1" would be ambiguous.
double parse_percent(std::string_view flag, std::string_view text);
// "100mbit", "1.5gbit", "64kbit", "800000bit", "0" (unlimited). Returns bit/s. Bytes-per-second
// units are refused on purpose: tc's "mbps" means megabytes, a classic factor-8 mistake.
std::uint64_t parse_rate(std::string_view flag, std::string_view text);
// "1000pkt" / "1000p" packets; "64kb" (x1000), "64kib" (x1024), "1mb", "1mib", "150000b" bytes.
QueueLimit parse_queue(std::string_view flag, std::string_view text);

std::string format_duration(Nanos ns);
std::string format_rate(std::uint64_t bps);

}  // namespace quictun::netem
